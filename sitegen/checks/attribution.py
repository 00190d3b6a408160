"""`claim` (sources and quotes) and `fact` (site-wide named figures)."""

from __future__ import annotations

import functools
import re

from sitegen.checks.context import Ctx, FactDef, did_you_mean, how_to_write
from sitegen.diagnostics import Span, written
from sitegen.site import is_source_id

_QUOTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "–": "-",
        "—": "-",
        "‒": "-",
        "―": "-",
        "−": "-",
        "‐": "-",
        "‑": "-",
        "…": "...",
        "\u00ad": "",  # a soft hyphen: a place a word may break, not a character of it
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"-{2,}")  # `--` and `---`: how a dash is typed where there is no dash key


@functools.lru_cache(maxsize=256)
def fold(text: str) -> str:
    """Compare quotes ignoring case, runs of white space, typographic quotes and dashes, and
    how an ellipsis is typed (… or ...)."""
    return _SPACES.sub(" ", _HYPHENS.sub("-", text.translate(_QUOTES)).casefold()).strip()


def check_claim(ctx: Ctx) -> tuple[str, tuple[str, ...], str | None]:
    ctx.reject_repeats(allowed=("src",))
    ctx.reject_positional()
    for key, arg in ctx.keywords.items():
        if key not in ("src", "quote", "prose"):
            ctx.unknown_key(arg, ("src", "quote"))
    ids: list[str] = []
    sources_args = ([ctx.keywords["src"]] if "src" in ctx.keywords else []) + ctx.repeated.get("src", [])
    if not sources_args:
        ctx.error("SG103", None, "`claim` needs `src=` naming a source, e.g. src=001")
    known = ctx.site.sources
    found = []
    for arg in sources_args:
        value = arg.value
        if value.type not in ("number", "name", "string", "date", "bool"):  # ids are as written
            ctx.error(
                "SG104", value, f"`src` must be a source id such as 001, not {written(value.raw)}"[:200]
            )
            continue
        source_id = (value.text if value.type == "string" else value.raw) or ""
        ids.append(source_id)
        if source_id not in known:
            listing = ", ".join(sorted(known)[:12]) or "none"
            ctx.error(
                "SG302",
                value,
                f"unknown source `{source_id}` (content/sources has: {listing})"[:300],
                help=did_you_mean(source_id, known) or _how_to_add(source_id),
            )
        else:
            found.append(known[source_id])
    quote = _quote(ctx)
    if quote is not None:
        ctx.quoted_in = tuple(s.id for s in found if fold(quote) in fold(s.text))
    if quote is not None and found and not ctx.quoted_in:
        ids_named = list(dict.fromkeys(s.id for s in found))  # `src=001 src=001`: 001 once
        names = ("source " if len(ids_named) == 1 else "sources ") + ", ".join(ids_named)
        ctx.error(
            "SG303",
            ctx.keywords["quote"].value,
            f'quote not found in {names}: "{quote[:80]}{"…" if len(quote) > 80 else ""}"',
            help="quotes are compared ignoring case, spacing, curly quotes and the kind of dash; "
            "check the wording against the source text",
        )
    words = "Cites " + ", ".join(ids) if ids else "Claim"
    return words, tuple(ids), quote


def _quote(ctx: Ctx) -> str | None:
    arg = ctx.keywords.get("quote")
    if arg is None:
        return None
    if arg.value.type != "string":
        ctx.error("SG104", arg.value, 'a quote must be a string in double quotes: quote="..."')
        return None
    if not (arg.value.text or "").strip():
        ctx.error("SG104", arg.value, "the quote is empty")
        return None
    return arg.value.text


def fact_definitions(ctx: Ctx) -> list[FactDef]:
    """The figures a `fact` annotation defines; bad arguments are reported on ctx."""
    ctx.reject_repeats()
    ctx.reject_positional()
    defs: list[FactDef] = []
    for key, arg in ctx.keywords.items():
        value = arg.value
        if value.type not in ("number", "percent") or value.number is None:
            what = "another fact" if value.type == "factref" else written(value.raw)
            fix = how_to_write(value, value.text is not None and value.text.strip().endswith("%"))
            ctx.error(
                "SG104", value, f"fact `{key}` must be a number or a percentage, not {what}"[:200], help=fix
            )
            continue
        defs.append(FactDef(key, value.number, value.type == "percent", value.raw, ctx.at(arg)))
    if not ctx.keywords and not ctx.positional:
        ctx.error("SG103", None, "`fact` needs NAME=VALUE, e.g. <<fact na_seats=342>>")
    return defs


def fact_summary(defs: list[FactDef]) -> str:
    return "; ".join(f"{d.name} = {d.shown()}" for d in defs)


def where(span: Span) -> str:
    return f"{span.file}:{span.line}:{span.column}"


def _how_to_add(source_id: str) -> str:
    if is_source_id(source_id):
        return f"add content/sources/{source_id}.md"
    return (
        "a source id is the name of its file in content/sources: a letter or digit, then letters,"
        " digits, `-`, `_` or `.`"
    )
