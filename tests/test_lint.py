"""The code base stays ruff-clean (including the complexity limit in pyproject.toml) and mypy-clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or shutil.which("ruff", path=os.path.dirname(sys.executable))
    assert ruff is not None, "ruff is not installed: install the test extra, pip install -e '.[test]'"
    result = subprocess.run(
        [ruff, "check", "sitegen", "tests", "bench", "fuzz"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "sitegen"], cwd=ROOT, capture_output=True, text=True
    )
    assert "No module named mypy" not in result.stderr, "install the test extra: pip install -e '.[test]'"
    assert result.returncode == 0, result.stdout + result.stderr
