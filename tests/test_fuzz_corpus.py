"""Replays the fuzzing corpus (fuzz/corpus/): every input checks without raising."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent.parent / "fuzz"
CORPUS = sorted((FUZZ / "corpus").iterdir())


def _target():
    spec = importlib.util.spec_from_file_location("fuzz_check", FUZZ / "fuzz_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check_bytes


CHECK = _target()


@pytest.mark.parametrize("path", CORPUS, ids=[p.name[:16] for p in CORPUS])
def test_corpus_input_checks_cleanly(path: Path) -> None:
    CHECK(path.read_bytes())
