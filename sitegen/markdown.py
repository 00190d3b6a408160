"""The markdown-it-py parser shared by checking and rendering, with the annotation inline rule.

Annotations are an inline rule placed ahead of the escape, autolink and raw-HTML rules,
so `<<` is only ever seen in prose: code spans, code blocks and raw HTML consume their
text before this rule could see it.  Positions are not known inside the inline rule
(inline tokens carry no map), so `locate_annotations` maps every annotation back to
its file line and column afterwards, through the block token's map and the raw line
(sitegen.placing).  The rule itself is in sitegen.annotation_rule, the footnote plugins in
sitegen.footnotes.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core.normalize import normalize
from markdown_it.rules_core.text_join import text_join
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.anchors.index import slugify as heading_slug
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from sitegen.annotation_rule import ANNOTATION, annotation_rule
from sitegen.fastblock import fast_paragraph_plugin
from sitegen.fastinline import fast_inline
from sitegen.footnotes import references_in_link_text_plugin, seen_footnotes_plugin

# markdown-it's commonmark preset: its parser recurses into each list and block quote
MAX_NESTING = 20


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
    md.use(references_in_link_text_plugin)
    md.use(anchors_plugin, min_level=2, max_level=3, permalink=False, slug_func=heading_id)
    md.use(annotation_plugin)
    md.use(fast_paragraph_plugin)
    md.use(nesting_plugin)  # after the fast plugin, whose tokenize it wraps
    md.core.ruler.at("normalize", _normalize)
    if _is_rule(md.core.ruler, "text_join", text_join):
        md.core.ruler.at("text_join", _text_join)
    return md


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

    md.block.tokenize = noting_depth  # type: ignore[method-assign]


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
