"""The renderer's inline fast path writes exactly what markdown-it-py's `renderInline` writes.

sitegen's renderer writes `text` and `softbreak` tokens itself (`htmlrender._plain_text_inline`);
the reference is the same renderer with that instance attribute removed, so the class's
`renderInline` runs.  Inputs: the shared Markdown corpus and generated prose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
import pytest
from conftest import markdown_corpus
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape
from test_fastblock import MANY

from sitegen.htmlrender import _renderer
from sitegen.markdown import parse
from sitegen.templating import environment


@contextmanager
def upstream_inline() -> Iterator[None]:
    renderer = _renderer().renderer
    fast = vars(renderer).pop("renderInline")
    try:
        yield
    finally:
        renderer.renderInline = fast


def both(text: str, **options: object) -> tuple[str, str]:
    md = _renderer()
    saved = {key: md.options[key] for key in options}
    md.options.update(options)
    try:
        tokens = parse(text, {})
        fast = md.renderer.render(tokens, md.options, {"sg_links": []})
        with upstream_inline():
            slow = md.renderer.render(tokens, md.options, {"sg_links": []})
    finally:
        md.options.update(saved)
    return fast, slow


def test_the_fast_path_is_installed() -> None:
    assert "renderInline" in vars(_renderer().renderer)


@pytest.mark.parametrize("text", markdown_corpus())
def test_markdown_corpus(text: str) -> None:
    fast, slow = both(text)
    assert fast == slow


@pytest.mark.parametrize("breaks", [False, True])
@pytest.mark.parametrize("xhtml", [False, True])
def test_break_options(breaks: bool, xhtml: bool) -> None:
    fast, slow = both("x\ny  \nz & <q> \"e\"\n", breaks=breaks, xhtmlOut=xhtml)
    assert fast == slow
    softbreak = fast.split("x", 1)[1].split("y", 1)[0]
    assert softbreak == (("<br />\n" if xhtml else "<br>\n") if breaks else "\n")


def test_another_text_rule_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = _renderer().renderer
    monkeypatch.setitem(renderer.rules, "text", lambda tokens, idx, options, env: "T")
    fast, slow = both("plain words\nand more\n===\n")
    assert fast == slow == "<h1>T\nT</h1>\n"
    # a paragraph's prose lines are one text token (sitegen.fastinline's `join_lines`)
    fast, slow = both("plain words\nand more")
    assert fast == slow == "<p>T</p>\n"


PIECES = [*"ab &<>\"'\n*_`[]()!\\é", "  \n", "<<fact x=1>>", "<<pct 1/2 50%>>"]
PROSE = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@MANY
@given(PROSE)
def test_generated_prose(text: str) -> None:
    fast, slow = both(text)
    assert fast == slow


# ------------------------------------------------------------ template escaping

class Plain(str):
    """A str subclass with no __html__: escaped like any string."""


ESCAPED = st.one_of(
    st.text(),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.text().map(Markup),
    st.text().map(Plain),
)


@MANY
@given(ESCAPED)
def test_quick_escape_is_markupsafe_escape(value: object) -> None:
    quick = environment(Path(".")).quick_escape(value)
    assert type(quick) is Markup
    assert quick == escape(value)


def test_templates_print_through_quick_escape(tmp_path: Path) -> None:
    env = environment(tmp_path)
    source = env.compile("{{ x }}{% for y in ys %}{{ y.z }}{% endfor %}", raw=True)
    assert source.count("environment.quick_escape(") == 2
    page = env.from_string("<p title='{{ x }}'>{{ n }} {{ m }}</p>")
    html = page.render(x="a'<b>&\"", n=-3, m=Markup("<i>"))
    assert html == "<p title='a&#39;&lt;b&gt;&amp;&#34;'>-3 <i></p>"


def test_quick_escape_keeps_jinja_semantics(tmp_path: Path) -> None:
    """Unescaped regions, `safe`, concatenation and macros print as stock Jinja2 prints them."""
    source = (
        "{% autoescape false %}{{ x }}{% endautoescape %}|{{ x }}|{{ x|safe }}|{{ x ~ y }}|"
        "{% macro m(a) %}<b>{{ a }}</b>{% endmacro %}{{ m(x) }}|{{ n }}|{{ f }}|{{ v }}"
    )
    values = {"x": "<i>", "y": "&", "n": 5, "f": 1.5, "v": None}
    stock = jinja2.Environment(autoescape=True).from_string(source).render(values)
    assert environment(tmp_path).from_string(source).render(values) == stock
    assert stock == "<i>|&lt;i&gt;|<i>|&lt;i&gt;&amp;|<b>&lt;i&gt;</b>|5|1.5|None"
