"""Golden HTML fragments: each expected line must appear in the built article page."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, Case, read_cases, write_files

from sitegen.build import build_site

CASES = [case for path in sorted((FIXTURES / "render").glob("*.md")) for case in read_cases(path)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_render_fixture(case: Case, fixture_site: Path, tmp_path: Path) -> None:
    write_files(fixture_site, case.files)
    out = tmp_path / "out"
    result = build_site(fixture_site, out)
    assert result.published, [f"{d.code} {d.message}" for d in result.diagnostics]
    page = (out / "articles" / "case" / "index.html").read_text(encoding="utf-8")
    for fragment in case.expected:
        assert fragment in page, f"{case.file.name}:{case.line}: missing {fragment!r}"
