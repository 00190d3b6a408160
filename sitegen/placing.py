"""Placing annotations: each annotation token of a parsed document at its file line and column,
with the prose before it (inline tokens carry no map: found through the block token's map and
the raw line)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import NamedTuple

from markdown_it.token import Token

from sitegen.annotation_rule import ANNOTATION
from sitegen.annotations import Annotation, SyntaxProblem, parse_annotation
from sitegen.prose import last_sentence


class Placed(NamedTuple):
    """An annotation found in the document, with where it is and the prose before it.

    (A NamedTuple, not a frozen dataclass: as immutable, and made four times faster.)"""

    token: Token
    parsed: Annotation | SyntaxProblem
    line: int  # 1-based
    column: int  # 1-based, in characters
    before: str  # the plain text between the previous annotation of its block and it
    raw: str

    @property
    def sentence(self) -> str:
        """The prose of its sentence before it (SPEC §3, prose agreement); worked out only for
        the kinds that check it."""
        return last_sentence(self.before)


def locate_annotations(tokens: Sequence[Token], lines: Sequence[str]) -> list[Placed]:
    """Every annotation of the document in reading order, placed in the file."""
    placed: list[Placed] = []
    row_ends: dict[int, int] = {}  # a table row's line -> the column where its last cell so far ends
    opener = None
    for block in tokens:
        if block.type != "inline" or block.children is None:
            opener = block if block.type != "inline" else opener
            continue
        cell = opener is not None and opener.type in ("th_open", "td_open")
        annotated = bool(block.children) and any(c.type == ANNOTATION for c in block.children)
        if cell:  # cells share their line: each is looked for after the one before it
            where = _BlockLines(block, lines, row_ends)
            where.base(0)
        if not annotated:
            continue
        if not cell:
            where = _BlockLines(block, lines)
        before = _text_before_annotations(block.children)
        annotations = [c for c in block.children if c.type == ANNOTATION]
        for child, text in zip(annotations, before, strict=True):
            line, column = where.place(child)
            raw = child.content
            parsed: Annotation | SyntaxProblem = (
                parse_annotation(raw) if child.meta.get("terminated") else _unterminated(child.meta)
            )
            placed.append(Placed(child, parsed, line, column, text, raw))
    return placed


def _unterminated(meta: dict) -> SyntaxProblem:
    if meta.get("in_string"):
        return SyntaxProblem(
            "unterminated annotation: a string in it is never closed (a `>>` in a string is text)",
            0,
            2,
            'close the string with `"`; write \\" for a quote inside it',
        )
    where = "before the next `<<`" if meta.get("before_next") else "on the same line"
    return SyntaxProblem(
        f"unterminated annotation: `<<` needs a closing `>>` {where}",
        0,
        2,
        r"write \<< for a literal `<<` in prose",
    )


class _BlockLines:
    """Maps offsets in a block's inline content to file lines and columns (each line measured once)."""

    def __init__(self, block: Token, lines: Sequence[str], row_ends: dict[int, int] | None = None) -> None:
        """`row_ends`: for a table cell, where the cells before it on its line end."""
        self.block, self.lines, self.row_ends = block, lines, row_ends
        self.starts = [0, *(m.end() for m in _NEWLINE.finditer(block.content))]
        self.bases: dict[int, int] = {}  # content line -> column of its first character in the file
        self.unescaped_pipes = False  # a table cell whose `\|` markdown-it reads as `|`

    def base(self, k: int) -> int:
        """The column of content line `k`'s first character in its file line, or -1."""
        if k not in self.bases and self.block.map is not None:
            index = self.block.map[0] + k
            raw = self.lines[index] if index < len(self.lines) else ""
            end = self.starts[k + 1] - 1 if k + 1 < len(self.starts) else len(self.block.content)
            shown = self.block.content[self.starts[k] : end]
            if self.row_ends is None:
                self.bases[k] = len(raw) - len(shown) if raw.endswith(shown) else raw.find(shown)
            else:  # two cells may read the same: the first copy after the cell before is this one's
                written = shown
                found = raw.find(shown, self.row_ends.get(index, 0))
                if found < 0 and "|" in shown:  # a cell's `\|` reads `|`
                    written = shown.replace("|", "\\|")
                    found = raw.find(written, self.row_ends.get(index, 0))
                    self.unescaped_pipes = written != shown and found >= 0
                self.bases[k] = found
                if found >= 0:
                    self.row_ends[index] = found + len(written)
        return self.bases.get(k, -1)

    def place(self, child: Token) -> tuple[int, int]:
        offset = child.meta["offset"]
        if self.block.map is None:
            return _search(self.lines, child.content)
        k = bisect.bisect_right(self.starts, offset) - 1
        index = self.block.map[0] + k
        raw = self.lines[index] if index < len(self.lines) else ""
        base = self.base(k)
        if base < 0:
            column = raw.find(child.content)
            return (index + 1, column + 1) if column >= 0 else _search(self.lines, child.content)
        column = base + (offset - self.starts[k]) + 1
        if self.unescaped_pipes:  # each `|` before it was written `\|`
            column += self.block.content.count("|", self.starts[k], offset)
        return index + 1, column


_NEWLINE = re.compile("\n")


def _search(lines: Sequence[str], needle: str) -> tuple[int, int]:
    for number, line in enumerate(lines, 1):
        column = line.find(needle)
        if column >= 0:
            return number, column + 1
    return 1, 1


def _text_before_annotations(children: Sequence[Token]) -> list[str]:
    """For each annotation child, the plain text between the previous annotation and it."""
    out: list[str] = []
    buffer: list[str] = []
    for child in children:
        if child.type == ANNOTATION:
            out.append("".join(buffer))
            if child.meta.get("terminated", True):  # a bare `<<` (SG101) ends no sentence
                buffer = []
        elif child.type in ("text", "code_inline"):
            buffer.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            buffer.append("\n")
        elif child.type == "image":  # its alt text, as the alt attribute shows it
            alt = child.children or ()
            buffer.append("".join(c.content for c in alt if c.type in ("text", "code_inline")))
    return out
