"""Coverage-guided fuzzing of the annotation parser and checker (atheris; not run in CI).

atheris is not among the `test` extras: install it first, beside sitegen's own dependencies.

    python -m pip install atheris
    python fuzz/fuzz_check.py fuzz/corpus -max_total_time=300

Every input becomes the body of an article checked against tests/fixtures/site. The only
acceptable outcomes are diagnostics with positions inside the article; anything raised is
a finding: add the input to fuzz/corpus/ (tests/test_fuzz_corpus.py replays the corpus).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRONT = "---\ntitle: Fuzz\ndate: 2021-03-06\n---\n"
_STATE: dict = {}


def _load() -> None:
    from sitegen.article import parse_article
    from sitegen.checks import check_annotation
    from sitegen.checks.context import SiteFacts, SiteView
    from sitegen.site import load_site

    site = load_site(ROOT / "tests" / "fixtures" / "site")
    _STATE.update(parse=parse_article, check=check_annotation,
                  view=SiteView(site.config, site.sources, SiteFacts()))


def check_bytes(data: bytes) -> None:
    """The fuzz target: raises AssertionError (or anything else) only on a real defect."""
    body = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    text = FRONT + body
    lines = text.split("\n")
    if not _STATE:
        _load()
    doc = _STATE["parse"]("content/articles/fuzz.md", text)
    for placed in doc.annotations:
        result = _STATE["check"](doc, placed, _STATE["view"])
        for d in result.diagnostics:
            assert 1 <= d.span.line <= len(lines), (d, len(lines))
            assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, d


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["sitegen"]):
        _load()
    atheris.Setup(sys.argv, check_bytes)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
