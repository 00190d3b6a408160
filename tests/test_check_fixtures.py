"""Data-driven checker tests: tests/fixtures/check/*.md, each case an article and its diagnostics.

An expected line is `CODE LINE:COL` for content/articles/case.md, or `CODE PATH LINE:COL`
for another file of the case; `(none)` expects a clean check, warnings included.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, Case, read_cases, write_files

from sitegen.pipeline import check_site

CASES = [case for path in sorted((FIXTURES / "check").glob("*.md")) for case in read_cases(path)]


def _actual(site: Path) -> list[str]:
    checked = check_site(site)
    out = []
    for d in checked.diagnostics:
        where = "" if d.span.file == "content/articles/case.md" else f"{d.span.file} "
        out.append(f"{d.code} {where}{d.span.line}:{d.span.column}")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_fixture(case: Case, fixture_site: Path) -> None:
    write_files(fixture_site, case.files)
    expected = [] if case.expected == ["(none)"] else case.expected
    assert _actual(fixture_site) == sorted(expected, key=_order), f"{case.file.name}:{case.line}"


def _order(line: str) -> tuple:
    parts = line.split()
    code, where = parts[0], parts[-1]
    file = parts[1] if len(parts) == 3 else "content/articles/case.md"
    row, col = (int(x) for x in where.split(":"))
    return (file, row, col, code)


def test_every_code_is_covered() -> None:
    codes = {line.split()[0] for case in CASES for line in case.expected if line != "(none)"}
    wanted = {
        f"SG{n}"
        for n in (
            101,
            102,
            103,
            104,
            105,
            201,
            202,
            203,
            204,
            205,
            206,
            207,
            208,
            209,
            301,
            302,
            303,
            304,
            401,
            402,
            501,
            502,
            901,
        )
    }
    assert wanted <= codes, f"no fixture produces {sorted(wanted - codes)}"
