"""Parse one annotation's text (`<<KIND ARG ...>>`) into frozen nodes.

Offsets in the nodes are relative to the start of the annotation text, so a parse
can be memoised on the text alone and placed in any file afterwards.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from lark import Token, Tree
from lark.exceptions import UnexpectedToken

from sitegen.grammar import parser

KIND_RE = re.compile(r"[a-z][a-z0-9_-]*\Z")
BOOLEANS = {"yes": True, "true": True, "no": False, "false": False}


# The nodes are NamedTuples: immutable like frozen dataclasses (parses are memoised and shared),
# and made three times faster, which counts at a hundred thousand annotations.


class Value(NamedTuple):
    """One argument value. `type` is number, percent, string, date, name, bool, factref or ratio."""

    type: str
    raw: str
    start: int
    end: int
    number: Decimal | None = None
    text: str | None = None
    date: dt.date | None = None
    flag: bool | None = None
    parts: tuple[Value, Value] | None = None


class Arg(NamedTuple):
    """`key=value` (key set) or a positional value (key None)."""

    key: str | None
    value: Value
    start: int
    end: int
    key_end: int


class Annotation(NamedTuple):
    kind: str
    args: tuple[Arg, ...]
    text: str
    kind_start: int
    kind_end: int


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Why a `<<...>>` is not an annotation: SG101 at [start, end) of the text."""

    message: str
    start: int
    end: int
    help: str | None = None


class ScanMemo:
    """Remembers failed searches for `>>`, so a line full of `<<` is scanned a few times, not once per `<<`.

    A scan that starts outside a string follows the same path as any failed scan that was
    outside a string at that point, so it fails the same way.  Two remembered paths cover
    any line: where one is inside a string, the path that began there is not.
    """

    __slots__ = ("src", "paths", "stopped", "in_string")
    KEEP = 4

    def __init__(self) -> None:
        self.src: str | None = None
        self.paths: list[tuple[int, int, list[tuple[int, int]]]] = []  # (first, last, strings)
        self.stopped = -1  # where the last failed search stopped: a line's end, or the next `<<`
        self.in_string = False  # whether it stopped inside a string that was never closed

    def fails(self, src: str, position: int) -> bool:
        if src is not self.src:
            return False
        for first, last, strings in self.paths:
            if first <= position <= last:
                index = bisect.bisect_left(strings, (position, -1)) - 1
                if index < 0 or not strings[index][0] < position <= strings[index][1]:
                    self.stopped = last  # the same path: it stops where that one did
                    self.in_string = bool(strings) and strings[-1][1] == last
                    return True
        return False

    def remember(self, src: str, first: int, last: int, strings: list[tuple[int, int]]) -> None:
        if src is not self.src:
            self.src, self.paths = src, []
        self.paths = [(first, last, strings), *self.paths[: self.KEEP - 1]]
        self.stopped = last
        self.in_string = bool(strings) and strings[-1][1] == last


def find_end(src: str, start: int, memo: ScanMemo | None = None) -> int | None:
    """Offset just past the `>>` closing the annotation opened at `start`, or None.

    Quoted strings may contain `>>` and `<<`; an annotation never crosses a line end, nor
    another `<<` outside a string: that one opens the next annotation, and the first `<<` is
    bare (SG101) instead of swallowing it (`2018 << 2021 ... <<seats NA=178/340>>`).
    """
    i, n = start + 2, len(src)
    if memo is not None and memo.fails(src, i):
        return None
    strings: list[tuple[int, int]] = []
    opened = -1
    while i < n:
        ch = src[i]
        if ch == "\n":
            break
        if opened >= 0:
            if ch == "\\":
                i += 1
            elif ch == '"':
                strings.append((opened, i))
                opened = -1
        elif ch == '"':
            opened = i
        elif ch == ">" and src.startswith(">>", i):
            return i + 2
        elif ch == "<" and src.startswith("<<", i):
            break
        i += 1
    if opened >= 0:
        strings.append((opened, i))
    if memo is not None:
        memo.remember(src, start + 2, i, strings)
    return None


@functools.lru_cache(maxsize=1 << 12)
def parse_annotation(text: str) -> Annotation | SyntaxProblem:
    """Parse `<<...>>`; never raises."""
    tokens = _lex(text)
    if isinstance(tokens, SyntaxProblem):
        return tokens
    shape = _parse_shape(tuple(t[0] for t in tokens))
    if isinstance(shape, _Stop):
        return _token_problem(text, tokens, shape.index, shape.expected)
    try:
        return _build(text, shape, tokens)
    except _Bad as bad:
        return bad.problem


# Annotations are lexed with one regular expression made from grammar.lark's own terminals,
# and lark's LALR parser runs once per distinct sequence of token types: annotations that
# differ only in their names and figures share that parse (lark costs ~10 µs a token).
_ANNOTATION_TERMINALS = (
    "OPEN",
    "CLOSE",
    "NAME",
    "FACTREF",
    "DATE",
    "PERCENT",
    "NUMBER",
    "STRING",
    "EQUAL",
    "SLASH",
    "WS",
)


@functools.cache
def _terminals() -> tuple[tuple[str, str], ...]:
    """(name, regular expression) of each annotation terminal, in lark's order for a collision:
    priority, then the longer pattern."""
    terminals = [t for t in parser().terminals if t.name in _ANNOTATION_TERMINALS]
    ordered = sorted(
        terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
    )
    return tuple((t.name, t.pattern.to_regexp()) for t in ordered)


@functools.cache
def _scanner() -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{name}>{regexp})" for name, regexp in _terminals()))


# A lexed token: (terminal name, start, end), offsets into the annotation text.
Tok = tuple[str, int, int]
# lark's parse tree as a template: (rule, children), a child being a subtree or a token's index.
Node = tuple


# Only these terminals can match at the same place; they all start with a digit or `-`.
_NUMERIC = ("DATE", "PERCENT", "NUMBER")
# The others each start with characters of their own.  `re` tries a match's alternatives in
# turn, so the commonest go first, and the numeric ones (in lark's order) behind one look-ahead.
_COMMON_FIRST = ("NAME", "EQUAL", _NUMERIC, "FACTREF", "STRING", "SLASH", "CLOSE", "OPEN")


@functools.cache
def _finder() -> re.Pattern[str]:
    """White space to skip (lark's WS), then a token or, failing all, any one character: every
    character of a text is in some match.  It finds what `_scanner` finds (a test holds it to that)."""
    if _scanner().fullmatch(""):  # an empty match would let finditer step over a character
        raise RuntimeError("an annotation terminal matches the empty string")
    patterns = dict(_terminals())
    ws = patterns.pop("WS")
    if set(patterns) != {*_NUMERIC, *(n for n in _COMMON_FIRST if isinstance(n, str))}:
        raise RuntimeError("the annotation terminals are not the ones _finder orders")
    numeric = [name for name in patterns if name in _NUMERIC]  # lark's order
    alternatives = [
        f"(?=[-\\d])(?:{'|'.join(f'(?P<{n}>{patterns[n]})' for n in numeric)})"
        if isinstance(name, tuple)
        else f"(?P<{name}>{patterns[name]})"
        for name in _COMMON_FIRST
    ]
    # white space is taken whole; at the very end it is a match of its own, in no group
    return re.compile(f"(?>(?:{ws})?)(?:{'|'.join(alternatives)}|(?P<{_STRAY}>[\\s\\S]))|{ws}")


_STRAY = "STRAY"


def _lex(text: str) -> list[Tok] | SyntaxProblem:
    # a token starts where its group does, after any white space the match skipped
    tokens = [(m.lastgroup, m.start(m.lastgroup), m.end()) for m in _finder().finditer(text) if m.lastgroup]
    for index, (kind, pos, _) in enumerate(tokens):
        if kind == _STRAY:
            ch = text[pos]
            hint = None
            if ch == "'":
                hint = 'strings are written in double quotes: quote="..."'
            elif ch in _TYPOGRAPHIC_QUOTES:
                hint = 'strings are written in straight double quotes ("), not typographic ones'
            elif text.startswith("<<", pos):  # another annotation opened inside this one
                hint = r"write \<< for a literal `<<` in prose"
            elif index and tokens[index - 1][0] in _NUMERIC and tokens[index - 1][2] == pos:
                hint = _quote_hint(text, tokens[index - 1][1])
            shown = f"`{ch}`" if ch.isprintable() and not ch.isspace() else repr(ch)
            return SyntaxProblem(f"unexpected character {shown} in annotation", pos, pos + 1, hint)
    return tokens


_TYPOGRAPHIC_QUOTES = "“”„‟‘’‚‛«»‹›「」"


def _quote_hint(text: str, start: int) -> str:
    """`src=2021-03-05-dawn`: a word that starts as a number or date is no NAME (which starts
    with a letter); written in quotes it is a string, which `src=` takes as written."""
    word = re.match(r"[^\s>\"]{0,80}", text[start:])
    shown = word.group() if word else ""
    return f'a value that is not a number, date or name goes in double quotes: "{shown}"'


@functools.lru_cache(maxsize=1 << 12)
def _parse_shape(types: tuple[str, ...]) -> tuple | _Stop:
    """lark's parse of a token-type sequence, as a template whose leaves are token indices."""
    tokens = [Token(kind, "", start_pos=i) for i, kind in enumerate(types)]
    interactive = parser().parse_interactive(start="annotation")
    try:
        for token in tokens:
            interactive.feed_token(token)
        tree = interactive.feed_eof()
    except UnexpectedToken as exc:
        at = exc.token.start_pos if exc.token.type != "$END" else len(types)
        return _Stop(at if isinstance(at, int) else len(types), frozenset(exc.expected))
    template = _template(tree)
    assert isinstance(template, tuple)  # a tree's template; an int is a token's
    return template


@dataclass(frozen=True, slots=True)
class _Stop:
    """Where lark's parser stopped on a token-type sequence, and what it expected there."""

    index: int
    expected: frozenset[str]


def _template(node: Tree | Token) -> tuple | int:
    if isinstance(node, Token):
        return node.start_pos or 0  # the token's index in the sequence (set on every one)
    return (str(node.data), tuple(_template(child) for child in node.children))


def _token_problem(text: str, tokens: list[Tok], index: int, expected: frozenset[str]) -> SyntaxProblem:
    if index >= len(tokens):
        return SyntaxProblem("annotation ends too early", max(len(text) - 1, 0), len(text))
    kind, pos, end = tokens[index]
    valueless = _key_without_value(text, tokens, index)
    if valueless is not None:
        return valueless
    shown = text[pos:end]
    wanted = _describe_expected(set(expected))
    what = f"unexpected `{shown}`" + (f", expected {wanted}" if wanted else "")
    hint = None
    if kind == "CLOSE" and text[2:3].isspace():
        hint = "no space is allowed between `<<` and the kind"
    return SyntaxProblem(what, pos, pos + max(len(shown), 1), hint)


def _key_without_value(text: str, tokens: list[Tok], index: int) -> SyntaxProblem | None:
    """`majority=>>`, or `majority= date=...` (the space ends it: `date` became its value and
    the next `=` is the one that does not parse): the problem at the `key=` that has none."""
    kinds = [kind for kind, _, _ in tokens[max(index - 3, 0) : index + 1]]
    if kinds[-3:] == ["NAME", "EQUAL", "CLOSE"]:
        key, equal = tokens[index - 2], tokens[index - 1]
        why = ""
    elif kinds == ["NAME", "EQUAL", "NAME", "EQUAL"] and text[tokens[index - 2][2]].isspace():
        key, equal = tokens[index - 3], tokens[index - 2]
        taken = text[tokens[index - 1][1] : tokens[index - 1][2]]
        why = f": `{taken}`, after the space, is read as its value"
    else:
        return None
    return SyntaxProblem(
        f"`{text[key[1] : equal[2]]}` has no value{why}",
        key[1],
        equal[2],
        "every `key=` needs a value, written right after the `=`",
    )


class _Bad(Exception):
    def __init__(self, problem: SyntaxProblem) -> None:
        self.problem = problem


_EXPECTED_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "STRING": "a string",
    "DATE": "a date",
    "FACTREF": "a @fact",
    "CLOSE": "`>>`",
    "EQUAL": "`=`",
    "SLASH": "`/`",
}


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_EXPECTED_NAMES.get(e, e.lower()) for e in expected})
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# ------------------------------------------------------------- tree to nodes
# The template of lark's tree is read with the tokens: no lark Tree or Token is made per annotation.


def _build(text: str, tree: Node, tokens: list[Tok]) -> Annotation:
    _, kind_start, kind_end = tokens[tree[1][1]]
    if kind_start != 2:
        raise _Bad(SyntaxProblem("no space is allowed between `<<` and the kind", 2, kind_start))
    kind = text[kind_start:kind_end]
    if not KIND_RE.match(kind):  # the lexer reads a kind as a NAME, which may hold capitals and dots
        raise _Bad(_kind_problem(kind, kind_start, kind_end))
    args = tuple(_arg(text, t, tokens) for t in tree[1][2:-1] if isinstance(t, tuple))
    previous: Arg | None = None
    for arg in args:
        if arg.start == (previous.end if previous else kind_end):
            raise _Bad(_unseparated(text, previous, arg))
        previous = arg
    return Annotation(kind, args, text, kind_start, kind_end)


def _kind_problem(kind: str, start: int, end: int) -> SyntaxProblem:
    lowered = kind.lower()
    hint = f"write `{lowered}`" if KIND_RE.match(lowered) and len(kind) <= 40 else None
    shown = kind if len(kind) <= 40 else f"{kind[:40]}…"
    return SyntaxProblem(
        f"`{shown}` is not a kind: a kind is lowercase letters, digits, `_` and `-`, starting with a letter",
        start,
        end,
        hint,
    )


# `date=2021-3-4`: a year, then -3 and -4 read as two numbers with nothing between them
_LOOSE_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?![\d-])")


def _unseparated(text: str, previous: Arg | None, arg: Arg) -> SyntaxProblem:
    number = previous is not None and previous.value.type == "number"
    loose = _LOOSE_DATE.match(text, previous.value.start) if previous is not None and number else None
    if loose:
        y, m, d = (int(part) for part in loose.group().split("-"))
        return SyntaxProblem(
            f"`{loose.group()}` is not a date: dates are written YYYY-MM-DD",
            loose.start(),
            loose.end(),
            f"write {y:04d}-{m:02d}-{d:02d}",
        )
    return SyntaxProblem("arguments must be separated by white space", arg.start, arg.end)


def _arg(text: str, t: Node, tokens: list[Tok]) -> Arg:
    rule, children = t
    if rule == "keyword":
        key_index, value_tree = children
        _, key_start, key_end = tokens[key_index]
        value_start = tokens[_first_token(value_tree)][1]
        if value_start != key_end + 1:  # ARG := KEY "=" VALUE, nothing between (SPEC §2)
            raise _Bad(SyntaxProblem("no white space is allowed around `=`", key_end, value_start))
        value = _value(text, value_tree, tokens)
        return Arg(text[key_start:key_end], value, key_start, value.end, key_end)
    value = _value(text, children[0], tokens)
    return Arg(None, value, value.start, value.end, value.start)


def _first_token(t: Node) -> int:
    rule, children = t
    return _first_token(children[0]) if rule == "ratio" else children[0]


def _value(text: str, t: Node, tokens: list[Tok]) -> Value:
    rule, children = t
    if rule == "ratio":
        left, right = (_value(text, c, tokens) for c in children)
        if right.start != left.end + 1:  # RATIO := NUM "/" NUM, nothing between
            raise _Bad(SyntaxProblem("no white space is allowed around `/`", left.end, right.start))
        return Value("ratio", text[left.start : right.end], left.start, right.end, parts=(left, right))
    _, start, end = tokens[children[0]]
    raw = text[start:end]
    if rule == "number":
        return Value("number", raw, start, end, number=_decimal(raw, start, end))
    if rule == "percent":
        return Value("percent", raw, start, end, number=_decimal(raw[:-1], start, end))
    if rule == "string":
        return Value("string", raw, start, end, text=_unescape(raw, start))
    if rule == "date":
        return Value("date", raw, start, end, text=raw, date=_date(raw))
    if rule == "factref":
        return Value("factref", raw, start, end, text=raw[1:])
    if raw.lower() in BOOLEANS:
        return Value("bool", raw, start, end, text=raw, flag=BOOLEANS[raw.lower()])
    return Value("name", raw, start, end, text=raw)


def _decimal(raw: str, start: int, end: int) -> Decimal:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:  # the token regex makes this unreachable; keep it an SG101
        raise _Bad(SyntaxProblem(f"not a number: {raw!r}", start, end)) from exc


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


_ESCAPE = re.compile(r"\\(.)")


def _unescape(raw: str, start: int) -> str:
    """A STRING token's text: `\\"` and `\\\\` are its only escapes (SPEC §2); any other is SG101,
    not a letter silently dropped (`\\t` is not a tab, and a quote with it would not be found)."""
    for match in _ESCAPE.finditer(raw, 1, len(raw) - 1):
        if match.group(1) not in '"\\':
            at = start + match.start()
            raise _Bad(
                SyntaxProblem(
                    f'unknown escape `{match.group()}` in a string: only \\" and \\\\ are escapes',
                    at,
                    at + 2,
                    "write \\\\ for a backslash",
                )
            )
    return _ESCAPE.sub(r"\1", raw[1:-1])
