"""`fast_paragraph_plugin` changes no token: sitegen's parser against one without the plugin.

Inputs: every CommonMark spec example (tests/fixtures/commonmark_examples.json, from the
markdown-it-py 4.3.0 sdist; the spec is CC-BY-SA 4.0), every `.md` of the repository's
fixtures and content, generated documents of risky lines, and nested containers.  These
go through sitegen's parser, so through the block-rule dispatch as well (its `tokenize`);
the traced parsers compare the block state at every block start, nested calls included.
The state `block_state` builds is compared, attribute by attribute, with upstream's
`StateBlock` on the same inputs and on generated sources rich in white space.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from conftest import SPEC, markdown_corpus
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import StateBlock, make_fence_rule
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from sitegen import fastblock
from sitegen.fastblock import fast_paragraph_plugin
from sitegen.footnotes import references_in_link_text_plugin, seen_footnotes_plugin
from sitegen.markdown import annotation_plugin, heading_id, markdown, nesting_plugin

TOKEN_FIELDS = ("type", "tag", "nesting", "attrs", "map", "level", "content", "markup", "info", "meta")
TOKEN_FLAGS = ("block", "hidden")

# Deterministic (same examples every run, no database in the repository), like test_robustness.
PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
MANY = settings(max_examples=600, deadline=None, derandomize=True, database=None, phases=PHASES)


def reference() -> MarkdownIt:
    """`sitegen.markdown.markdown()` as it is without the plugin (kept in step by test_same_setup)."""
    return with_plugins()


def with_plugins(*plugins: Callable[[MarkdownIt], None]) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.use(front_matter_plugin)
    md.use(footnote_plugin)
    md.use(seen_footnotes_plugin)
    md.use(references_in_link_text_plugin)
    md.use(anchors_plugin, min_level=2, max_level=3, permalink=False, slug_func=heading_id)
    md.use(annotation_plugin)
    for plugin in plugins:
        md.use(plugin)
    md.use(nesting_plugin)  # last, as in markdown(): it wraps whichever tokenize the others leave
    return md


REFERENCE = reference()


def normal(value: Any) -> Any:
    """Tokens (recursively with children, also inside meta and env) as comparable plain data."""
    if isinstance(value, Token):
        fields = [normal(getattr(value, name)) for name in TOKEN_FIELDS]
        flags = [getattr(value, name) for name in TOKEN_FLAGS]
        return ("Token", *fields, *flags, normal(value.children))
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normal(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # e.g. sitegen's ScanMemo in env: compare its state, not its identity
    slots = getattr(type(value), "__slots__", None)
    state = {name: getattr(value, name) for name in slots} if slots else vars(value)
    return (type(value).__name__, normal(state))


def assert_same(text: str, fast: MarkdownIt | None = None, slow: MarkdownIt = REFERENCE) -> None:
    """Same tokens and env; for sitegen's parser also the same block state at every step."""
    fast_env: dict[str, Any] = {}
    slow_env: dict[str, Any] = {}
    got = normal((fast or markdown()).parse(text, fast_env))
    expected = normal(slow.parse(text, slow_env))
    assert got == expected, text
    assert normal(fast_env) == normal(slow_env), text
    if fast is None:
        assert trace(TRACED_FAST, text) == trace(TRACED_SLOW, text), text


Snapshot = tuple[Any, ...]


def traced(md: MarkdownIt) -> MarkdownIt:
    """`md` with a first block rule that records the state each time tokenize tries the rules.

    Side effects that leave no token (e.g. `parentType`, which upstream lheading leaves at
    "paragraph" when it fails) would show up in the next snapshot.
    """
    snapshots: list[Snapshot] = []

    def probe(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        scalars = (start, end, silent, state.line, state.lineMax, state.parentType, state.blkIndent)
        more = (state.level, state.tight, state.ddIndent, state.listIndent, len(state.tokens))
        lines = (state.bMarks, state.eMarks, state.tShift, state.sCount, state.bsCount)
        snapshots.append((*scalars, *more, *map(tuple, lines)))
        return False

    md.block.ruler.before(md.block.ruler.__rules__[0].name, "probe", probe)
    md.options["snapshots"] = snapshots
    # The probe fails changing nothing, so the dispatch may keep it and go on dispatching.
    dispatch = block_dispatch(md)
    if dispatch is not None:
        dispatch.unconditional.append(probe)
    return md


def block_dispatch(md: MarkdownIt) -> fastblock._BlockDispatch | None:
    """The plugin's replacement of `md.block.tokenize`, if it has one."""
    tokenize = vars(md.block).get("tokenize")
    owner = getattr(getattr(tokenize, "__wrapped__", tokenize), "__self__", None)  # under nesting_plugin
    return owner if isinstance(owner, fastblock._BlockDispatch) else None


def dispatching(md: MarkdownIt) -> bool:
    dispatch = block_dispatch(md)
    return dispatch is not None and dispatch._dispatch() is not None


def trace(md: MarkdownIt, text: str) -> list[Snapshot]:
    snapshots: list[Snapshot] = md.options["snapshots"]
    snapshots.clear()
    md.parse(text, {})
    return list(snapshots)


def origin(fn: Any) -> str:
    """Where a rule function was written: plugins build closures, so identity differs per parser."""
    fn = getattr(fn, "func", fn)  # functools.partial
    return f"{fn.__module__}.{fn.__qualname__}"


def rule_table(md: MarkdownIt) -> dict[str, list[tuple[str, bool, list[str], str]]]:
    return {
        chain: [(rule.name, rule.enabled, list(rule.alt), origin(rule.fn)) for rule in ruler.__rules__]
        for chain, ruler in (("core", md.core.ruler), ("block", md.block.ruler), ("inline", md.inline.ruler))
    }


TRACED_FAST = traced(with_plugins(fast_paragraph_plugin))
TRACED_SLOW = traced(reference())


def test_same_setup() -> None:
    """The reference is markdown() minus the plugin: same options, same rules, same alt lists."""
    fast, slow = rule_table(markdown()), rule_table(REFERENCE)
    assert markdown().options == REFERENCE.options
    assert fast["inline"] == slow["inline"]
    # core: the same but for `normalize`, which sitegen skips when it changes nothing, and
    # `text_join`, which it skips over the blocks fastinline parsed
    assert [r[:3] for r in fast["core"]] == [r[:3] for r in slow["core"]]
    for mine, theirs in zip(fast["core"], slow["core"], strict=True):
        assert (mine[3] == theirs[3]) == (mine[0] not in ("normalize", "text_join")), mine[0]
    replaced = {"lheading", "paragraph"}
    assert [r[:3] for r in fast["block"]] == [r[:3] for r in slow["block"]]  # names, enabled, alt
    for mine, theirs in zip(fast["block"], slow["block"], strict=True):
        assert (mine[3] == theirs[3]) == (mine[0] not in replaced), mine[0]
        assert mine[3].startswith("sitegen.fastblock.") == (mine[0] in replaced), mine[0]


def test_dispatch_covers_sitegen_rules() -> None:
    """sitegen's parser (and the traced one) dispatch; other instances keep upstream's tokenize."""
    assert dispatching(markdown()) and dispatching(TRACED_FAST)
    assert block_dispatch(REFERENCE) is None and block_dispatch(TRACED_SLOW) is None


def test_prefilter_covers_sitegen_terminators() -> None:
    """All of sitegen's paragraph terminators are verified ones: the prefilter is in use."""
    prefilter = fastblock._prefilter_for(markdown().block.ruler.getRules("paragraph"))
    assert prefilter is not None and prefilter.table and prefilter.front_matter


@pytest.mark.parametrize("text", markdown_corpus())
def test_markdown_corpus(text: str) -> None:
    assert_same(text)


# ------------------------------------------------------------ generated documents

PROSE = ["Some prose text", "more words here", "lazy continuation", "a | b | c", "x <<seats A=1/2>> y"]
RISKY = [
    "===",
    "---",
    "= =",
    "- - -",
    "***",
    "___",
    "-",
    "- item",
    "* item",
    "+ item",
    "1. one",
    "2) two",
    "10. ten",
    "1.",
    "```",
    "```py",
    "~~~",
    "``` `x`",
    "# Heading",
    "###### six",
    "####### seven",
    "#nospace",
    "> quoted",
    ">",
    "> - in quote",
    "> > deeper",
    "<div>",
    "</div>",
    "<!-- note -->",
    "<span>inline</span>",
    "| a | b |",
    "|---|---|",
    "| --- | :-: |",
    "a | b",
    "--- | ---",
    ":-- | --:",
    "[^1]: note",
    "[^long]: a footnote",
    "[^ x]: not one",
    "[ref]: /url",
    "\\- escaped",
    "<<tally A=1 B=2>>",
]
CONTAINERS = ["> ", ">", "- ", "1. ", "  ", "> - ", "- > ", ">\t", "-\t"]
INDENTS = ["", " ", "  ", "   ", "    ", "     ", "\t", " \t", "  \t  "]
FRONT_MATTER = ["", "---\ntitle: x\n---\n", "---\ntitle: x\n", "----\na: 1\n...\n", "--- \n"]


@st.composite
def tables(draw: st.DrawFn) -> list[str]:
    """A header row, a matching delimiter row (what lets a table interrupt a paragraph), body rows."""
    columns = draw(st.integers(1, 3))
    piped = draw(st.booleans()) or columns == 1  # one column needs a pipe to be a table
    cells = draw(st.lists(st.sampled_from(["---", ":--", "--:", ":-:", " --- ", "-"]), min_size=columns))
    header, delimiter = ["h"] * columns, cells[:columns]
    if draw(st.booleans()):  # sometimes a column too many or too few: no table
        delimiter = delimiter + ["---"] if draw(st.booleans()) else delimiter[1:] or ["---", "---"]
    rows = [header, delimiter] + draw(st.lists(st.just(["c"] * columns), max_size=2))
    return [f"| {' | '.join(row)} |" if piped else " | ".join(row) for row in rows]


def chunk(line: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """A line or a table, under one indent and container prefix."""
    return chunk_of(st.one_of(line.map(lambda text: [text]), tables()))


def chunk_of(body: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    """Lines under one indent and container prefix."""
    prefix = st.one_of(
        st.just(""), st.tuples(st.sampled_from(INDENTS), st.sampled_from(CONTAINERS)).map("".join)
    )
    return st.tuples(prefix, body).map(lambda pair: [pair[0] + text for text in pair[1]])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Front matter, then lines mixing prose with every paragraph terminator and underline."""
    line = st.one_of(st.sampled_from(PROSE), st.sampled_from(RISKY), st.just(""))
    return assemble(draw, st.lists(chunk(line), max_size=10), ["", "\n", "\n\n", " ", "\t"])


def assemble(draw: st.DrawFn, chunks: st.SearchStrategy[list[list[str]]], endings: list[str]) -> str:
    """Front matter, the chunks' lines, and one of the endings."""
    lines = sum(draw(chunks), [])
    return draw(st.sampled_from(FRONT_MATTER)) + "\n".join(lines) + draw(st.sampled_from(endings))


@MANY
@given(documents())
def test_generated_documents(text: str) -> None:
    assert_same(text)


# (first line's prefix, next line's prefix): root, quote, lazy quote, list item continuation
PAIRS = [("", ""), ("> ", "> "), ("> ", ""), ("- ", "  "), ("1. ", "   "), ("- ", ""), ("> - ", ">   ")]


@pytest.mark.parametrize("indent", ["", " ", "   ", "    ", "\t"], ids=repr)
def test_every_line_after_a_paragraph(indent: str) -> None:
    """Each risky line right after a paragraph line, in each container: interrupts or continues."""
    for first, then in PAIRS:
        for line in RISKY + PROSE:
            for after in ("", "\nmore text", "\n" + then + "more text"):
                assert_same(f"{first}para\n{then}{indent}{line}{after}\n")


# ------------------------------------------------------------ nesting and the remembered scan

NESTED = [
    # lists inside block quotes inside lists, with lazy lines and underlines at every depth
    "- a\n  > - b\n  >   > - c\n  >   >   lazy\n  >   > ---\n  > d\n  > ===\n- e\n  > f\n  g\n",
    "1. x\n   > 2. y\n   >    > - z\n   >    >   > deep para\n"
    "   >    >   > continues\n   >    >   |---|\nw\n",
    "> - a\n> - b\n>   c\n> d\n>\n> - e\n>   ===\n> f\n---\n",
    "- > - > - > - para\n  lazy one\n  ---\n",
    "> a\n> b\n- c\n> d\n  > e\n  f\n",
    # tables interrupting paragraphs, at the root, in quotes, in lists, at a container's last line
    "para\na | b\n--- | ---\nc | d\n",
    "para\n| a |\n|---|\n",
    "> para\n> a | b\n> --- | ---\n",
    "- para\n  a | b\n  --- | ---\n- next\n",
    "> para\n> a | b\n--- | ---\n",
    "- > para\n  > a | b\n  > :-: | -:\n  more\n",
    # a blockquote ended by a terminator (hard lineMax) with a table-like line at its edge
    "> para\n> a | b\n|---|\n> c\n",
    "- item\n  para | x\n  |---|\n  more\n> q | r\n> --- | ---\n",
    # footnotes holding lists holding quotes
    "[^1]: note\n    - a\n      > b\n      > c\n    lazy\n\npara [^1]\n",
    "text\n[^n]: def\n    ===\n- [^m]: inner\n",
    # paragraph stopping at the last line of a nested container
    "- a\n  b\n- c\n  d",
    "> a\n> b",
    "- > a\n  > b\n  > ---",
]


@pytest.mark.parametrize("text", NESTED)
def test_nested_containers(text: str) -> None:
    assert_same(text)
    assert_same(text.replace("\n", "\n\n", 1))  # the same with a loose start


def test_paragraph_reuses_lheading_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paragraphs are scanned once (by lheading); in a block quote, lheading's scan stops at
    the quote's end, so paragraph only goes on from the last line whose answer may change."""
    calls: list[tuple[bool, int]] = []
    scan = fastblock._scan

    def counting(state: StateBlock, line: int, bound: int, setext: bool, *rest: Any) -> Any:
        calls.append((setext, line))
        return scan(state, line, bound, setext, *rest)

    monkeypatch.setattr(fastblock, "_scan", counting)
    text = "one\ntwo\n\nthree\nfour\n\n- five\n  six\n\n> seven\n> eight\n> nine\n> ten\n\nend\n"
    markdown().parse(text)
    assert calls == [(True, 1), (True, 4), (True, 7), (True, 10), (False, 12), (True, 15)]
    assert_same(text)


# ------------------------------------------------------------ other rule sets stay correct


COLON_FENCE_DOCS = ["para\n:::\ninside\n:::\n", "- a\n  :::note\n  b\n  :::\n", "x\n::: y\n---\n"]


@pytest.mark.parametrize("text", COLON_FENCE_DOCS + SPEC[::7])
def test_unknown_terminator_disables_prefilter(text: str) -> None:
    """A terminator whose conditions are not verified (colon_fence) makes every line be checked."""
    fast = with_plugins(colon_fence_plugin, fast_paragraph_plugin)
    assert fastblock._prefilter_for(fast.block.ruler.getRules("paragraph")) is None
    assert_same(text, fast, with_plugins(colon_fence_plugin))


def noop_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    return False


@pytest.mark.parametrize("text", NESTED + SPEC[::5])
def test_rule_between_lheading_and_paragraph(text: str) -> None:
    """Another rule between the two: paragraph no longer trusts lheading's scan."""

    def between(md: MarkdownIt) -> None:
        md.block.ruler.before("paragraph", "noop", noop_rule)

    assert_same(text, with_plugins(fast_paragraph_plugin, between), with_plugins(between))


def blank_next_line(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Matches nothing, but after a `%` line the next line reads as empty from now on."""
    if state.src.startswith("%", state.bMarks[start] + state.tShift[start]) and start + 1 < state.lineMax:
        state.eMarks[start + 1] = state.bMarks[start + 1] + state.tShift[start + 1]
    return False


@pytest.mark.parametrize("text", ["% a\nb\nc\n\nd\n", "> % a\n> b\n> c\n", "- % a\n  b\n  c\n"])
def test_state_changed_between_lheading_and_paragraph(text: str) -> None:
    """What lheading saw is not what paragraph sees: its scan must not be reused."""

    def between(md: MarkdownIt) -> None:
        md.block.ruler.before("paragraph", "blank_next_line", blank_next_line)

    assert_same(text, with_plugins(fast_paragraph_plugin, between), with_plugins(between))


def test_remembered_scan_applies_once_and_only_where_it_proves_the_result() -> None:
    state = StateBlock("a\nb\nc\nd\ne\n", markdown(), {}, [])
    memo = fastblock._Scan(start=0, bound=5, stop=3, blk_indent=0)

    def remembered(scan: fastblock._Scan, bound: int = 5) -> tuple[int | None, int]:
        setattr(state, fastblock._MEMO, scan)
        return fastblock._remembered(state, 0, bound)

    assert remembered(memo) == (3, 1)
    assert fastblock._remembered(state, 0, 5) == (None, 1)  # used up
    for other in (replace(memo, start=1), replace(memo, blk_indent=2), replace(memo, bound=6)):
        assert remembered(other) == (None, 1)
    assert remembered(replace(memo, bound=4)) == (3, 1)  # stopped before its smaller bound
    assert remembered(replace(memo, bound=4, stop=4)) == (None, 3)  # ran into it: go on from 3
    assert remembered(replace(memo, bound=1, stop=1)) == (None, 1)


@pytest.mark.parametrize("text", NESTED + SPEC[::5])
def test_rules_changed_after_the_plugin(text: str) -> None:
    """Disabling a terminator after the plugin was applied: the prefilter follows the ruler."""
    fast = with_plugins(fast_paragraph_plugin)
    slow = reference()
    for md in (fast, slow):
        md.disable(["table", "hr"])
    assert_same(text, fast, slow)


# ------------------------------------------------------------ the block-rule dispatch


def main_chain_calls(md: MarkdownIt, text: str, caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    """(rule, line) of each upstream block rule `tokenize` called (silent=False), from its debug log."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="markdown_it"):
        md.parse(text)
    calls = []
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("entering ") and record.args and not record.args[3]:
            calls.append((message.split(":")[0].removeprefix("entering "), record.args[1]))
    return calls


def test_dispatch_skips_rules_that_cannot_match(caplog: pytest.LogCaptureFixture) -> None:
    """Plain prose calls none of the rules that log; other lines only the rules they may start."""
    prose = "Plain prose\nmore prose\n\nAnother paragraph\n"
    assert ("fence", 0) in main_chain_calls(REFERENCE, prose, caplog)  # what upstream does
    assert main_chain_calls(markdown(), prose, caplog) == []
    doc = "# h\n\n> q\n\n```\nx\n```\n\n    code\n\n- item\n\n[r]: /u\n\n<div>\n"
    expected = [("heading", 0), ("blockquote", 2), ("fence", 4), ("code", 8), ("hr", 10), ("list", 10)]
    expected += [("reference", 12), ("html_block", 14)]
    assert main_chain_calls(markdown(), doc, caplog) == expected
    assert_same(doc)


def test_dispatch_calls_a_gated_rule_only_where_it_may_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified rule for `%` lines is called at block starts on `%`, nested ones included, only."""
    calls: list[int] = []

    def percent(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        calls.append(start)
        return False

    def add(md: MarkdownIt) -> None:
        md.block.ruler.before("fence", "percent", percent)

    monkeypatch.setattr(fastblock, "_FIRST_CHARS", [*fastblock._FIRST_CHARS, (percent, "%")])
    fast = with_plugins(fast_paragraph_plugin, add)
    assert dispatching(fast)
    text = "% a\n\nb\n\n> % c\n>\n> d\n\n- % e\n  f\n"
    fast.parse(text)
    assert calls == [0, 4, 8]
    assert_same(text, fast, with_plugins(add))


def recorder(calls: list[tuple[int, int]]) -> Callable[[MarkdownIt], None]:
    """A plugin adding an unverified rule (before `table`) that records where it is called."""

    def record(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        calls.append((start, end))
        return False

    def plugin(md: MarkdownIt) -> None:
        md.block.ruler.before("table", "record", record)

    return plugin


def test_unverified_rule_disables_dispatch(caplog: pytest.LogCaptureFixture) -> None:
    """Another plugin's rule: upstream's tokenize, so the rule is called wherever it was before."""
    fast_calls: list[tuple[int, int]] = []
    slow_calls: list[tuple[int, int]] = []
    fast = with_plugins(fast_paragraph_plugin, recorder(fast_calls))
    slow = with_plugins(recorder(slow_calls))
    assert block_dispatch(fast) is not None and not dispatching(fast)
    for text in [*NESTED, "Plain prose\n\nmore\n", *SPEC[::11]]:
        assert_same(text, fast, slow)
        assert fast_calls == slow_calls
    assert len(fast_calls) > 100
    # every rule is tried on a plain line (sitegen's lheading and paragraph do not log)
    tried = [
        call for call in main_chain_calls(slow, "Plain\n", caplog) if call[0] not in {"lheading", "paragraph"}
    ]
    assert len(tried) == 8 and main_chain_calls(fast, "Plain\n", caplog) == tried


@pytest.mark.parametrize("text", ["```\nx\n```\n", "para\n~~~\n", *NESTED, *SPEC[::13]])
def test_rule_replaced_under_its_name_disables_dispatch(text: str) -> None:
    """A fence rule built anew is not the verified one, even with the same name and source."""

    def other_fence(md: MarkdownIt) -> None:
        md.block.ruler.at("fence", make_fence_rule(min_markers=2))

    fast = with_plugins(fast_paragraph_plugin, other_fence)
    assert not dispatching(fast)
    assert_same(text, fast, with_plugins(other_fence))


@pytest.mark.parametrize(
    "names", [["code"], ["table"], ["fence", "hr"], ["front_matter", "list", "reference"]]
)
def test_dispatch_follows_rule_changes(names: list[str]) -> None:
    """Rules disabled, then enabled again, after parses that filled the dispatch's cache."""
    fast, slow = with_plugins(fast_paragraph_plugin), reference()
    texts = [*NESTED, *SPEC[::9], "---\na: 1\n---\n    code\n\n[r]: /u\n| a |\n|---|\n- x\n***\n"]
    for enable in (False, True, False):
        for md in (fast, slow):
            if enable:
                md.enable(names)
            else:
                md.disable(names)
        assert dispatching(fast)
        for text in texts:
            assert_same(text, fast, slow)


def test_max_nesting_is_kept() -> None:
    fast, slow = with_plugins(fast_paragraph_plugin), reference()
    for md in (fast, slow):
        md.options["maxNesting"] = 3
    for text in ["> > > > > deep\n> > > > > quote\n\nafter\n", "- - - - - x\n\n  y\n", *NESTED]:
        assert_same(text, fast, slow)


def stuck(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    return state.src.startswith("%", state.bMarks[start] + state.tShift[start])


def test_upstream_errors_are_kept() -> None:
    """A rule that succeeds without moving on, and a chain where nothing succeeds, raise as upstream."""

    def add_stuck(md: MarkdownIt) -> None:
        md.block.ruler.before("fence", "stuck", stuck)

    fast = with_plugins(fast_paragraph_plugin, add_stuck)
    dispatch = block_dispatch(fast)
    assert dispatch is not None
    dispatch.unconditional.append(stuck)
    assert dispatching(fast)
    for md in (fast, with_plugins(add_stuck)):
        with pytest.raises(RuntimeError, match="block rule didn't increment state.line"):
            md.parse("a\n\n% b\n")
    fast, slow = with_plugins(fast_paragraph_plugin), reference()
    for md in (fast, slow):
        md.disable(["paragraph"])
        with pytest.raises(RuntimeError, match="none of the block rules matched"):
            md.parse("# fine\n\nbut this is not\n")


# Every character some rule of sitegen's chain looks at first, some it does not, and what may follow.
LEADS = list("`~>*-_+0123456789<#[|:=!\\/^.) \t") + ["a", "Z", "é", "\u00a0", "\u3000"]
TAILS = ["", " ", "x", "``", "~~", "-", "--", "**", "1.", ". x", ") y", "]: /u", "^n]: note"]
TAILS += ["!-- c -->", "div>", "/div>", "a>", "pre>", " | b", "|", "-|-", ":-", "# t", "r]:", "\t-"]
BLOCKS = [
    ["```", "code", "", "```"],
    ["~~~~ info", "x", "~~~"],
    ["``` unclosed", "- not a list"],
    ["    indented code", "", "    more", "\tand tab"],
    ["\tcode", "text after"],
    ["<div>", "text", "", "</div>"],
    ["<!--", "", "-->"],
    ["<pre>", "x", "</pre>"],
    ["<custom-tag attr>", "para"],
    ["[ref]: /url", "  'title'"],
    ["[ref]:", "/url 'multi", "line'"],
    ["[^1]: note", "    - inner", "", "    para"],
    ["[^x]:", "", "    code?"],
    ["- a", "", "  b", "- c"],
    ["1. one", "2. two", "   > quoted"],
    ["> quote", "lazy", "> - item", ">     code"],
    ["Setext", "==="],
    ["para", "    lazy indented", "|---|"],
]


@st.composite
def mixed_documents(draw: st.DrawFn) -> str:
    """Front matter, then lines starting with each character of interest, whole blocks and tables,
    each under an indent and container prefix."""
    lead = st.tuples(st.sampled_from(LEADS), st.sampled_from(TAILS)).map("".join)
    line = st.one_of(lead, st.sampled_from(PROSE + RISKY), st.just(""))
    body = st.one_of(line.map(lambda text: [text]), st.sampled_from(BLOCKS), tables())
    return assemble(draw, st.lists(chunk_of(body), max_size=12), ["", "\n", "\n\n", "    ", "\t"])


@MANY
@given(mixed_documents())
def test_mixed_documents(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize("text", ["", "plain\ntext\n", "a\r\nb\rc\n\rd", "nul\0here", "\r", "x\0\r\n"])
def test_skipped_normalize_changes_nothing(text: str) -> None:
    assert markdown().parse(text) == REFERENCE.parse(text)


# ------------------------------------------------------------ the block state


def assert_same_state(text: str) -> None:
    """Every attribute of the state, in upstream's order, as upstream's `StateBlock` sets it."""
    md, env, tokens = markdown(), {"key": "value"}, [Token("x", "", 0)]
    got = vars(fastblock.block_state(text, md, env, tokens))
    expected = vars(StateBlock(text, md, env, tokens))
    assert list(got) == list(expected), text
    assert got == expected, text
    assert got["env"] is env and got["tokens"] is tokens and got["md"] is md


@pytest.mark.parametrize("text", markdown_corpus())
def test_block_state_on_corpus(text: str) -> None:
    assert_same_state(text)


EDGES = ["", "\n", "\n\n", " ", "\t", "  \t ", " \n", "\t\n", "\n ", "\n\t", "a", "a\n", "a\n\n", "a\n "]
EDGES += ["a\n\t\t", "a\n \t \n", "a\n \t \nb", "\t\t\n\t\t", " \t\ta", "\t \t  a\n", "   \ta"]
EDGES += ["\t\t\t\t\tcode", "- a\n\n\t\tb", ">\t\tc\n \t>\t d"]
EDGES += ["a\n\u00a0", "\u3000\n\u3000", "\x0b\n", "\x0c", "\r\n\ta\r", "\r", " \r", "a\n\t\r"]


@pytest.mark.parametrize("text", EDGES, ids=repr)
def test_block_state_edges(text: str) -> None:
    """The fake line, empty lines, a last line of spaces and tabs with or without "\\n", tab stops."""
    assert_same_state(text)
    assert_same(text)


WHITE = [" ", "\t", "\r", "\u00a0", "\u3000", "\x0b", "\x0c"]
MARKS = ["a", "b", ">", "-", "*", "#"]
# Lines of only tabs, of spaces and tabs, and lines that only look blank (other white space).
BLANKISH = ["\t", "\t\t", " \t", "\t ", "  \t\t ", "    ", "\u00a0", "\u3000\t", "\x0b ", "\t\x0c"]
ENDINGS = ["", "\n", "\n\n", " ", "\t", " \t ", "\n \t", "\n\t\t", "\u00a0", "\n\u3000", "\r", "\n\x0c"]


@st.composite
def white_texts(draw: st.DrawFn) -> str:
    """Lines of white space and markers, including indents that mix spaces and tabs, and every
    kind of ending: none, "\\n", or a last line of only white space."""
    line = st.one_of(
        st.text(st.sampled_from(WHITE + MARKS), max_size=8),
        st.tuples(st.text(st.sampled_from([" ", "\t"]), max_size=6), st.sampled_from(MARKS)).map("".join),
        st.sampled_from(BLANKISH),
    )
    return "\n".join(draw(st.lists(line, max_size=8))) + draw(st.sampled_from(ENDINGS))


@MANY
@given(st.one_of(white_texts(), st.text(st.sampled_from([*WHITE, *MARKS, "\n"]), max_size=30)))
def test_block_state_generated(text: str) -> None:
    assert_same_state(text)
    assert_same(text)


def test_fast_parse_only_on_sitegen_parser() -> None:
    """sitegen's parsers build the state with `block_state`; other instances keep upstream's parse."""
    for md in (markdown(), TRACED_FAST):
        parse = vars(md.block)["parse"]
        assert parse.__func__ is fastblock._parse and parse.__self__ is md.block
    for md in (REFERENCE, TRACED_SLOW, MarkdownIt()):
        assert "parse" not in vars(md.block) and md.block.parse.__func__ is ParserBlock.parse
    assert markdown().block.parse("", markdown(), {}, []) is None


def test_fast_parse_builds_the_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parse goes through `block_state` once, then the instance's own tokenize (the dispatch)."""
    states: list[StateBlock] = []
    block_state = fastblock.block_state

    def recording(*args: Any) -> StateBlock:
        states.append(block_state(*args))
        return states[-1]

    monkeypatch.setattr(fastblock, "block_state", recording)
    text = "# Title\n\n\tcode\n\npara\n> quote\n"
    assert normal(markdown().parse(text)) == normal(REFERENCE.parse(text))
    assert len(states) == 1 and states[0].src == text and states[0].line == states[0].lineMax == 6
    assert markdown().parse("") == [] and len(states) == 1


def test_block_tokens_are_made_the_cheap_way() -> None:
    """The markdown-it-py this project pins gets fastblock's own push; the CommonMark and
    generated-document comparisons above hold its tokens to upstream's."""
    assert fastblock._push is fastblock._fast_push
    state = StateBlock("a\n", markdown(), {}, [])
    cheap = fastblock._fast_push(state, "paragraph_open", "p", 1)
    upstream = StateBlock("a\n", markdown(), {}, []).push("paragraph_open", "p", 1)
    assert normal(cheap) == normal(upstream) and state.level == 1
