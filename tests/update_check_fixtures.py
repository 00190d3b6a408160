"""Rewrite the expected diagnostics of tests/fixtures/check/*.md from what sitegen reports now.

    python tests/update_check_fixtures.py [FILE.md ...]

For a deliberate change of spans or codes: review the result as a diff (`git diff
tests/fixtures`), case by case, before committing it.  Expected lines keep the order the
checker reports them in; a case that checks clean gets `(none)`.  A line's ` ~ TEXT` stays on
the diagnostic of the same code whose message still holds TEXT (the same span first); a TEXT
that no message holds any more is dropped and named here, to be looked at.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from conftest import FIXTURE_SITE, FIXTURES, Case, read_cases, write_files  # noqa: E402
from test_check_fixtures import _diagnostics, _split_expected  # noqa: E402


def regenerate(path: Path) -> int:
    """Rewrite one fixture file in place; the number of cases whose expectation changed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    changed = 0
    # Rewrite from the last case up, so that earlier line numbers stay valid.
    for case in reversed(read_cases(path)):
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site"
            shutil.copytree(FIXTURE_SITE, site)
            write_files(site, case.files)
            actual = _with_texts(case, _diagnostics(site)) or ["(none)"]
        if actual == case.expected:
            continue
        body_end = lines.index(".", case.line + 1)
        expected_end = lines.index(".", body_end + 1)
        lines[body_end + 1 : expected_end] = actual
        changed += 1
    path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def _with_texts(case: Case, diagnostics: list[tuple[str, str]]) -> list[str]:
    """The expected lines for these diagnostics, keeping the case's ` ~ TEXT`s where they fit."""
    texts = [_split_expected(e) for e in case.expected if e != "(none)"]
    texts = [(span, text) for span, text in texts if text is not None]
    out = []
    for line, message in diagnostics:
        fits = [t for t in texts if t[0].split()[0] == line.split()[0] and t[1] in message]
        fits.sort(key=lambda t: t[0] != line)
        if fits:
            texts.remove(fits[0])
            line = f"{line} ~ {fits[0][1]}"
        out.append(line)
    for span, text in texts:
        print(f"  {case.id}: dropped `{span} ~ {text}`: no {span.split()[0]} message holds it now")
    return out


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv] or sorted((FIXTURES / "check").glob("*.md"))
    for path in paths:
        print(f"{path.name}: {regenerate(path)} case(s) changed")


if __name__ == "__main__":
    main(sys.argv[1:])
