"""Faster block parsing for markdown-it-py (`lheading`, `paragraph`, rule dispatch), with identical tokens.

For every paragraph markdown-it runs `lheading` first, which scans the following lines
for a setext underline while asking every paragraph terminator rule about each line; when
there is no underline (nearly always) `paragraph` repeats the very same scan.  The
replacements here (1) let `paragraph` reuse the stop line that `lheading` already found,
and (2) skip calling the terminator rules on lines whose first character (or, for tables,
the next line's first character) none of them could accept.

Both shortcuts only skip work whose result is known: terminator rules called with
`silent=True` have no side effects, so not calling one that must return False changes
nothing.  The prefilter is derived only from rule functions whose source was checked
(markdown-it-py 4.3.0, mdit-py-plugins 0.7.0); any other terminator disables it.
The replacements do not log: the `LOGGER.debug` call at the top of every upstream
rule costs about 5% of a parse.

(3) At every block start markdown-it's `tokenize` calls the rules of the main chain in
turn until one succeeds: a plain paragraph line costs about ten failing calls, each of
which logs.  The plugin replaces that instance's `tokenize` by the same loop over only
the rules that may succeed on the line (`_BlockDispatch`), in the chain's order.  A rule
is left out only when the verified source shows it returns False, before changing any
state, on such a line, also when called with `silent=False` as `tokenize` does:
  - fence, blockquote, hr, list, html_block, heading, footnote_def, reference: the
    line's first non-space character is not one of theirs (`_FIRST_CHARS`);
  - code: `state.sCount[line] - state.blkIndent < 4` (its `is_code_block` test);
  - table: the next line is at or past `endLine` (`startLine + 2 > endLine`), or is
    empty or does not start with `|`, `-` or `:`;
  - front matter: any line but line 0.
Since every rule left out would have failed without side effects, and the rules that
fail before the one that succeeds change nothing these conditions read, the same rule
succeeds with the same state.  `lheading` and `paragraph` are always called.  Any other
rule in the chain (another plugin's, or a rule replaced under the same name) may change
what the conditions read, so it makes the dispatch hand over to upstream's `tokenize`.

(4) `StateBlock.__init__` finds the line markers with a Python loop per line and another
per leading space or tab, about an eighth of the block stage on sitegen's articles.  The
plugin replaces that instance's `parse` by upstream's, building the state with
`block_state`: upstream's own `__init__` run on an empty source (its loop does not run,
so it costs little, and every other attribute is upstream's, whatever it sets), then the
same markers from C-speed string operations.  They are the same because upstream's lines
are exactly the pieces of `src.split("\\n")`, a trailing "\\n" starting no line; its
indent characters (`isStrSpace`) are exactly " " and "\\t", what `lstrip(" \\t")` removes;
the column count equals the character count unless the indent holds a tab, and only those
lines are expanded, as upstream does; and a last piece that is empty or holds only spaces
and tabs gets no line, upstream's loop reaching the end of `src` still in the indent.
The tests compare every attribute of the state with upstream's on sources rich in tabs,
other white space and such last lines, so an upgrade that derives anything else from
`src` in `__init__` fails them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, repeat
from operator import add, sub
from types import MethodType
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import (
    StateBlock,
    blockquote,
    code,
    fence,
    heading,
    hr,
    html_block,
    lheading,
    list_block,
    paragraph,
    reference,
    table,
)
from markdown_it.token import Token
from markdown_it.utils import EnvType

from sitegen.fastinline import new_token

RuleFn = Callable[[StateBlock, int, int, bool], bool]

# Characters a line must start with (first non-space character, `bMarks + tShift`) for
# each verified rule to possibly succeed on that line, silent (as a paragraph terminator)
# or not (in `tokenize`): each tests that character before it changes any state.
_FIRST_CHARS: list[tuple[object, str]] = [
    (fence, "`~"),  # marker in ("~", "`"), at least 3 of them
    (blockquote, ">"),
    (hr, "*-_"),
    (list_block, "*-+0123456789"),  # bullet markers, or an ASCII digit (checked via ord)
    (html_block, "<"),
    (heading, "#"),
    (reference, "["),  # `[label]: destination`
]

try:  # mdit-py-plugins is optional for this module: unknown rules just disable the prefilter
    from mdit_py_plugins.footnote.index import footnote_def
except ImportError:  # pragma: no cover
    pass
else:
    _FIRST_CHARS.append((footnote_def, "["))  # `[^label]:`

try:
    from mdit_py_plugins.front_matter.index import _front_matter_rule
except ImportError:  # pragma: no cover
    _FRONT_MATTER: object = None
else:
    # Only ever matches on line 0 (`startLine != 0` returns False), whatever the line holds.
    _FRONT_MATTER = _front_matter_rule

# `table` decides on the line after the one asked about: that one must be a delimiter row.
_TABLE_NEXT_LINE_CHARS = frozenset("|-:")

# What else a line may need for a rule of the main chain to succeed there, as bits of the
# line's key in `_Dispatch.by_key`.
_INDENTED = 1  # `code`: sCount - blkIndent >= 4, its `is_code_block` test
_DELIMITER_NEXT = 2  # `table`: the next line, before endLine, starts with one of `|-:`
_FIRST_LINE = 4  # front matter: line 0
_KEYS = (_INDENTED | _DELIMITER_NEXT | _FIRST_LINE) + 1

_NEEDS: list[tuple[object, int]] = [(code, _INDENTED), (table, _DELIMITER_NEXT)]
if _FRONT_MATTER is not None:
    _NEEDS.append((_FRONT_MATTER, _FIRST_LINE))

# Attribute of the StateBlock where `lheading` leaves its failed scan for `paragraph`.
# It lives on the state, so it cannot outlive the parse or leak between documents.
_MEMO = "_sitegen_fastblock_scan"


@dataclass(frozen=True, slots=True)
class _Prefilter:
    """When may the paragraph terminators succeed on a line; `None` plans call them always."""

    first_chars: frozenset[str]
    table: bool  # look at the next line as well
    front_matter: bool  # line 0 may always be terminated


@dataclass(frozen=True, slots=True)
class _Scan:
    """A failed `lheading` scan: `paragraph` at the same line can stop where it stopped."""

    start: int
    bound: int
    stop: int
    blk_indent: int


def _prefilter_for(rules: Sequence[RuleFn]) -> _Prefilter | None:
    chars: set[str] = set()
    has_table = has_front_matter = False
    for rule in rules:
        if rule is table:
            has_table = True
        elif _FRONT_MATTER is not None and rule is _FRONT_MATTER:
            has_front_matter = True
        else:
            first = _first_chars_of(rule)
            if first is None:
                return None  # unverified rule (another plugin): its conditions are unknown
            chars.update(first)
    return _Prefilter(frozenset(chars), has_table, has_front_matter)


def _first_chars_of(rule: RuleFn) -> str | None:
    # By identity: a rule replaced under the same name (e.g. another fence) is not verified.
    return next((chars for known, chars in _FIRST_CHARS if known is rule), None)


def _may_terminate(state: StateBlock, line: int, pos: int, prefilter: _Prefilter) -> bool:
    """False only if every terminator rule is certain to return False on `line`."""
    if state.src[pos] in prefilter.first_chars or (prefilter.front_matter and line == 0):
        return True
    if not prefilter.table:
        return False
    following = line + 1
    if following >= len(state.bMarks):
        return True  # let the real rule meet the edge exactly as it would have
    start = state.bMarks[following] + state.tShift[following]
    return start < state.eMarks[following] and state.src[start] in _TABLE_NEXT_LINE_CHARS


def _setext_marker(state: StateBlock, pos: int, end: int) -> str | None:
    """The underline character if the line at `pos` (starting with `-` or `=`) is an underline."""
    marker = state.src[pos]
    pos = state.skipSpaces(state.skipCharsStr(pos, marker))
    return marker if pos >= end else None


def _terminated(state: StateBlock, line: int, bound: int, rules: Sequence[RuleFn]) -> bool:
    """Upstream's terminator loop: the first rule to accept the line ends the paragraph."""
    return any(rule(state, line, bound, True) for rule in rules)


def _scan(
    state: StateBlock,
    line: int,
    bound: int,
    setext: bool,
    rules: Sequence[RuleFn],
    prefilter: _Prefilter | None,
) -> tuple[int, str | None]:
    """Upstream's lheading (`setext`) or paragraph loop from `line`: the stop line and any underline."""
    src, blk_indent = state.src, state.blkIndent
    b_marks, e_marks, t_shift, s_count = state.bMarks, state.eMarks, state.tShift, state.sCount
    # Per-line helper calls are a large part of this loop's cost, so the cheap tests come first.
    while line < bound:
        pos = b_marks[line] + t_shift[line]
        if pos >= e_marks[line]:  # state.isEmpty(line)
            break
        indent = s_count[line]
        # Lazy continuation: would be a code block, but not after a paragraph.
        if indent - blk_indent > 3:
            line += 1
            continue
        if setext and indent >= blk_indent and src[pos] in "-=":
            marker = _setext_marker(state, pos, e_marks[line])
            if marker is not None:
                return line, marker
        # Blockquote quirk: a lazy line already checked by that rule.
        if indent < 0:
            line += 1
            continue
        if (prefilter is None or _may_terminate(state, line, pos, prefilter)) and _terminated(
            state, line, bound, rules
        ):
            break
        line += 1
    return line, None


class _FastParagraph:
    """The two replacement rules of one MarkdownIt instance, with their cached plan."""

    def __init__(self) -> None:
        # Bound methods are created anew on each access; keep one of each to compare by identity.
        self.lheading: RuleFn = self._lheading
        self.paragraph: RuleFn = self._paragraph
        # (terminators, main chain, prefilter, adjacent), replaced as a whole so that a
        # parse in another thread never pairs new rule lists with an old prefilter.
        self._cached: tuple[list[RuleFn], list[RuleFn], _Prefilter | None, bool] | None = None

    def _plan(self, state: StateBlock) -> tuple[list[RuleFn], _Prefilter | None, bool]:
        """Terminators, their prefilter, and whether `paragraph` runs right after `lheading`."""
        ruler = state.md.block.ruler
        terminators, chain = ruler.getRules("paragraph"), ruler.getRules("")
        # The Ruler rebuilds its lists whenever rules change, so list identity is a cache key.
        cached = self._cached
        if cached is None or cached[0] is not terminators or cached[1] is not chain:
            cached = (terminators, chain, _prefilter_for(terminators), self._follows(chain))
            self._cached = cached
        return terminators, cached[2], cached[3]

    def _follows(self, chain: list[RuleFn]) -> bool:
        # Only then is nothing run between a failed lheading and paragraph at the same line.
        for index, rule in enumerate(chain[:-1]):
            if rule is self.lheading:
                return chain[index + 1] is self.paragraph
        return False

    def _lheading(self, state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:
        terminators, prefilter, adjacent = self._plan(state)
        if state.is_code_block(startLine):
            return False
        old_parent_type = state.parentType
        # Upstream sets this before scanning and does not restore it when no underline is found.
        state.parentType = "paragraph"
        stop, marker = _scan(state, startLine + 1, endLine, True, terminators, prefilter)
        if marker is None:
            if adjacent:
                setattr(state, _MEMO, _Scan(startLine, endLine, stop, state.blkIndent))
            return False
        _push_heading(state, startLine, stop, marker)
        state.parentType = old_parent_type
        return True

    def _paragraph(self, state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:
        terminators, prefilter, _ = self._plan(state)
        bound = state.lineMax
        old_parent_type = state.parentType
        state.parentType = "paragraph"
        stop, resume = _remembered(state, startLine, bound)
        if stop is None:
            stop, _ = _scan(state, resume, bound, False, terminators, prefilter)
        _push_paragraph(state, startLine, stop)
        state.parentType = old_parent_type
        return True


def _remembered(state: StateBlock, start: int, bound: int) -> tuple[int | None, int]:
    """Where paragraph's scan up to `bound` stops, if lheading's scan proves it, else where to go on.

    Upstream's two loops differ only in the bound, and the bound only matters to `table`
    (`startLine + 2 > endLine`) on the last line before it, where a larger bound can only
    turn False into True.  So a scan that stopped before its bound (empty line, or a
    terminator that still fires) stops at the same line; one that ran into its bound
    must go on, from that last line whose `table` answer may change.
    """
    scan: _Scan | None = getattr(state, _MEMO, None)
    if scan is None:
        return None, start + 1
    setattr(state, _MEMO, None)  # one use only: never let a stale entry apply later
    if scan.start != start or scan.blk_indent != state.blkIndent or scan.bound > bound:
        return None, start + 1
    if scan.bound == bound or scan.stop < scan.bound:
        return scan.stop, start + 1
    return None, max(start + 1, scan.bound - 1)


def _push_heading(state: StateBlock, start: int, underline: int, marker: str) -> None:
    content = mdTrim(state.getLines(start, underline, state.blkIndent, False))
    state.line = underline + 1
    level = 1 if marker == "=" else 2
    token = _push(state, "heading_open", f"h{level}", 1)
    token.markup = marker
    token.map = [start, state.line]
    token = _push(state, "inline", "", 0, content)
    token.map = [start, state.line - 1]
    token.children = []
    token = _push(state, "heading_close", f"h{level}", -1)
    token.markup = marker


def _push_paragraph(state: StateBlock, start: int, stop: int) -> None:
    content = mdTrim(state.getLines(start, stop, state.blkIndent, False))
    state.line = stop
    _push(state, "paragraph_open", "p", 1).map = [start, stop]
    token = _push(state, "inline", "", 0, content)
    token.map = [start, stop]
    token.children = []
    _push(state, "paragraph_close", "p", -1)


Nesting = Literal[-1, 0, 1]


def _fast_push(state: StateBlock, kind: str, tag: str, nesting: Nesting, content: str = "") -> Token:
    """`StateBlock.push` (markdown-it-py 4), with fastinline's cheaper Token constructor."""
    token = new_token(kind, tag, content, nesting)
    token.block = True
    if nesting < 0:
        state.level -= 1  # closing tag
    token.level = state.level
    if nesting > 0:
        state.level += 1  # opening tag
    state.tokens.append(token)
    return token


def _slow_push(state: StateBlock, kind: str, tag: str, nesting: int, content: str = "") -> Token:
    token = state.push(kind, tag, nesting)  # type: ignore[arg-type]
    token.content = content
    return token


# markdown-it's own push, the one _fast_push copies (the tests compare every token with
# upstream's); a push put in its place by someone else is called as it is.
_push = _fast_push if StateBlock.push.__module__ == "markdown_it.rules_block.state_block" else _slow_push


@dataclass(frozen=True, slots=True)
class _Gate:
    """When a rule of the main chain may succeed at a block start."""

    rule: RuleFn
    chars: frozenset[str] | None  # the line's first non-space character; None: any
    needs: int  # bits the line's key must all have

    def admits(self, first: str, key: int) -> bool:
        return self.needs & key == self.needs and (self.chars is None or first in self.chars)


# A document with every Unicode character at the start of some line must not grow the cache
# without bound: past this many characters a list is built for each line, not kept.
_MAX_CACHED_CHARS = 256


class _RulesByChar(dict[str, list[RuleFn]]):
    """The rules that may succeed on lines with one key, by first character, built on first use."""

    def __init__(self, gates: Sequence[_Gate], key: int) -> None:
        super().__init__()
        self._gates = gates
        self._key = key

    def __missing__(self, first: str) -> list[RuleFn]:
        rules = [gate.rule for gate in self._gates if gate.admits(first, self._key)]
        if len(self) < _MAX_CACHED_CHARS:
            self[first] = rules
        return rules


@dataclass(frozen=True, slots=True)
class _Dispatch:
    """The main chain's rules that may succeed on a line, by the line's key and first character."""

    chain: list[RuleFn]
    by_key: tuple[_RulesByChar, ...]
    table: bool  # the key must look at the next line

    def rules_at(self, state: StateBlock, line: int, end: int) -> list[RuleFn]:
        try:
            pos = state.bMarks[line] + state.tShift[line]
            empty = pos >= state.eMarks[line]
        except IndexError:  # pragma: no cover - an endLine past the document
            empty = True
        if empty:
            return self.chain  # not a line tokenize gets to (it skips empty ones): let every rule see it
        key = _FIRST_LINE if line == 0 else 0
        if state.sCount[line] - state.blkIndent >= 4:
            key |= _INDENTED
        if self.table and _delimiter_next(state, line, end):
            key |= _DELIMITER_NEXT
        return self.by_key[key][state.src[pos]]


def _delimiter_next(state: StateBlock, line: int, end: int) -> bool:
    """False only if `table` is certain to fail at `line` for want of a delimiter row after it."""
    following = line + 1
    if following >= end:  # table: `startLine + 2 > endLine`
        return False
    try:
        start = state.bMarks[following] + state.tShift[following]
        return start < state.eMarks[following] and state.src[start] in _TABLE_NEXT_LINE_CHARS
    except IndexError:  # pragma: no cover - an endLine past the document: let table meet it
        return True


def _dispatch_for(chain: list[RuleFn], unconditional: Sequence[RuleFn]) -> _Dispatch | None:
    gates = []
    for rule in chain:
        gate = _gate_for(rule, unconditional)
        if gate is None:
            return None  # unverified rule: what it changes before failing is unknown
        gates.append(gate)
    by_key = tuple(_RulesByChar(gates, key) for key in range(_KEYS))
    return _Dispatch(chain, by_key, any(gate.needs & _DELIMITER_NEXT for gate in gates))


def _gate_for(rule: RuleFn, unconditional: Sequence[RuleFn]) -> _Gate | None:
    # By identity, like `_first_chars_of`: an equal-looking replacement is not verified.
    if any(rule is known for known in unconditional):
        return _Gate(rule, None, 0)
    needs = next((bits for known, bits in _NEEDS if known is rule), None)
    if needs is not None:
        return _Gate(rule, None, needs)
    chars = _first_chars_of(rule)
    return None if chars is None else _Gate(rule, frozenset(chars), 0)


def _apply_first(rules: Sequence[RuleFn], state: StateBlock, line: int, end: int) -> None:
    """Upstream's inner loop: the first rule to succeed, which must have moved `state.line` on."""
    for rule in rules:
        if rule(state, line, end, False):
            if state.line <= line:
                raise RuntimeError("block rule didn't increment state.line")
            return
    # this can only happen if user disables paragraph rule
    raise RuntimeError("none of the block rules matched")


class _BlockDispatch:
    """The `tokenize` of one MarkdownIt instance's block parser, with its cached dispatch."""

    def __init__(self, block: ParserBlock, unconditional: Sequence[RuleFn]) -> None:
        self._block = block
        self._upstream = block.tokenize  # what to hand over to when a rule is not verified
        # Rules called on every line: they fail, if at all, changing nothing a gate reads.
        # Read when the dispatch is built, i.e. before the first parse or after a rule change.
        self.unconditional = [lheading, paragraph, *unconditional]
        # (chain, dispatch), replaced as a whole like `_FastParagraph._cached`.
        self._cached: tuple[list[RuleFn], _Dispatch | None] | None = None

    def _dispatch(self) -> _Dispatch | None:
        chain = self._block.ruler.getRules("")
        # The Ruler rebuilds its lists whenever rules change, so list identity is a cache key.
        cached = self._cached
        if cached is None or cached[0] is not chain:
            cached = (chain, _dispatch_for(chain, self.unconditional))
            self._cached = cached
        return cached[1]

    def tokenize(self, state: StateBlock, startLine: int, endLine: int) -> None:
        """Upstream's `ParserBlock.tokenize`, trying at each line only the rules that may succeed."""
        dispatch = self._dispatch()
        if dispatch is None:
            self._upstream(state, startLine, endLine)
            return
        line = startLine
        maxNesting = state.md.options.maxNesting
        hasEmptyLines = False
        while line < endLine:
            state.line = line = state.skipEmptyLines(line)
            if line >= endLine:
                break
            if state.sCount[line] < state.blkIndent:
                # Termination condition for nested calls (blockquotes, lists, footnotes).
                break
            if state.level >= maxNesting:
                state.line = endLine
                break
            _apply_first(dispatch.rules_at(state, line, endLine), state, line, endLine)
            # an empty line before this block makes it loose; one after it counts for the next
            state.tight = not hasEmptyLines
            line = state.line
            # paragraph might "eat" one newline after it in nested lists
            if (line - 1) < endLine and state.isEmpty(line - 1):
                hasEmptyLines = True
            if line < endLine and state.isEmpty(line):
                hasEmptyLines = True
                line += 1
                state.line = line


def _alt(md: MarkdownIt, name: str) -> list[str]:
    for rule in md.block.ruler.__rules__:
        if rule.name == name:
            return list(rule.alt)
    raise KeyError(f"Parser rule not found: {name}")


def fast_paragraph_plugin(md: MarkdownIt) -> None:
    """Replace `lheading` and `paragraph` in place (same names, alt lists and enabled state),
    the block parser's `tokenize` by one that only tries the rules that may succeed, and its
    `parse` by one that builds the state faster."""
    rules = _FastParagraph()
    md.block.ruler.at("lheading", rules.lheading, {"alt": _alt(md, "lheading")})
    md.block.ruler.at("paragraph", rules.paragraph, {"alt": _alt(md, "paragraph")})
    # On this instance only: other MarkdownIt instances keep upstream's tokenize and parse.
    dispatch = _BlockDispatch(md.block, [rules.lheading, rules.paragraph])
    md.block.tokenize = dispatch.tokenize  # type: ignore[method-assign]
    md.block.parse = MethodType(_parse, md.block)  # type: ignore[method-assign]


def _parse(
    self: ParserBlock, src: str, md: MarkdownIt, env: EnvType, outTokens: list[Token]
) -> list[Token] | None:
    """Upstream's `ParserBlock.parse`, with the state built by `block_state`."""
    if not src:
        return None
    state = block_state(src, md, env, outTokens)
    # The instance's own `tokenize`, as upstream's `self.tokenize`: the dispatch, or a later replacement.
    self.tokenize(state, state.line, state.lineMax)
    return state.tokens


def block_state(src: str, md: MarkdownIt, env: EnvType, tokens: list[Token]) -> StateBlock:
    """`StateBlock(src, md, env, tokens)`, its line markers found without a loop per character."""
    state = StateBlock("", md, env, tokens)
    lines = src.split("\n")
    if not lines[-1].lstrip(" \t"):
        lines.pop()  # nothing after the last "\n", or only spaces and tabs: upstream gives it no line
    length = len(src)
    lengths = list(map(len, lines))
    # A line starts one past the "\n" ending the one before.  Upstream's fake last line starts at
    # the end of src, also when a last line of spaces and tabs was dropped above.
    starts = list(accumulate(map(add, lengths, repeat(1)), initial=0))
    ends = list(map(add, starts, lengths))  # as long as `lengths`: the fake line is added below
    ends.append(length)
    starts[-1] = length
    shifts = list(map(sub, lengths, map(len, map(str.lstrip, lines, repeat(" \t")))))
    columns = shifts.copy()
    # Only an indent holding a tab has more columns than characters, and tabs are rare: the
    # loop runs only on the indented lines of a source with a tab somewhere.
    if "\t" in src:
        for line in compress(range(len(lines)), shifts):
            indent = lines[line][: shifts[line]]
            if "\t" in indent:
                columns[line] = _columns(indent)
    shifts.append(0)
    columns.append(0)
    state.src = src
    state.bMarks = starts
    state.eMarks = ends
    state.tShift = shifts
    state.sCount = columns
    state.bsCount = [0] * len(starts)
    state.lineMax = len(lines)
    return state


def _columns(indent: str) -> int:
    """Upstream's `sCount` of an indent of spaces and tabs: a tab goes on to the next multiple of 4."""
    offset = 0
    for character in indent:
        offset += 4 - offset % 4 if character == "\t" else 1
    return offset
