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

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from sitegen.grammar import parser

KIND_RE = re.compile(r"[a-z][a-z0-9_-]*\Z")
BOOLEANS = {"yes": True, "true": True, "no": False, "false": False}


@dataclass(frozen=True, slots=True)
class Value:
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


@dataclass(frozen=True, slots=True)
class Arg:
    """`key=value` (key set) or a positional value (key None)."""

    key: str | None
    value: Value
    start: int
    end: int
    key_end: int


@dataclass(frozen=True, slots=True)
class Annotation:
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
    """Remembers a failed search for `>>`, so a line full of `<<` is scanned once, not once per `<<`.

    A scan that starts outside a string follows the same path as any failed scan that was
    outside a string at that point, so it fails the same way.
    """

    __slots__ = ("src", "first", "last", "strings")

    def __init__(self) -> None:
        self.src: str | None = None
        self.first = self.last = -1
        self.strings: list[tuple[int, int]] = []  # (opening quote, closing quote or line end)

    def fails(self, src: str, position: int) -> bool:
        if src is not self.src or not self.first <= position <= self.last:
            return False
        index = bisect.bisect_left(self.strings, (position, -1)) - 1
        return index < 0 or not self.strings[index][0] < position <= self.strings[index][1]

    def remember(self, src: str, first: int, last: int, strings: list[tuple[int, int]]) -> None:
        self.src, self.first, self.last, self.strings = src, first, last, strings


def find_end(src: str, start: int, memo: ScanMemo | None = None) -> int | None:
    """Offset just past the `>>` closing the annotation opened at `start`, or None.

    Quoted strings may contain `>>`; an annotation never crosses a line end.
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
        i += 1
    if opened >= 0:
        strings.append((opened, i))
    if memo is not None:
        memo.remember(src, start + 2, i, strings)
    return None


_DIGITS = str.maketrans("123456789", "000000000")


@functools.lru_cache(maxsize=1 << 16)
def parse_annotation(text: str) -> Annotation | SyntaxProblem:
    """Parse `<<...>>`; never raises."""
    shape = _parse_shape(text.translate(_DIGITS))
    if isinstance(shape, UnexpectedInput):
        problem = _problem_from_lark(text, shape)
        start = min(max(problem.start, 0), len(text))
        return SyntaxProblem(problem.message, start, min(max(problem.end, start), len(text)), problem.help)
    if isinstance(shape, LarkError):  # defensive: any other lark failure is still a syntax error
        return SyntaxProblem(f"cannot parse annotation: {shape}", 0, len(text))
    try:
        return _build(text, shape)
    except _Bad as bad:
        return bad.problem


@functools.lru_cache(maxsize=1 << 14)
def _parse_shape(normalised: str) -> Tree | LarkError:
    """The lark parse of an annotation whose ASCII digits were all turned into `0`.

    No terminal of grammar.lark tells one digit from another, so this tree has exactly the
    token types and positions of the original's; values are read back from the original
    text.  Annotations that differ only in their figures share one parse.
    """
    try:
        return parser().parse(normalised, start="annotation")
    except LarkError as exc:
        return exc


class _Bad(Exception):
    def __init__(self, problem: SyntaxProblem) -> None:
        self.problem = problem


def _problem_from_lark(text: str, exc: UnexpectedInput) -> SyntaxProblem:
    pos = _offset(exc, text)
    if isinstance(exc, UnexpectedCharacters):
        ch = text[pos] if pos < len(text) else ""
        hint = None
        if ch == "'":
            hint = 'strings are written in double quotes: quote="..."'
        elif ch == "<":
            hint = r"write \<< for a literal `<<` in prose"
        return SyntaxProblem(f"unexpected character {ch!r} in annotation", pos, pos + 1, hint)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            return SyntaxProblem("annotation ends too early", pos, pos + 1)
        shown = text[tok.start_pos : tok.end_pos] if tok.start_pos is not None else str(tok)
        width = max(len(shown), 1)
        expected = _describe_expected(exc.expected)
        what = f"unexpected {shown!r}" + (f", expected {expected}" if expected else "")
        hint = None
        if tok.type == "CLOSE" and text[2:3].isspace():
            hint = "no space is allowed between `<<` and the kind"
        elif tok.type == "CLOSE" and text[:pos].rstrip().endswith("="):
            hint = "every `key=` needs a value"
        return SyntaxProblem(what, pos, pos + width, hint)
    return SyntaxProblem("cannot parse annotation", pos, pos + 1)


def _offset(exc: UnexpectedInput, text: str) -> int:
    pos = getattr(exc, "pos_in_stream", None)
    if isinstance(pos, int) and pos >= 0:
        return min(pos, max(len(text) - 1, 0))
    return max(min((getattr(exc, "column", 1) or 1) - 1, len(text) - 1), 0)


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


def _build(text: str, tree: Tree) -> Annotation:
    kind_tok = tree.children[1]
    assert isinstance(kind_tok, Token)
    if kind_tok.start_pos != 2:
        raise _Bad(SyntaxProblem("no space is allowed between `<<` and the kind", 2, kind_tok.start_pos))
    args = tuple(_arg(text, t) for t in tree.children[2:-1] if isinstance(t, Tree))
    previous_end = kind_tok.end_pos
    for arg in args:
        if arg.start == previous_end:
            raise _Bad(SyntaxProblem("arguments must be separated by white space", arg.start, arg.end))
        previous_end = arg.end
    kind = text[kind_tok.start_pos : kind_tok.end_pos]
    return Annotation(kind, args, text, kind_tok.start_pos, kind_tok.end_pos)


def _arg(text: str, t: Tree) -> Arg:
    if t.data == "keyword":
        key_tok, value_tree = t.children
        value = _value(text, value_tree)
        key = text[key_tok.start_pos : key_tok.end_pos]
        return Arg(key, value, key_tok.start_pos, value.end, key_tok.end_pos)
    value = _value(text, t.children[0])
    return Arg(None, value, value.start, value.end, value.start)


def _value(text: str, t: Tree) -> Value:
    if t.data == "ratio":
        left, right = (_value(text, c) for c in t.children)
        return Value("ratio", text[left.start : right.end], left.start, right.end, parts=(left, right))
    tok = t.children[0]
    assert isinstance(tok, Token)
    start, end = tok.start_pos, tok.end_pos
    raw = text[start:end]
    if t.data == "number":
        return Value("number", raw, start, end, number=_decimal(raw, start, end))
    if t.data == "percent":
        return Value("percent", raw, start, end, number=_decimal(raw[:-1], start, end))
    if t.data == "string":
        return Value("string", raw, start, end, text=_unescape(raw[1:-1]))
    if t.data == "date":
        return Value("date", raw, start, end, text=raw, date=_date(raw))
    if t.data == "factref":
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


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)
