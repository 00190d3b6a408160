"""The markdown-it-py parser shared by checking and rendering, with the annotation inline rule.

Annotations are an inline rule placed ahead of the escape, autolink and raw-HTML rules,
so `<<` is only ever seen in prose: code spans, code blocks and raw HTML consume their
text before this rule could see it.  Positions are not known inside the inline rule
(inline tokens carry no map), so `locate_annotations` maps every annotation back to
its file line and column afterwards, through the block token's map and the raw line.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core.normalize import normalize
from markdown_it.rules_core.text_join import text_join
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.anchors.index import slugify as heading_slug
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from sitegen.annotations import Annotation, ScanMemo, SyntaxProblem, find_end, parse_annotation
from sitegen.fastblock import fast_paragraph_plugin
from sitegen.fastinline import fast_inline
from sitegen.prose import last_sentence

ANNOTATION = "annotation"

# markdown-it's commonmark preset: its parser recurses into each list and block quote
MAX_NESTING = 20


def annotation_rule(state: StateInline, silent: bool) -> bool:
    """`<<KIND ...>>` becomes one `annotation` token; `\\<<` becomes a literal `<<`."""
    src, pos = state.src, state.pos
    if src.startswith("\\<<", pos):
        if not silent:
            state.push("text", "", 0).content = "<<"
        state.pos += 3
        return True
    if not src.startswith("<<", pos):
        return False
    memo = state.env.get("sg_scan")
    if memo is None:
        memo = state.env["sg_scan"] = ScanMemo()
    end = find_end(src, pos, memo)
    # An unterminated `<<` is consumed on its own, so that it is reported (SG101)
    # instead of being taken as the start of a raw HTML tag.
    stop = end if end is not None and end <= state.posMax else pos + 2
    if _in_raw_code(state):  # `<code>x << 2</code>`: raw HTML, written to be shown as it is
        if not silent:
            state.push("text", "", 0).content = src[pos:stop]
        state.pos = stop
        return True
    if not silent:
        token = state.push(ANNOTATION, "", 0)
        terminated = end is not None and stop == end
        meta: dict = {"offset": pos, "terminated": terminated}
        if terminated:
            token.content = src[pos:stop]
        else:
            # a little context only: a line of 50,000 `<` must stay linear
            line_end = _line_end(src, pos)
            token.content = src[pos : min(line_end, pos + 80)]
            # the search for `>>` stopped at another `<<` outside a string, not at the line's end
            meta["before_next"] = end is None and src.startswith("<<", memo.stopped)
            meta["in_string"] = end is None and memo.in_string
        token.meta = meta
    state.pos = stop
    return True


_RAW_CODE_TAG = re.compile(r"<(/?)(?:code|kbd|samp|pre|script|style|textarea)[\s/>]", re.IGNORECASE)


def _in_raw_code(state: StateInline) -> bool:
    """Whether the inline HTML so far leaves an element such as `<code>` open (SPEC §2: `<<`
    in raw HTML is not parsed).  The tokens are looked at once each, whatever the number of
    annotations in the block: where the last look stopped is kept on the state."""
    tokens = state.tokens
    seen, inside = getattr(state, "sg_raw_code", (0, False))
    for token in tokens[seen:]:
        if token.type == "html_inline" and (tag := _RAW_CODE_TAG.match(token.content)):
            inside = not tag.group(1)
    state.sg_raw_code = (len(tokens), inside)  # type: ignore[attr-defined]
    return inside


def _line_end(src: str, pos: int) -> int:
    end = src.find("\n", pos)
    return len(src) if end < 0 else end


def _normalize(state) -> None:
    """markdown-it's `normalize` core rule, skipped when it would change nothing: its regex
    rewrites every line end, `\n` included, which costs a pass over each article."""
    if "\r" in state.src or "\0" in state.src:
        normalize(state)


def annotation_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("escape", ANNOTATION, annotation_rule)
    md.core.ruler.at("inline", _inline_where_wanted)


ONLY_ANNOTATED = "sitegen_only_annotated"


def _inline_where_wanted(state) -> None:
    """markdown-it's inline stage; when only checking, blocks without `<<` are left unparsed."""
    only_annotated = state.env.get(ONLY_ANNOTATED, False)
    # the blocks fast_inline parsed, for _text_join; by id, and held, so no id is reused meanwhile
    state.sg_plain = plain = {}
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type == "inline":
            if token.children is None:
                token.children = []
            # Footnote references must be parsed too: an unreferenced definition is dropped.
            if only_annotated and "<<" not in token.content and "[^" not in token.content:
                continue
            # Plain prose gets the same tokens without markdown-it's rule loop (see sitegen.fastinline).
            # a paragraph's soft breaks are folded into its text (only headings need them apart)
            paragraph = index > 0 and tokens[index - 1].type == "paragraph_open"
            if fast_inline(token.content, state.md, state.env, token.children, join_lines=paragraph):
                plain[id(token)] = token
            else:
                state.md.inline.parse(token.content, state.md, state.env, token.children)
                if "<<" in token.content or "^" in token.content:
                    if "![" in token.content:
                        _hoist_from_images(token)
                    _hoist_from_link_ends(token)


def _hoist_from_images(block: Token) -> None:
    """Annotations and footnote references written in an image's alt text, moved to just
    after the image.

    markdown-it parses alt text into the image's own children, which the alt attribute
    flattens to text: an annotation there would be neither placed, checked nor shown, and a
    note referred to there would be listed with no marker pointing to it.  After the image
    each is shown, its marker after the picture as after a link.  An annotation's offset,
    relative to the alt text, becomes one in the block's content like every other's."""
    children: list[Token] = []
    searched_to = 0  # two images may have the same alt text: each is looked for after the one before
    for child in block.children or ():
        children.append(child)
        if child.type == "image":
            taken, searched_to = _annotations_of_image(child, block.content, searched_to)
            children += taken
    block.children = children


_MARKERS = (ANNOTATION, "footnote_ref")


def _hoist_from_link_ends(block: Token) -> None:
    """The markers ending a link's text, moved to just after the link, with the white space
    before them: `[the 178 seats <<seats ...>>](u)` reads `<a>the 178 seats</a> <sup>`, not
    `<a>the 178 seats </a><sup>` with the link's underline running on under the space; the
    same for a raw-HTML `</a>`.  (A marker anywhere else in link text is deferred to after the
    link when it is rendered.)"""
    children = block.children or []
    if not any(_closes_link(child) for child in children):
        return
    out: list[Token] = []
    for child in children:
        if _closes_link(child):
            run = _trailing_markers(out)
            out.append(child)
            out += run
        else:
            out.append(child)
    block.children = out


RAW_LINK_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)


def _closes_link(token: Token) -> bool:
    return token.type == "link_close" or (
        token.type == "html_inline" and bool(RAW_LINK_CLOSE.match(token.content))
    )


def _trailing_markers(tokens: list[Token]) -> list[Token]:
    """Takes off the end of `tokens` the markers there and the white space around them (the
    space as one text token first), from inside the emphasis that ends there too; [] when no
    marker ends them."""
    start = len(tokens)
    while start and (
        tokens[start - 1].type in _MARKERS
        or tokens[start - 1].type in _CLOSING_INLINE
        or (tokens[start - 1].type == "text" and not tokens[start - 1].content.strip())
    ):
        start -= 1
    tail = tokens[start:]
    run = [token for token in tail if token.type not in _CLOSING_INLINE]
    if not any(token.type in _MARKERS for token in run):
        return []
    tokens[start:] = [token for token in tail if token.type in _CLOSING_INLINE]
    space = ""
    before = start - 1  # the text the markers followed, inside the emphasis
    if before >= 0 and tokens[before].type == "text":
        text = tokens[before]
        kept = text.content.rstrip()
        space, text.content = text.content[len(kept) :], kept
    while run and run[0].type == "text":  # white space before the first marker
        space += run.pop(0).content
    if space:
        gap = Token("text", "", 0)
        gap.content = space
        run.insert(0, gap)
    return run


_CLOSING_INLINE = frozenset({"em_close", "strong_close", "s_close"})


def _annotations_of_image(image: Token, content: str, search_from: int) -> tuple[list[Token], int]:
    """The annotations and note references taken out of an image's alt text (and of images in
    it), and where in `content` its label ends, for the next image to be looked for from."""
    found = content.find("![" + image.content, search_from)
    label_start = found + 2 if found >= 0 else search_from
    taken: list[Token] = []
    kept: list[Token] = []
    inner = label_start
    for child in image.children or ():
        if child.type == ANNOTATION:
            child.meta["offset"] = label_start + child.meta["offset"]
            taken.append(child)
        elif child.type == "footnote_ref":
            taken.append(child)
        else:
            kept.append(child)
            if child.type == "image":  # an image in alt text: its annotations come out too
                more, inner = _annotations_of_image(child, content, inner)
                taken += more
    image.children = kept
    return taken, (label_start + len(image.content) if found >= 0 else search_from)


def _text_join(state) -> None:
    """markdown-it's `text_join`, but not over the blocks `fast_inline` parsed: their children
    are text, breaks and annotations, never a `text_special` nor two texts in a row, so it
    would change nothing there (tests/test_fastinline.py compares every parse with upstream's)."""
    plain = getattr(state, "sg_plain", {})
    tokens = state.tokens
    joined = [t for t in tokens if t.type != "inline" or id(t) not in plain]
    if len(joined) == len(tokens):
        text_join(state)
        return
    state.tokens = joined
    try:
        text_join(state)
    finally:
        state.tokens = tokens


@functools.cache
def markdown() -> MarkdownIt:
    """CommonMark + tables + strikethrough, front matter, footnotes, heading anchors, annotations."""
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING}).enable(
        ["table", "strikethrough"]
    )
    md.use(front_matter_plugin)
    md.use(footnote_plugin)
    md.use(seen_footnotes_plugin)
    md.use(anchors_plugin, min_level=2, max_level=3, permalink=False, slug_func=heading_id)
    md.use(annotation_plugin)
    md.use(fast_paragraph_plugin)
    md.use(nesting_plugin)  # after the fast plugin, whose tokenize it wraps
    md.core.ruler.at("normalize", _normalize)
    if _is_rule(md.core.ruler, "text_join", text_join):
        md.core.ruler.at("text_join", _text_join)
    return md


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


# env key: the first line (0-based) of content markdown-it leaves unread for being nested too deep
TOO_DEEP = "sitegen_too_deep"


def nesting_plugin(md: MarkdownIt) -> None:
    """markdown-it drops, without a word, whatever is nested deeper than `maxNesting` (lists,
    block quotes): where it starts is noted in env, so that the loss is an error, not an
    article published with its end, and its figures, missing and unchecked."""
    tokenize = md.block.tokenize

    @functools.wraps(tokenize)
    def noting_depth(state: StateBlock, startLine: int, endLine: int) -> None:
        if state.level >= state.md.options.maxNesting:
            line = state.skipEmptyLines(startLine)
            if line < endLine and state.sCount[line] >= state.blkIndent:
                state.env.setdefault(TOO_DEEP, line)
        tokenize(state, startLine, endLine)

    md.block.tokenize = noting_depth


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


# Ids the page templates give their own elements, and the ids of markers and notes: a heading
# named "Main", "Notes heading" or "Fn 1" must not take one (nor may numbering a second "Fn").
_PAGE_IDS = re.compile(
    r"main|notes-heading|citing-heading|text-heading|sitegen-overlay|(?:fn|fnref)(?:-\d+)*"
)


def heading_id(title: str) -> str:
    """The anchors plugin's GitHub-style slug of a heading, kept clear of the page's own ids."""
    slug = heading_slug(title.strip())  # "Head <<fact ...>>": the space before a fact is no part of it
    if not slug:
        return "section"  # a heading of punctuation only: an empty id is not valid HTML
    return f"h-{slug}" if _PAGE_IDS.fullmatch(slug) else slug


def _is_rule(ruler, name: str, fn) -> bool:  # type: ignore[no-untyped-def]
    return any(rule.name == name and rule.fn is fn for rule in ruler.__rules__)


def parse(text: str, env: dict | None = None, *, for_render: bool = True) -> list[Token]:
    """Tokens of a whole document; `for_render=False` parses inline only what holds annotations."""
    env = env if env is not None else {}
    env[ONLY_ANNOTATED] = not for_render
    return markdown().parse(text, env)


# ------------------------------------------------------------ placing tokens


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
        if block.type != "inline":
            opener = block
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
