"""The check stage: every annotation of every article against the site (SPEC §3).

`check_annotation` is pure: one parsed annotation and the site's config, sources and facts
in, a result out. Site-wide checks (fact conflicts, duplicate slugs) are made by the engine
once every article is parsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sitegen.annotations import Annotation, SyntaxProblem
from sitegen.article import ArticleMeta, Document
from sitegen.checks.attribution import check_claim, fact_definitions, fact_summary
from sitegen.checks.context import Ctx, FactDef, SiteView, did_you_mean
from sitegen.checks.seats import check_seats, check_threshold, check_votes
from sitegen.checks.totals import check_pct, check_sum, check_tally
from sitegen.diagnostics import Diagnostic, Span, error, sorted_diagnostics, warning
from sitegen.placing import Placed
from sitegen.prose import missing_figures, numbers_in, show_number
from sitegen.rules import Body

CHECKERS: dict[str, Callable[[Ctx], str]] = {
    "seats": check_seats,
    "threshold": check_threshold,
    "votes": check_votes,
    "tally": check_tally,
    "sum": check_sum,
    "pct": check_pct,
}
KINDS = (*CHECKERS, "claim", "fact")


class CheckResult(NamedTuple):
    """One annotation's outcome: what the footnote says and what went wrong.

    (A NamedTuple, not a frozen dataclass: as immutable, and made four times faster.)"""

    kind: str
    status: str  # ok, warn or error
    summary: str
    span: Span
    diagnostics: tuple[Diagnostic, ...] = ()
    sources: tuple[str, ...] = ()
    quote: str | None = None
    facts: tuple[FactDef, ...] = ()
    facts_seen: tuple[tuple[str, tuple | None], ...] = ()  # the @facts it used, as it saw them
    quoted_in: tuple[str, ...] = ()  # a claim's sources that hold its quote

    @property
    def renders(self) -> bool:
        return self.kind != "fact"


def check_annotation(doc: Document, placed: Placed, view: SiteView) -> CheckResult:
    parsed = placed.parsed
    if isinstance(parsed, SyntaxProblem):
        span = Span(
            doc.path,
            placed.line,
            placed.column + parsed.start,
            placed.line,
            placed.column + max(parsed.end, parsed.start + 1),
        )
        diag = error("SG101", span, f"annotation syntax error: {parsed.message}", parsed.help)
        return CheckResult("error", "error", "syntax error", span, (diag,))
    ctx = Ctx(parsed, doc.path, placed.line, placed.column, view, doc.meta.date)
    summary, sources, quote, facts = _dispatch(ctx)
    if doc.meta.date is None and _turns_on_the_date(parsed, view):
        # No date (its front matter is broken: SG501 says so): an error that some day the
        # body could be judged on would not make is left for when the article has a date.
        ctx.diagnostics = _on_every_day(ctx, doc, placed, view)
    # `prose=` is read first: a bad value is an error of its own, and then no warning follows
    if parsed.kind in CHECKERS and ctx.prose_wanted and not ctx.failed:
        _prose(ctx, placed.sentence)
    status = "error" if ctx.failed else "warn" if ctx.diagnostics else "ok"
    return CheckResult(
        parsed.kind,
        status,
        summary,
        ctx.whole(),
        tuple(ctx.diagnostics),
        sources,
        quote,
        tuple(facts),
        tuple(sorted(ctx.facts_seen.items())),
        ctx.quoted_in,
    )


# What a body's size on a day decides: exceeding it, matching it, the rules evaluated on it.
_ON_A_DATE = frozenset({"SG201", "SG202", "SG203", "SG204", "SG205", "SG206"})


def _turns_on_the_date(ann: Annotation, view: SiteView) -> bool:
    """Whether an annotation without `date=` names a body whose size changes with the day."""
    if any(arg.key == "date" for arg in ann.args):
        return False
    return bool(_vacant_bodies(ann, view))


def _vacant_bodies(ann: Annotation, view: SiteView) -> list[Body]:
    named = {arg.key if arg.key is not None else arg.value.raw for arg in ann.args}
    return [body for name, body in view.config.bodies.items() if name in named and body.vacancies]


def _on_every_day(ctx: Ctx, doc: Document, placed: Placed, view: SiteView) -> list[Diagnostic]:
    """The diagnostics of a check made on no day, less those that turn on the day and that
    some day (each day a vacancy starts or ends, or none) does not give."""
    days = {dt.date.min, *(day for body in _vacant_bodies(ctx.ann, view) for day in body.telling_days())}
    kept = [d for d in ctx.diagnostics if d.code not in _ON_A_DATE]
    doubtful = [d for d in ctx.diagnostics if d.code in _ON_A_DATE]
    for day in sorted(days):
        on_day = Ctx(ctx.ann, doc.path, placed.line, placed.column, view, day)
        _dispatch(on_day)
        found = {(d.code, d.span) for d in on_day.diagnostics}
        doubtful = [d for d in doubtful if (d.code, d.span) in found]
    return sorted_diagnostics([*kept, *doubtful])


def _dispatch(ctx: Ctx) -> tuple[str, tuple[str, ...], str | None, list[FactDef]]:
    kind = ctx.ann.kind
    if kind in CHECKERS:
        return CHECKERS[kind](ctx), (), None, []
    if kind == "claim":
        summary, sources, quote = check_claim(ctx)
        return summary, sources, quote, []
    if kind == "fact":
        defs = fact_definitions(ctx)
        return fact_summary(defs), (), None, defs
    ctx.error(
        "SG102",
        None,
        f"unknown annotation kind `{kind}`",
        help=did_you_mean(kind, KINDS) or f"kinds: {', '.join(KINDS)}",
    )
    return kind, (), None, []


def _prose(ctx: Ctx, sentence: str) -> None:
    missing = missing_figures(sentence, ctx.figures)
    if not missing:
        return
    stated = ", ".join(show_number(v) for v in numbers_in(sentence)) or "no numbers"
    listed = ", ".join(show_number(v) for v in missing)
    noun = "figure" if len(missing) == 1 else "figures"
    verb = "does" if len(missing) == 1 else "do"
    ctx.diagnostics.append(
        warning(
            "SG401",
            ctx.whole(),
            f"checked {noun} {listed} {verb} not appear in the sentence before this annotation "
            f"(it states {stated})",
            help="write the checked figures in the sentence, or add prose=no if they are stated elsewhere",
        )
    )


def duplicate_slug_diagnostics(metas: Sequence[tuple[str, ArticleMeta]]) -> list[Diagnostic]:
    """SG502 at every article whose slug an earlier one (in path order) already has."""
    seen: dict[str, str] = {}
    diags: list[Diagnostic] = []
    for path, meta in sorted(metas, key=lambda pair: pair[0]):
        first = seen.setdefault(meta.slug, path)
        if first != path:
            diags.append(
                error(
                    "SG502",
                    meta.slug_span or Span.point(path, 1, 1, 3),
                    f"slug `{meta.slug}` is already used by {first}",
                    help="give one of the articles its own `slug:` in the front matter",
                )
            )
    return diags
