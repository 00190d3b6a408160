"""The annotation inline rule: `<<KIND ...>>` as one `annotation` token.

Its own module so that markdown.py (which installs it) and fastinline.py (which checks that it
runs third, after `text` and `newline`) both import it, and neither the other.
"""

from __future__ import annotations

import re

from markdown_it.rules_inline import StateInline

from sitegen.annotations import ScanMemo, find_end

ANNOTATION = "annotation"


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
