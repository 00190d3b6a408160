"""A real browser opens a built article from disk, clicks a marker and lands on its footnote."""

from __future__ import annotations

from pathlib import Path

from browser import browser_page
from test_build import _example_copy

from sitegen.cli import main


def test_clicking_a_marker_moves_to_its_footnote(tmp_path: Path) -> None:
    site = _example_copy(tmp_path)
    out = tmp_path / "public"
    assert main(["build", str(site), "--out", str(out)]) == 0
    article = next((out / "articles").glob("*/index.html"))
    with browser_page() as page:
        page.goto(article.as_uri())
        page.wait_for_selector("sup.fc a")
        before = page.evaluate("window.scrollY")
        page.click("sup.fc a >> nth=0")
        page.wait_for_function("location.hash === '#fn-1'", timeout=5000)
        footnote = page.locator("#fn-1")
        assert footnote.is_visible()
        in_view = page.evaluate(
            "() => { const r = document.getElementById('fn-1').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
        assert in_view and page.evaluate("window.scrollY") > before
        page.click("#fn-1 a.backref")
        page.wait_for_function("location.hash === '#fnref-1'", timeout=5000)
