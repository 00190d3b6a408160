"""Golden HTML fragments: each expected line must appear in the built article page, and one
written `!FRAGMENT` must not (e.g. a marker inside a link's text, which SPEC §5 rules out)."""

from __future__ import annotations

import json
import re
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
        if fragment.startswith("!"):
            assert fragment[1:] not in page, f"{case.file.name}:{case.line}: unwanted {fragment[1:]!r}"
        else:
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
    _, page = _built_case(fixture_site, tmp_path, f"Before.\n\n{body}\n\nAfter.")
    between = page[page.index("<p>Before.</p>") : page.index("<p>After.</p>")]
    assert between.strip() == "<p>Before.</p>"


@pytest.mark.parametrize(
    ("body", "markers"),
    [
        # a note referred to only from a note nothing refers to is as unseen as that one
        ("Body text.\n\n[^a]: See also [^b].\n\n[^b]: 178 of 342 <<seats NA=178/342>>.", 0),
        ("Body [^b].\n\n[^a]: See [^c].\n\n[^b]: B.\n\n[^c]: 178 of 342 <<seats NA=178/342>>.", 1),
        # a note referred to in an image's alt text gets its marker after the image
        ("Chart ![seat chart[^c]](chart.png) here.\n\n[^c]: 178 of 342 <<seats NA=178/342>>.", 2),
        ("Chart ![seat chart^[178 of 342 <<seats NA=178/342>>]](chart.png) here.", 2),
    ],
)
def test_every_note_listed_has_its_marker_and_every_check_a_note(
    body: str, markers: int, fixture_site: Path, tmp_path: Path
) -> None:
    out, page = _built_case(fixture_site, tmp_path, body)
    marker_ids = re.findall(r'<sup class="(?:fc|footnote-ref)[^"]*"><a href="#fn-\d+" id="([^"]+)"', page)
    back_links = re.findall(r'<a href="#([^"]+)" class="backref"', page)
    assert len(marker_ids) == markers
    assert sorted(back_links) == sorted(marker_ids)
    checks = json.loads((out / "checks.json").read_text(encoding="utf-8"))["checks"]
    assert len(checks) == page.count('<sup class="fc ')


def _built_case(site: Path, tmp_path: Path, body: str) -> tuple[Path, str]:
    """Build a site whose one article has this body: the output and the article's page."""
    write_files(site, {"content/articles/case.md": f"---\ntitle: Case\ndate: 2021-03-06\n---\n{body}\n"})
    out = tmp_path / "out"
    assert build_site(site, out).published
    return out, (out / "articles" / "case" / "index.html").read_text(encoding="utf-8")
