"""Data-driven checker tests: tests/fixtures/check/*.md, each case an article and its diagnostics.

An expected line is `CODE LINE:COL-ENDLINE:ENDCOL` for content/articles/case.md, or
`CODE PATH LINE:COL-ENDLINE:ENDCOL` for another file of the case: the diagnostic's whole span,
end exclusive, as SPEC §4 defines it. A line may end in ` ~ TEXT`: TEXT must then occur in
that diagnostic's message (the arithmetic, a name it quotes). Lines may be written in any
order: they are compared by file, line, column and code. `(none)` expects a clean check,
warnings included.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES, Case, read_cases, write_files

from sitegen.pipeline import check_site

CASES = [case for path in sorted((FIXTURES / "check").glob("*.md")) for case in read_cases(path)]
_LINE = re.compile(r"SG\d{3}( \S+)? \d+:\d+-\d+:\d+( ~ \S.*)?")


def _diagnostics(site: Path) -> list[tuple[str, str]]:
    """Each diagnostic of checking the site: its expected line without ` ~ `, and its message."""
    out = []
    for d in check_site(site).diagnostics:
        s = d.span
        where = "" if s.file == "content/articles/case.md" else f"{s.file} "
        out.append((f"{d.code} {where}{s.line}:{s.column}-{s.end_line}:{s.end_column}", d.message))
    return out


def _split_expected(line: str) -> tuple[str, str | None]:
    """`CODE ... L:C-EL:EC ~ TEXT` as the span part and TEXT (None without ` ~ `)."""
    span, sep, text = line.partition(" ~ ")
    return span.strip(), text.strip() if sep else None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_fixture(case: Case, fixture_site: Path) -> None:
    write_files(fixture_site, case.files)
    expected = [_split_expected(e) for e in ([] if case.expected == ["(none)"] else case.expected)]
    expected.sort(key=lambda e: _order(e[0]))
    actual = _diagnostics(fixture_site)
    where = f"{case.file.name}:{case.line}"
    assert [line for line, _ in actual] == [line for line, _ in expected], where
    for (line, message), (_, text) in zip(actual, expected, strict=True):
        assert text is None or text in message, f"{where}: {line}: {text!r} not in {message!r}"


def _order(line: str) -> tuple:
    parts = line.split()
    code, where = parts[0], parts[-1]
    file = parts[1] if len(parts) == 3 else "content/articles/case.md"
    row, col = (int(x) for x in where.split("-")[0].split(":"))
    return (file, row, col, code)


def test_every_expected_line_is_well_formed() -> None:
    """A line in another form (the old `CODE LINE:COL`, a `~` with no text) would fail as a
    mismatch that is hard to read, or check less than it seems to."""
    for case in CASES:
        for line in case.expected:
            assert line == "(none)" or _LINE.fullmatch(line), f"{case.id}: {line!r}"


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
            503,
            901,
        )
    }
    assert wanted <= codes, f"no fixture produces {sorted(wanted - codes)}"
