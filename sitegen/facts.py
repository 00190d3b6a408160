"""Site-wide facts: the `<<fact ...>>` definitions, as outcomes keep them (packed), as a quick
scan of a file's text finds them (the provisional table, before any article is parsed), and as
every article's parse defines them (the real table, and SG402 for a name given two values)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from sitegen.annotations import Annotation, parse_annotation
from sitegen.cache import digest
from sitegen.checks.attribution import where
from sitegen.checks.context import FactDef, SiteFacts
from sitegen.diagnostics import Diagnostic, Span, error
from sitegen.site import Site

if TYPE_CHECKING:  # the data model's types, for annotations only: engine imports this module
    from sitegen.engine import Entry, Outcome
    from sitegen.inputs import Texts


# A fact definition as an outcome keeps it, in the outcome's own file: (name, value, percent,
# raw, line, column, end line, end column), the value as Decimal's exact text.  A big site's
# outcomes hold tens of thousands (a bench site, 3.4 an article), and as FactDefs, a Decimal
# and a Span each, they were two fifths of the time its cache took to unpickle.
PackedFact = tuple[str, str, bool, str, int, int, int, int]


def pack_fact(fact: FactDef) -> PackedFact:
    s = fact.span
    return (fact.name, str(fact.value), fact.percent, fact.raw, s.line, s.column, s.end_line, s.end_column)


def unpack_fact(path: str, packed: PackedFact) -> FactDef:
    name, value, percent, raw, line, column, end_line, end_column = packed
    return FactDef(name, Decimal(value), percent, raw, Span(path, line, column, end_line, end_column))


_FACT = re.compile(r"<<fact[ \t][^\n]*?>>")


def scan_facts(path: str, text: str, firsts: dict[str, tuple[str, int]] | None = None) -> tuple[FactDef, ...]:
    """The `<<fact ...>>` definitions a quick look at one file finds, in file order.

    With `firsts` (name -> the earliest (file, line) defining it so far, updated here), only
    the definitions earlier than those: provisional facts take each name's first, and a big
    site repeats its facts tens of thousands of times."""
    found: list[FactDef] = []
    if "<<fact" not in text:
        return ()
    line, counted = 1, 0  # lines counted up to each match from the last: one pass over the text
    for match in _FACT.finditer(text):
        parsed = parse_annotation(match.group())
        if not isinstance(parsed, Annotation):
            continue
        line, counted = line + text.count("\n", counted, match.start()), match.start()
        for arg in parsed.args:
            v = arg.value
            if arg.key and v.type in ("number", "percent") and v.number is not None:
                if firsts is not None:
                    known = firsts.get(arg.key)
                    if known is not None and known <= (path, line):
                        continue
                    firsts[arg.key] = (path, line)
                found.append(FactDef(arg.key, v.number, v.type == "percent", v.raw, Span.point(path, line)))
    return tuple(found)


def real_facts(outcomes: Iterable[Outcome]) -> tuple[SiteFacts, list[Diagnostic]]:
    """First definition in (path, line) order; a later one with another value is SG402."""
    facts = SiteFacts()
    diags: list[Diagnostic] = []
    firsts: dict[str, PackedFact] = {}  # as packed: most repeat the first's value, text for text
    for outcome in sorted(outcomes, key=lambda o: o.path):
        for packed in sorted(outcome.defines, key=lambda d: (d[4], d[5])):  # line, column
            name, value, percent = packed[:3]
            if name not in firsts:
                firsts[name], facts.first[name] = packed, unpack_fact(outcome.path, packed)
                continue
            first = facts.first[name]
            if (value, percent) != firsts[name][1:3] and (Decimal(value), percent) != (
                first.value,
                first.percent,
            ):
                definition = unpack_fact(outcome.path, packed)
                facts.conflicted.add(name)
                diags.append(
                    error(
                        "SG402",
                        definition.span,
                        f"fact `{definition.name}` is {definition.shown()} here, "
                        f"but {first.shown()} at {where(first.span)}",
                        help="a named figure has one value across the site; correct one of the definitions",
                    )
                )
    return facts, diags


# An unknown @fact is reported with the nearest name there is (`did you mean`), and an unknown
# source with the sources there are: an outcome holding either depends on all fact names, or
# all source ids, as well.  These keys name them (no fact name or source id holds a NUL).
FACT_NAMES = "\0fact names"
SOURCE_IDS = "\0source ids"


def seen_as(facts: SiteFacts, name: str, placed: bool = False) -> tuple | None:
    if name == FACT_NAMES:
        return (digest(*sorted(facts.first)),)
    fact = facts.first.get(name)
    return fact.seen(place=placed) if fact else None


def agreement(facts: SiteFacts) -> Callable[[Outcome], bool]:
    """Whether an outcome saw each fact it used as `facts` has it now.  Each fact is looked
    up once (a big site's articles use the same few facts tens of thousands of times)."""
    memo: dict[tuple[str, bool], tuple | None] = {}

    def agrees_with(outcome: Outcome) -> bool:
        for name, seen in outcome.seen:
            key = (name, len(seen or ()) > 2)
            if key not in memo:
                memo[key] = seen_as(facts, *key)
            if memo[key] != seen:
                return False
        return True

    return agrees_with


def provisional_facts(site: Site, candidates: dict[str, Entry], texts: Texts) -> SiteFacts:
    """Facts of unchanged articles as they were; of changed ones as a quick scan sees them."""
    scanned = [d for p, defs in texts.scanned.items() if p not in candidates for d in defs]
    facts = SiteFacts()
    ordered: list[tuple[str, int, str, FactDef | PackedFact]] = sorted(
        [
            *((d.span.file, d.span.line, d.name, d) for d in scanned),
            *((p, f[4], f[0], f) for p, e in candidates.items() for f in e.outcome.defines),
        ],
        key=lambda item: (item[0], item[1]),
    )
    for path, _, name, definition in ordered:
        if name not in facts.first:  # a FactDef made for each name's first only
            fact = definition if isinstance(definition, FactDef) else unpack_fact(path, definition)
            facts.first[name] = fact
    return facts


def conflicts_named(diags: list[Diagnostic], facts: SiteFacts, texts: dict[str, str]) -> list[Diagnostic]:
    """An error at an annotation that uses a fact defined with two values (SG402) says so, and
    which value it was checked with: the first's, which may be the wrong one."""
    if not facts.conflicted:
        return diags
    return [_conflict_named(d, facts, texts) if d.is_error and d.code != "SG402" else d for d in diags]


def _conflict_named(diag: Diagnostic, facts: SiteFacts, texts: dict[str, str]) -> Diagnostic:
    span, lines = diag.span, texts.get(diag.span.file, "").splitlines()
    if span.line != span.end_line or not 0 < span.line <= len(lines):
        return diag
    written = lines[span.line - 1][span.column - 1 : span.end_column - 1]
    used = [name for name in sorted(facts.conflicted) if re.search(rf"@{re.escape(name)}(?![\w.-])", written)]
    if not used:
        return diag
    first = facts.first[used[0]]
    note = (
        f"`@{first.name}` has conflicting definitions (SG402); this check took {first.shown()}, "
        f"its first, at {where(first.span)}"
    )
    return replace(diag, help=f"{diag.help}; {note}" if diag.help else note)
