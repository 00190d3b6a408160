"""Article body HTML: annotation markers and Markdown footnotes share one numbering (SPEC §5)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from markupsafe import Markup, escape

from sitegen.annotation_rule import ANNOTATION
from sitegen.checks import CheckResult
from sitegen.markdown import RAW_LINK_CLOSE, markdown
from sitegen.placing import Placed


@dataclass
class Note:
    """One item of the article's footnote list."""

    number: int
    result: CheckResult | None = None  # an annotation's check
    html: Markup | None = None  # a Markdown footnote's text
    refs: list[str] = field(default_factory=list)  # ids of the markers pointing here


@dataclass
class RenderedBody:
    html: Markup
    notes: list[Note]


def render_body(
    tokens: list[Token], env: dict, placed: Sequence[Placed], results: Sequence[CheckResult]
) -> RenderedBody:
    """Body HTML and its notes. Tokens are annotated in place (numbers, dropped spaces)."""
    md = _renderer()
    by_token = {id(p.token): r for p, r in zip(placed, results, strict=True)}
    main, tail = _split_tail(tokens)
    notes = _number(main + tail, by_token)
    html = md.renderer.render(main, md.options, {**env, "sg_links": []})
    _attach_footnote_texts(tail, notes, md, env)
    return RenderedBody(Markup(html), sorted(notes.values(), key=lambda n: n.number))


def _split_tail(tokens: list[Token]) -> tuple[list[Token], list[Token]]:
    for index, token in enumerate(tokens):
        if token.type == "footnote_block_open":
            return tokens[:index], tokens[index:]
    return tokens, []


def _number(tokens: list[Token], by_token: dict[int, CheckResult]) -> dict[str, Note]:
    """Number markers in reading order; a footnote referenced twice keeps its first number."""
    notes: dict[str, Note] = {}
    for position, block in enumerate(tokens):
        children = block.children or []
        for index, child in enumerate(children):
            if child.type == ANNOTATION:
                _number_annotation(children, index, by_token, notes)
            elif child.type == "footnote_ref":
                key = f"footnote:{child.meta['id']}"
                note = notes.get(key) or notes.setdefault(key, Note(len(notes) + 1))
                ref_id = f"fnref-{note.number}" + (f"-{len(note.refs) + 1}" if note.refs else "")
                note.refs.append(ref_id)
                child.meta["sg_number"], child.meta["sg_ref"] = note.number, ref_id
        if block.children and _renders_nothing(block.children):
            _hide_paragraph(tokens, position)
    return notes


def _renders_nothing(children: list[Token]) -> bool:
    """Only `fact`s (and the white space between them): their paragraph would be `<p></p>`."""
    return all(
        (child.type == ANNOTATION and child.meta.get("sg_number") is None and "sg_number" in child.meta)
        or child.type == "softbreak"
        or (child.type == "text" and not child.content.strip())
        for child in children
    )


def _hide_paragraph(tokens: list[Token], position: int) -> None:
    if 0 < position < len(tokens) - 1 and tokens[position - 1].type == "paragraph_open":
        tokens[position - 1].hidden = tokens[position + 1].hidden = True


def _number_annotation(
    children: list[Token], index: int, by_token: dict[int, CheckResult], notes: dict[str, Note]
) -> None:
    child = children[index]
    result = by_token.get(id(child))
    if result is None or not result.renders:
        # A `fact` renders nothing, not even the space before it; at the start of a line,
        # where there is none, not the space after it either: `<<fact x=1>> Text` is `<p>Text`.
        if index and children[index - 1].type == "text":
            children[index - 1].content = children[index - 1].content.rstrip(" \t")
        if _starts_line(children, index) and index + 1 < len(children) and children[index + 1].type == "text":
            children[index + 1].content = children[index + 1].content.lstrip(" \t")
        child.meta["sg_number"] = None
        return
    note = Note(len(notes) + 1, result=result)
    note.refs.append(f"fnref-{note.number}")
    notes[f"annotation:{id(child)}"] = note
    child.meta["sg_number"], child.meta["sg_result"] = note.number, result


def _starts_line(children: list[Token], index: int) -> bool:
    """Whether nothing but facts and white space comes before children[index] on its line."""
    for child in reversed(children[:index]):
        if child.type in ("softbreak", "hardbreak"):
            return True
        if child.type == "text":
            rest = child.content.rstrip(" \t")
            if not rest:
                continue
            return rest.endswith("\n")  # a text may carry the line break it ends with
        if not (child.type == ANNOTATION and child.meta.get("sg_number", 0) is None):
            return False
    return True


def _attach_footnote_texts(tail: list[Token], notes: dict[str, Note], md, env: dict) -> None:
    current: list[Token] = []
    note_id = None
    for token in tail:
        if token.type == "footnote_open":
            note_id, current = token.meta["id"], []
        elif token.type == "footnote_close":
            note = notes.get(f"footnote:{note_id}")
            if note is not None:
                note.html = Markup(md.renderer.render(current, md.options, {**env, "sg_links": []}))
        elif token.type not in ("footnote_anchor", "footnote_block_open", "footnote_block_close"):
            current.append(token)


# ------------------------------------------------------------ render rules


def marker_html(number: int, kind: str, status: str) -> str:
    return (
        f'<sup class="fc fc-{escape(kind)} fc-{escape(status)}">'
        f'<a href="#fn-{number}" id="fnref-{number}">{number}</a></sup>'
    )


def _render_annotation(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    token = tokens[idx]
    number = token.meta.get("sg_number")
    if number is None:
        if token.meta.get("sg_result") is None and "sg_number" not in token.meta:
            return str(escape(token.content))  # not checked (never happens in a build)
        return ""
    result: CheckResult = token.meta["sg_result"]
    html = marker_html(number, result.kind, result.status)
    if env.get("sg_links"):
        env["sg_links"][-1].append(html)  # never nest a marker inside a link: emit it after
        return ""
    return html


def _render_footnote_ref(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    meta = tokens[idx].meta
    number, ref = meta.get("sg_number"), meta.get("sg_ref")
    html = f'<sup class="footnote-ref"><a href="#fn-{number}" id="{ref}">{number}</a></sup>'
    if env.get("sg_links"):
        env["sg_links"][-1].append(html)
        return ""
    return html


class _RawLink(list):
    """The markers deferred inside a raw-HTML `<a>`: only a raw `</a>` closes it."""


_RAW_A_OPEN = re.compile(r"<a[\s>/]", re.IGNORECASE)


def _render_html_inline(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    """Raw HTML as written; a raw `<a>` defers the markers inside it to after its `</a>`, as a
    Markdown link does (a marker's own link must not sit inside another)."""
    html = tokens[idx].content
    if _RAW_A_OPEN.match(html):
        env.setdefault("sg_links", []).append(_RawLink())
    elif RAW_LINK_CLOSE.match(html):
        links = env.get("sg_links")
        if links and isinstance(links[-1], _RawLink):
            return html + "".join(links.pop())
    return html


class _Unnamed(list):
    """The markers deferred from a link whose text is nothing but markers: it is named by its
    address instead, as an empty link would be a link no reader, nor screen reader, can use."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def _render_link_open(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    deferred = _Unnamed(str(tokens[idx].attrGet("href") or "")) if _only_markers(tokens, idx) else []
    env.setdefault("sg_links", []).append(deferred)
    return self.renderToken(tokens, idx, options, env)


def _only_markers(tokens: list[Token], idx: int) -> bool:
    """Whether link text holds nothing but annotations, footnote references and white space."""
    for token in tokens[idx + 1 :]:
        if token.type == "link_close":
            return True
        if token.type in (ANNOTATION, "footnote_ref", "softbreak"):
            continue
        if token.type != "text" or token.content.strip():
            return False
    return True


def _render_link_close(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    deferred = env["sg_links"].pop() if env.get("sg_links") else []
    # named as a reader would type the address: markdown-it has percent-encoded what is not ASCII
    name = escapeHtml(unquote(deferred.name, errors="replace")) if isinstance(deferred, _Unnamed) else ""
    return name + self.renderToken(tokens, idx, options, env) + "".join(deferred)


@functools.cache
def _renderer():
    md = markdown()
    md.add_render_rule(ANNOTATION, _render_annotation)
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    md.add_render_rule("html_inline", _render_html_inline)
    md.renderer.renderInline = _plain_text_inline(md.renderer)  # type: ignore[method-assign]
    return md


def _plain_text_inline(renderer: RendererHTML) -> Callable[[Sequence[Token], OptionsDict, dict], str]:
    """`renderInline` with the stock `text` and `softbreak` rules written out.

    Prose is mostly those two tokens, and upstream spends more on finding and calling each
    one's rule than on the rule itself.  What they return is written exactly as the stock
    rules (markdown-it-py 4.3.0) write it; with any other rule for either, upstream runs."""
    upstream = renderer.renderInline

    def render_inline(tokens: Sequence[Token], options: OptionsDict, env: dict) -> str:
        rules = renderer.rules
        if not (_is_stock(rules, "text") and _is_stock(rules, "softbreak")):
            return upstream(tokens, options, env)
        links = env.get("sg_links")
        depth = len(links) if links is not None else 0
        soft = ("<br />\n" if options.xhtmlOut else "<br>\n") if options.breaks else "\n"
        out = []
        for index, token in enumerate(tokens):
            kind = token.type
            if kind == "text":
                out.append(escapeHtml(token.content))
            elif kind == "softbreak":
                out.append(soft)
            elif kind in rules:
                out.append(rules[kind](tokens, index, options, env))
            else:
                out.append(renderer.renderToken(tokens, index, options, env))
        links = env.get("sg_links")
        while links and len(links) > depth:  # a raw `<a>` never closed here: its markers end the text
            out.append("".join(links.pop()))
        return "".join(out)

    return render_inline


def _is_stock(rules: dict, name: str) -> bool:
    return getattr(rules.get(name), "__func__", None) is getattr(RendererHTML, name)
