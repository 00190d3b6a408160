"""`fast_inline` changes no token and no env: sitegen's parser with it against the same without it.

The reference is sitegen's own parser with `fast_inline` patched out of `_inline_where_wanted`,
so every inline token goes through markdown-it's `ParserInline.parse` as before; in the
paragraphs the fast path takes, the reference's soft breaks are then folded into the text
around them (`fold_soft_breaks`), which is what `join_lines` promises.  Inputs: every
CommonMark spec example, every `.md` of the repository's fixtures and content, generated bench
articles, and generated lines of prose, breaks, annotations and every rule's first character.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from conftest import REPO, markdown_corpus
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from test_fastblock import MANY, normal

import sitegen.markdown
from sitegen import fastinline
from sitegen.fastinline import fast_inline
from sitegen.markdown import markdown


@contextmanager
def without_fast_path() -> Iterator[None]:
    with mock.patch.object(sitegen.markdown, "fast_inline", lambda *args, **kwargs: False):
        yield


def fold_soft_breaks(children: list[Token]) -> list[Token]:
    """Upstream's inline tokens as `join_lines` makes them: each softbreak becomes the text
    `\n`, joined with the texts beside it (upstream never makes two texts in a row where the
    fast path is taken, so only folded breaks are joined)."""
    out: list[Token] = []
    for token in children:
        if token.type == "softbreak":
            token = Token("text", "", 0)
            token.content = "\n"
        if token.type == "text" and out and out[-1].type == "text":
            out[-1].content += token.content
        else:
            out.append(copy.copy(token) if token.type == "text" else token)
    return out


def fold_taken_paragraphs(tokens: list[Token]) -> list[Token]:
    """The reference's paragraphs, folded where the fast path takes their text."""
    for index, token in enumerate(tokens):
        paragraph = token.type == "inline" and index and tokens[index - 1].type == "paragraph_open"
        if paragraph and token.children and fast_inline(token.content, markdown(), {}, []):
            token.children = fold_soft_breaks(token.children)
    return tokens


def assert_same(text: str) -> None:
    """Same tokens and env as without the fast path, when rendering and when only checking;
    and the same HTML."""
    for for_render in (True, False):
        fast_env: dict[str, Any] = {}
        slow_env: dict[str, Any] = {}
        fast = sitegen.markdown.parse(text, fast_env, for_render=for_render)
        with without_fast_path():
            slow = sitegen.markdown.parse(text, slow_env, for_render=for_render)
        if for_render:
            md = markdown()
            html = md.renderer.render(fast, md.options, copy.deepcopy(fast_env))
            assert html == md.renderer.render(slow, md.options, copy.deepcopy(slow_env)), text
        assert normal(fast) == normal(fold_taken_paragraphs(slow)), text
        assert normal(fast_env) == normal(slow_env) and list(fast_env) == list(slow_env), text


def assert_same_inline(src: str, env: dict[str, Any] | None = None) -> bool:
    """`fast_inline` on one inline content against `md.inline.parse`, as it is and with its
    lines joined; whether it was taken."""
    md = markdown()
    taken = []
    for join_lines in (False, True):
        fast_env, slow_env = copy.deepcopy(env or {}), copy.deepcopy(env or {})
        got: list[Token] = []
        taken.append(fast_inline(src, md, fast_env, got, join_lines=join_lines))
        if not taken[-1]:
            assert got == [] and normal(fast_env) == normal(env or {}), src
            continue
        expected = md.inline.parse(src, md, slow_env, [])
        assert normal(got) == normal(fold_soft_breaks(expected) if join_lines else expected), src
        assert normal(fast_env) == normal(slow_env) and list(fast_env) == list(slow_env), src
    assert taken[0] == taken[1], src
    return taken[0]


def test_plan_covers_sitegen_rules() -> None:
    """All of sitegen's inline and ruler2 rules are verified ones: the fast path is in use."""
    plan = fastinline._plan(markdown())
    assert plan.blocked is not None
    assert set(blocked_chars()) == set("\\`~*_[!&^")


def blocked_chars() -> str:
    plan = fastinline._plan(markdown())
    assert plan.blocked is not None
    return "".join(chr(c) for c in range(128) if plan.blocked.match(chr(c)))


@pytest.mark.parametrize("text", markdown_corpus())
def test_markdown_corpus(text: str) -> None:
    assert_same(text)


# ------------------------------------------------------------ generated bench articles


def bench_gen() -> ModuleType:
    """bench/gen.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("sitegen_bench_gen", REPO / "bench" / "gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GEN = bench_gen()
SOURCES = GEN.make_sources(50, 1)
ARTICLES = [GEN.make_article(i, 1, 1000, SOURCES) for i in range(1, 31)]


@pytest.mark.parametrize("number", range(len(ARTICLES)))
def test_bench_articles(number: int) -> None:
    assert_same(ARTICLES[number])


def test_fast_path_taken_for_prose() -> None:
    """Nearly every inline token of a generated article is plain prose, annotations included."""
    inline = [t.content for text in ARTICLES for t in markdown().parse(text, {}) if t.type == "inline"]
    taken = [src for src in inline if assert_same_inline(src)]
    annotated = [src for src in inline if "<<" in src]
    assert len(taken) >= 0.9 * len(inline), len(taken) / len(inline)
    # (annotations holding `_`, as in `needs=two_thirds`, are declined: the gate looks at all of src)
    assert sum("<<" in src for src in taken) >= 0.85 * len(annotated), len(annotated)


SAMPLE = (
    "The secretariat confirmed that in the constituency count,\n"
    "the votes were Qureshi 59,764, Chaudhry 45,404 and Durrani\n"
    "23,302.<<tally Qureshi=59764 Chaudhry=45404 Durrani=23302 winner=Qureshi margin=14360>>\n"
    "The law minister said PPP held 66 of the 100 seats <<seats Senate=66/100 majority=yes>>,\n"
    "while a correspondent wrote that “reporters amended the figures” "
    '<<claim src=043 quote="reporters amended the figures">>.'
)


def test_sample_paragraph() -> None:
    assert assert_same_inline(SAMPLE)
    children = [t for t in markdown().parse(SAMPLE) if t.type == "inline"][0].children or []
    assert [t.type for t in children].count("annotation") == 3


@pytest.mark.parametrize("char", blocked_chars())
def test_declines_each_rule_character(char: str) -> None:
    """A character some other rule starts with, anywhere, even inside an annotation."""
    for src in (f"a {char} b", char, f"a <<seats X=1/2>> b{char}", f"a <<fact x={char}1>> b"):
        assert not assert_same_inline(src), src
    assert not assert_same_inline(SAMPLE.replace("figures", f"fig{char}ures", 1))


LONE = ["<", "a < b", "<<<", "a <<<b>> c", "x <<seats X=1/2>> <", "<<<<<x", '<<q="<">>']


@pytest.mark.parametrize("src", LONE)
def test_declines_a_lone_less_than(src: str) -> None:
    """A run of `<` of odd length: autolink and raw HTML might be asked about one of them
    (not inside an annotation, but the gate looks at all of src)."""
    assert not assert_same_inline(src)


@pytest.mark.parametrize("src", ["<<", "<<<<", "a <<b", "<<<<x>>", "<<x>><<", "x\n<<\ny"])
def test_takes_runs_of_less_than_of_even_length(src: str) -> None:
    assert assert_same_inline(src)


BREAKS = [
    "a\nb",
    "a \nb",
    "a  \nb",
    "a   \nb",
    "a\t\nb",
    "a \t\nb",
    "a\t  \nb",
    "  \nb",
    " \nb",
    "\nb",
    "a\n",
    "a  \n",
    "a\n   b\n\t c",
    "a\n \n b",
    "a  \n  \n  b",
    "<<seats X=1/2>>  \nb",
    "a <<seats X=1/2>> \nb",
    "a <<seats X=1/2\nb>>",
    "  lead and trail  ",
    "\n\n",
]


@pytest.mark.parametrize("src", BREAKS, ids=repr)
def test_line_breaks(src: str) -> None:
    assert assert_same_inline(src)
    assert_same(f"para\n{src}\n")


@pytest.mark.parametrize(
    "env",
    [{}, {"footnotes": {"refs": {":1": -1}, "list": {}}}, {"footnotes": {}}, {"other": 1}],
    ids=["empty", "refs", "bare", "other"],
)
@pytest.mark.parametrize("src", ["a - b", "ab-", "a-", "-", "a <<x>> = b", "a\n: b", "<<x = y>> z", "abc"])
def test_env_of_rules_that_fail(src: str, env: dict[str, Any]) -> None:
    """`footnote_ref` puts `footnotes` into env at a terminator no rule acts on (`-`, `=`, `:`)."""
    assert assert_same_inline(src, env)


def test_unterminated_annotations_share_the_scan_memo() -> None:
    src = "a <<x " * 30 + "\n" + "<<y >> " * 5
    env: dict[str, Any] = {}
    assert assert_same_inline(src, env)
    assert_same(src + "\n")


# ------------------------------------------------------------ other parsers stay correct


def fresh_markdown() -> MarkdownIt:
    """A parser of its own, set up as `markdown()` (which is cached, so must not be changed)."""
    return markdown.__wrapped__()


def extra_rule(state: StateInline, silent: bool) -> bool:
    return False


def test_unknown_rule_disables_fast_path() -> None:
    md = MarkdownIt("commonmark")
    assert not fast_inline("plain words", md, {}, [])  # no annotation rule
    custom = fresh_markdown()
    custom.inline.ruler.push("extra", extra_rule)
    assert not fast_inline("plain words", custom, {}, [])
    post = fresh_markdown()
    post.inline.ruler2.push("extra", lambda state: None)
    assert not fast_inline("plain words", post, {}, [])
    assert fast_inline("plain words", markdown(), {}, [])  # the cached plan follows the parser again


def test_disabled_rule_lets_its_character_through() -> None:
    md = fresh_markdown()
    md.disable("entity")
    got: list[Token] = []
    assert fast_inline("fish &amp; chips", md, {}, got)
    assert normal(got) == normal(md.inline.parse("fish &amp; chips", md, {}, []))


def test_backslash_declined_without_the_escape_rule() -> None:
    """The annotation rule itself turns `\\<<` into a text token."""
    md = fresh_markdown()
    md.disable("escape")
    assert not fast_inline("a \\<< b", md, {}, [])
    assert fast_inline("a <<x>> b", md, {}, [])


def test_declines_without_nesting_or_with_tokens() -> None:
    md = fresh_markdown()
    md.options["maxNesting"] = 0
    assert not fast_inline("plain words", md, {}, [])
    assert not fast_inline("plain words", markdown(), {}, [Token("text", "", 0)])


# ------------------------------------------------------------ generated lines

WORDS = ["word", "Qureshi", "59,764", "seats.", "“quoted”", "é", "字"]
ANNOTATIONS = ["<<seats X=1/2>>", "<<tally A=1 B=2>>", '<<claim src=001 quote="a >> b">>', "<<fact x=@y>>"]
PIECES = [
    "<<",
    ">>",
    "\\<<",
    "<",
    ">",
    "<<x",
    "<<<",
    '"',
    "=",
    "-",
    ":",
    "%",
    "@",
    "#",
    "{",
    "}",
    "+",
    "$",
    "]",
    "[^1]",
    "^[note]",
    "![img](u)",
    "&amp;",
    "&#35;",
    "`code`",
    "*em*",
    "_em_",
    "~~s~~",
    "[link](/u)",
    "<a>",
    "<http://x.y>",
    "\\",
    "\\*",
    *"\\`~*_[]!&^",
]
SPACES = [" ", "  ", "   ", "\t", " \t"]
BREAK = [f"{trailing}\n{leading}" for trailing in ["", " ", "  ", "   ", "\t"] for leading in ["", " ", "\t"]]

PIECE = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sampled_from(ANNOTATIONS),
    st.sampled_from(PIECES),
    st.sampled_from(SPACES),
    st.sampled_from(BREAK),
)
LINES = st.lists(PIECE, max_size=24).map("".join)
PLAIN = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(ANNOTATIONS), st.sampled_from(SPACES + BREAK)),
    max_size=24,
).map("".join)
ENVS = st.sampled_from([{}, {"footnotes": {"refs": {":1": -1}, "list": {}}}])


@MANY
@given(LINES, ENVS)
def test_generated_inline(src: str, env: dict[str, Any]) -> None:
    assert_same_inline(src, env)


@MANY
@given(PLAIN, ENVS)
def test_generated_plain_inline(src: str, env: dict[str, Any]) -> None:
    """Without the other rules' characters the fast path is always taken."""
    assert assert_same_inline(src, env)


@MANY
@given(st.lists(st.one_of(LINES, st.sampled_from(["", "[^1]: note", "# h", "- item", "> q"])), max_size=6))
def test_generated_documents(lines: list[str]) -> None:
    assert_same("\n".join(lines) + "\n")


@pytest.mark.parametrize(("kind", "tag", "content"), [("text", "", "prose"), ("softbreak", "br", "")])
def test_tokens_made_without_their_constructor_equal_built_ones(kind: str, tag: str, content: str) -> None:
    made = fastinline._fast_token(kind, tag, content)
    built = fastinline._slow_token(kind, tag, content)
    assert made == built and made.attrs is not built.attrs and made.meta is not built.meta
    assert fastinline._token is fastinline._fast_token  # the markdown-it-py this project pins
