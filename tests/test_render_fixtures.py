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


@pytest.mark.parametrize(
    "body",
    [
        "<<fact allies=178>>",
        "<<fact allies=178>> <<fact rest=164>>",
        "<<fact allies=178>>\n<<fact rest=164>>",
    ],
)
def test_a_paragraph_of_facts_alone_leaves_no_empty_paragraph(
    body: str, fixture_site: Path, tmp_path: Path
) -> None:
    text = f"---\ntitle: Case\ndate: 2021-03-06\n---\nBefore.\n\n{body}\n\nAfter.\n"
    write_files(fixture_site, {"content/articles/case.md": text})
    out = tmp_path / "out"
    assert build_site(fixture_site, out).published
    page = (out / "articles" / "case" / "index.html").read_text(encoding="utf-8")
    between = page[page.index("<p>Before.</p>") : page.index("<p>After.</p>")]
    assert between.strip() == "<p>Before.</p>"
