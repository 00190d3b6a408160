"""A faster inline stage for plain prose, with the tokens markdown-it-py would have made.

For a prose paragraph, markdown-it's inline stage spends its time in general machinery:
the `tokenize` loop asking rules, `text` filling `state.pending` piece by piece, `newline`
and `push` flushing it, and the `ruler2` passes walking every token again.  When only
`text`, `newline` and the annotation rule can act on a paragraph, `fast_inline` makes the
same tokens directly: one text token per run of text, the line breaks as `newline` makes
them, and the real annotation rule at each `<<`.

That holds when the text contains no character another rule starts with, and every `<`
belongs to a `<<`.

With `join_lines` (for a paragraph's prose, whose tokens are only rendered and read as text)
each soft line break is folded into the text around it: `a`, softbreak, `b` becomes the one
text `a\nb`.  The stock renderer writes exactly the same HTML for both (a soft break is `\n`
without the `breaks` option, and escaping works character by character), and the text read
before an annotation is the same; a paragraph of ten lines then makes one text token instead
of nineteen.  Hard breaks stay tokens.  A heading's text is not joined: the anchors plugin
makes its id from the text tokens alone.

Like fastblock, the gate is derived only from rule functions whose source was checked
(markdown-it-py 4.3.0, mdit-py-plugins 0.7.0); any other inline or `ruler2` rule turns the
fast path off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.rules_inline import (
    StateInline,
    autolink,
    backtick,
    emphasis,
    entity,
    escape,
    fragments_join,
    html_inline,
    image,
    link,
    link_pairs,
    newline,
    strikethrough,
    text,
)
from markdown_it.token import Token

from sitegen.annotation_rule import annotation_rule

RuleFn = Callable[[StateInline, bool], bool]
PostFn = Callable[[StateInline], None]

# For each verified rule after the three handled ones: the characters it looks at first.
# At any other character it returns False without a token.  Rules that need a second
# character (`![`, `^[`, `[^`, `&name;`) are listed under their first one: a conservative gate.
_STARTS: list[tuple[object, str]] = [
    (escape, "\\"),
    (backtick, "`"),
    (strikethrough.tokenize, "~"),
    (emphasis.tokenize, "*_"),
    (link, "["),
    (image, "!"),
    (autolink, "<"),  # at a `<<` the annotation rule acts first; any other `<` is gated (_ODD_RUN)
    (html_inline, "<"),
    (entity, "&"),
]

try:  # mdit-py-plugins is optional for this module: unknown rules just disable the fast path
    from mdit_py_plugins.footnote.index import footnote_inline, footnote_ref
except ImportError:  # pragma: no cover
    pass
else:
    _STARTS.append((footnote_inline, "^"))
    # Before looking at its character it does `env.setdefault("footnotes", ...)`: see `_tokenize`.
    _STARTS.append((footnote_ref, "["))

# `ruler2` rules that change nothing without delimiters (only the emphasis and strikethrough
# rules make them), without opening or closing tokens, and without two text tokens in a row:
# none of which the fast path makes (the annotation rule's text token, for `\<<`, is gated).
_IDLE_POST: list[object] = [link_pairs, strikethrough.postProcess, emphasis.postProcess, fragments_join]

# A run of `<` of odd length (matched at its first `<`): one of them would be reached alone.
_ODD_RUN = re.compile("<(?<!<<)(?:<<)*(?!<)")
_STOP = re.compile("[\n<]")


@dataclass(frozen=True, slots=True)
class _Plan:
    """The fast path for one set of rule chains and terminators; `blocked=None`: never taken."""

    # What it was made for: the Ruler makes new lists whenever its rules change.
    rules: list[RuleFn]
    post: list[PostFn]
    terminators: re.Pattern[str]
    blocked: re.Pattern[str] | None  # a character some other rule (or `\<<`) starts with


_plan_cache: _Plan | None = None  # replaced as a whole, so a parse in another thread sees one plan


def fast_inline(src: str, md: MarkdownIt, env: dict, out: list[Token], *, join_lines: bool = False) -> bool:
    """Append to `out` what `md.inline.parse(src, md, env, out)` would, if `src` is plain prose
    (with `join_lines`, soft breaks folded into the text: see the module's docstring).

    Returns False, having changed nothing, when some other inline rule could act on `src`,
    or when `out` is not empty (`fragments_join` would work on the tokens already there).
    """
    plan = _plan(md)
    if out or plan.blocked is None or md.options["maxNesting"] <= 0:
        return False  # (with maxNesting 0 tokenize tries no rule at all: all of src is text)
    if plan.blocked.search(src) or _ODD_RUN.search(src):
        return False
    _tokenize(StateInline(src, md, env, out), plan, join_lines and not md.options["breaks"])
    return True


def _plan(md: MarkdownIt) -> _Plan:
    global _plan_cache
    rules, post = md.inline.ruler.getRules(""), md.inline.ruler2.getRules("")
    terminators = md.inline.terminator_re
    plan = _plan_cache
    if plan is None or (plan.rules, plan.post, plan.terminators) != (rules, post, terminators):
        plan = _plan_cache = _make_plan(rules, post, terminators)
    return plan


def _make_plan(rules: list[RuleFn], post: list[PostFn], terminators: re.Pattern[str]) -> _Plan:
    # Only with these three first does no other rule run before the one acting at a newline or `<<`.
    first_three = (text, newline, annotation_rule)
    handled = len(rules) >= 3 and all(a is b for a, b in zip(rules[:3], first_three, strict=True))
    # `text` must stop at each newline and `<`, or it would take them into the text.
    stops = all(terminators.match(char) for char in "\n<")
    starts = [_starts_of(rule) for rule in rules[3:]]
    idle = all(any(rule is known for known in _IDLE_POST) for rule in post)
    if not (handled and stops and idle) or None in starts:
        return _Plan(rules, post, terminators, None)
    # The annotation rule also acts on `\<<`; a `<` is let through when in a `<<` (see _ODD_RUN).
    chars = "".join(sorted({"\\"}.union(*(s for s in starts if s is not None)) - {"<"}))
    return _Plan(rules, post, terminators, re.compile(f"[{re.escape(chars)}]"))


def _starts_of(rule: RuleFn) -> str | None:
    # footnote_plugin registers `partial(footnote_ref, always_match=...)`, new for each parser.
    fn = rule.func if isinstance(rule, partial) else rule
    # By identity: a rule replaced under the same name is not verified.
    return next((chars for known, chars in _STARTS if known is fn), None)


def _tokenize(state: StateInline, plan: _Plan, join_lines: bool = False) -> None:
    """Upstream's tokenize loop where only `text`, `newline` and the annotation rule act.

    Every `<` reached starts a `<<`: runs of `<` have even length, and a run is reached at
    its start, or two past a `<<` taken alone (an unterminated annotation); a terminated
    one ends after `>>`.

    At a terminator no rule acts on (`-`, `:`, `=`, ...) upstream asks every rule.  They all
    return False (the gate ensures it), but `footnote_ref` first puts `footnotes` into env
    when at least 3 characters are left.  That is all a failing verified rule changes, and
    doing it again changes nothing: so the rules are asked once, at the first such terminator
    (where the most characters are left), and not at all when env already holds all of it.
    """
    src, out, end = state.src, state.tokens, state.posMax
    annotation = plan.rules[2]
    # Until the rules have been asked, stop at every terminator.
    stops = _STOP if _footnotes_settled(state.env) else plan.terminators
    pos, pending = 0, ""
    while pos < end:
        found = stops.search(src, pos)
        stop = found.start() if found else end
        pending += src[pos:stop]
        if stop == end:
            break
        char = src[stop]
        if char == "\n":
            pos = _skip_spaces(src, stop + 1, end)
            if join_lines and not pending.endswith("  "):
                # a soft break, folded: the one space it drops, dropped; its `\n`, kept as text
                pending = pending.removesuffix(" ") + "\n"
                continue
            _push_break(out, pending)
        elif char == "<":
            _push_text(out, pending)
            state.pos = stop
            if not annotation(state, False) or state.pos <= stop:
                raise RuntimeError(f"fastinline: the annotation rule did not act at {stop} of {src!r}")
            pos = state.pos
        else:
            state.pos = stop
            _ask_every_rule(state, plan.rules)
            stops, pos = _STOP, stop
            continue
        pending = ""
    _push_text(out, pending)
    state.pos = end


_TOKEN_FIELDS = (
    "type", "tag", "nesting", "attrs", "map", "level", "children", "content", "markup", "info", "meta",
    "block", "hidden",
)  # fmt: skip
_new = object.__new__


def _fast_token(kind: str, tag: str, content: str, nesting: Literal[-1, 0, 1] = 0) -> Token:
    """`Token(kind, tag, nesting)` with `content`, at half the cost: the dataclass's __init__
    and __post_init__ (defaults, factories, `convert_attrs` of an empty dict) written out."""
    token = _new(Token)
    token.type, token.tag, token.nesting, token.attrs, token.map = kind, tag, nesting, {}, None
    token.level, token.children, token.content, token.markup, token.info = 0, None, content, "", ""
    token.meta, token.block, token.hidden = {}, False, False
    return token


def _slow_token(kind: str, tag: str, content: str, nesting: int = 0) -> Token:
    token = Token(kind, tag, nesting)  # type: ignore[arg-type]
    token.content = content
    return token


# Only for the Token whose fields are known; another markdown-it-py gets the constructor.
_token = _fast_token if getattr(Token, "__slots__", None) == _TOKEN_FIELDS else _slow_token
new_token = _token  # for sitegen.fastblock's block tokens


def _push_text(out: list[Token], pending: str) -> None:
    """`pushPending`, as `push` calls it: only when there is text; its level is 0 (no nesting)."""
    if pending:
        out.append(_token("text", "", pending))


def _push_break(out: list[Token], pending: str) -> None:
    """The `newline` rule: after two or more spaces a hard break, which drops them all;
    else a soft break, which drops one space if there is one."""
    if pending.endswith("  "):
        _push_text(out, pending.rstrip(" "))
        out.append(_token("hardbreak", "br", ""))
    else:
        _push_text(out, pending.removesuffix(" "))
        out.append(_token("softbreak", "br", ""))


def _skip_spaces(src: str, pos: int, end: int) -> int:
    """The `newline` rule skips the next line's leading spaces and tabs."""
    while pos < end and src[pos] in " \t":
        pos += 1
    return pos


def _footnotes_settled(env: MutableMapping) -> bool:
    """Whether `footnote_ref`'s `setdefault`s would add nothing to env."""
    footnotes = env.get("footnotes")
    return isinstance(footnotes, dict) and "refs" in footnotes and "list" in footnotes


def _ask_every_rule(state: StateInline, rules: Sequence[RuleFn]) -> None:
    """What upstream does at a terminator no rule acts on, for what the rules change on failing."""
    for rule in rules:
        if rule(state, False):
            raise RuntimeError(f"fastinline: {rule!r} acted at {state.pos} of {state.src!r}")
