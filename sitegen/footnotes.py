"""Footnotes as a reader reaches them: the notes nothing refers to, the notes referred to only
from those, and the `[^label]`s no note defines, noted in env for the checks (SG503)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import SimpleNamespace

from markdown_it import MarkdownIt, helpers
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from sitegen.annotation_rule import ANNOTATION


def seen_footnotes_plugin(md: MarkdownIt) -> None:
    md.core.ruler.before("footnote_tail", "sitegen_unreferenced_notes", _note_unreferenced)
    md.core.ruler.after("footnote_tail", "sitegen_seen_footnotes", _drop_unseen_footnotes)
    md.core.ruler.push("sitegen_undefined_notes", _note_undefined_references)


# env keys: the footnotes a slip in a label cuts off (SG503).  LOST_NOTES: (label, first line,
# 0-based, whether notes refer to it) of each note that holds annotations but that no reader
# can reach (nothing refers to it, or only notes no reader can reach), so that neither
# the note nor its checks are published; UNDEFINED_NOTES: (label, first and end line of the
# block) of each `[^label]` that no note defines, printed as written.
LOST_NOTES = "sitegen_lost_notes"
UNDEFINED_NOTES = "sitegen_undefined_notes"


def _holds_annotations(tokens: Sequence[Token]) -> bool:
    return any(t.type == "inline" and any(c.type == ANNOTATION for c in t.children or ()) for t in tokens)


def _note_unreferenced(state) -> None:
    """Before markdown-it's footnote_tail drops them: the notes nothing refers to."""
    notes = state.env.get("footnotes")
    if not notes or not notes.get("refs"):
        return
    referenced = {entry.get("label") for entry in notes.get("list", {}).values()}
    opened = None
    for index, token in enumerate(state.tokens):
        if token.type == "footnote_reference_open":
            opened = index
        elif token.type == "footnote_reference_close" and opened is not None:
            label = state.tokens[opened].meta["label"]
            if label not in referenced and _holds_annotations(state.tokens[opened:index]):
                line = state.tokens[opened].map[0] if state.tokens[opened].map else 0
                state.env.setdefault(LOST_NOTES, []).append((label, line, False))
            opened = None


def _note_undefined_references(state) -> None:
    refs = state.env.get("footnotes", {}).get("refs", {})
    for token in state.tokens:
        if token.type != "inline" or "[^" not in token.content or not token.map:
            continue
        for match in _NOTE_REFERENCE.finditer(token.content):
            label = match.group(1)
            written = any(c.type == "text" and match.group() in c.content for c in token.children or ())
            if ":" + label not in refs and written:  # in a code span it is code, not a slip
                state.env.setdefault(UNDEFINED_NOTES, []).append((label, token.map[0], token.map[1]))


_NOTE_REFERENCE = re.compile(r"(?<!\\)\[\^([^\]\s]+)\](?!:)")  # `\[^x]` is written to be text


def _drop_unseen_footnotes(state) -> None:
    """Only the notes a reader can reach from the text: markdown-it lists every note referred to
    anywhere, also only from a note it does not list (one nothing refers to), whose reference
    is then nowhere on the page.  Dropped here, before checking, its annotations are neither
    checked, counted nor published, as an unreferenced note's are."""
    if not state.env.get("footnotes", {}).get("list"):  # footnote_tail's own test: no notes at all
        return
    tokens = state.tokens
    start = next((i for i, t in enumerate(tokens) if t.type == "footnote_block_open"), None)
    if start is None:
        return
    spans: dict[int, tuple[int, int]] = {}  # a note's id -> its footnote_open and footnote_close
    for index in range(start, len(tokens)):
        if tokens[index].type == "footnote_open":
            opened = index
        elif tokens[index].type == "footnote_close":
            spans[tokens[opened].meta["id"]] = (opened, index)
    seen: set[int] = set()
    waiting = _refs_in(tokens[:start])
    while waiting:
        note = waiting.pop()
        if note in spans and note not in seen:
            seen.add(note)
            waiting += _refs_in(tokens[spans[note][0] : spans[note][1]])
    if len(seen) == len(spans):
        return
    for note, (first, last) in spans.items():  # referred to only from notes no one refers to
        if note not in seen and _holds_annotations(tokens[first:last]):
            line = next((t.map[0] for t in tokens[first:last] if t.map), 0)
            state.env.setdefault(LOST_NOTES, []).append((tokens[first].meta.get("label") or "?", line, True))
    state.tokens = tokens[:start]
    if seen:
        ends = next(i for i in range(len(tokens) - 1, start, -1) if tokens[i].type == "footnote_block_close")
        kept = sorted(seen, key=lambda n: spans[n][0])
        notes = [token for note in kept for token in tokens[spans[note][0] : spans[note][1] + 1]]
        state.tokens += [tokens[start], *notes, *tokens[ends:]]


def _refs_in(tokens: Sequence[Token]) -> list[int]:
    return [
        child.meta["id"]
        for token in tokens
        if token.type == "inline"
        for child in token.children or ()
        if child.type == "footnote_ref"
    ]


def references_in_link_text_plugin(md: MarkdownIt) -> None:
    """`[report[^x]](u)` is a link whose text holds a footnote reference.

    markdown-it's link rule reads the link text with `parseLinkLabel(..., disableNested=True)`,
    which gives up at any `[` that another rule takes whole, so that a link cannot hold a link;
    the footnote rule takes `[^x]` whole, and the link was lost, printed as written.  A
    reference is no link: this instance's `parseLinkLabel` lets it through and still refuses
    anything else.  The renderer then puts its marker after the link, as an annotation's."""
    md.helpers = SimpleNamespace(  # type: ignore[assignment]  # this instance's own: the module is shared
        parseLinkDestination=helpers.parseLinkDestination,
        parseLinkTitle=helpers.parseLinkTitle,
        parseLinkLabel=_label_with_references,
    )


_REFERENCE = re.compile(r"\[\^[^\s\]]+\]")


def _label_with_references(state: StateInline, start: int, disableNested: bool = False) -> int:
    """upstream's `parseLinkLabel` (markdown-it-py 4.3.0), but for the footnote references."""
    labelEnd = -1
    oldPos = state.pos
    found = False
    state.pos = start + 1
    level = 1
    while state.pos < state.posMax:
        marker = state.src[state.pos]
        if marker == "]":
            level -= 1
            if level == 0:
                found = True
                break
        prevPos = state.pos
        state.md.inline.skipToken(state)
        if marker == "[":
            if prevPos == state.pos - 1:
                level += 1  # a `[` of the text, not the start of a token
            elif disableNested and not _is_reference(state, prevPos):
                state.pos = oldPos
                return -1
    if found:
        labelEnd = state.pos
    state.pos = oldPos
    return labelEnd


def _is_reference(state: StateInline, start: int) -> bool:
    """Whether what the inline rules took whole from `start` to `state.pos` is a footnote
    reference to a note the document defines (nothing else is written `[^label]`)."""
    match = _REFERENCE.fullmatch(state.src, start, state.pos)
    refs = (state.env.get("footnotes") or {}).get("refs") or {}
    return match is not None and f":{state.src[start + 2 : state.pos - 1]}" in refs
