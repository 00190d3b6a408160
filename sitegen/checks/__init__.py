"""The check stage: every annotation of every article against the site (SPEC §3).

`check_documents` is pure: documents and the site's config/sources in, results out.
Site-wide checks (facts, slugs) look at all documents; everything else is per annotation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sitegen.annotations import Annotation, SyntaxProblem
from sitegen.article import ArticleMeta, Document
from sitegen.checks.attribution import check_claim, fact_definitions, fact_summary, where
from sitegen.checks.context import Ctx, FactDef, SiteFacts, SiteView, did_you_mean
from sitegen.checks.seats import check_seats, check_threshold, check_votes
from sitegen.checks.totals import check_pct, check_sum, check_tally
from sitegen.diagnostics import Diagnostic, Span, error, warning
from sitegen.markdown import Placed
from sitegen.prose import missing_figures, numbers_in, show_number

CHECKERS: dict[str, Callable[[Ctx], str]] = {
    "seats": check_seats,
    "threshold": check_threshold,
    "votes": check_votes,
    "tally": check_tally,
    "sum": check_sum,
    "pct": check_pct,
}
KINDS = (*CHECKERS, "claim", "fact")


@dataclass(frozen=True)
class CheckResult:
    """One annotation's outcome: what the footnote says and what went wrong."""

    kind: str
    status: str  # ok, warn or error
    summary: str
    span: Span
    diagnostics: tuple[Diagnostic, ...] = ()
    sources: tuple[str, ...] = ()
    quote: str | None = None
    facts: tuple[FactDef, ...] = ()
    facts_seen: tuple[tuple[str, tuple | None], ...] = ()  # the @facts it used, as it saw them

    @property
    def renders(self) -> bool:
        return self.kind != "fact"


@dataclass
class CheckReport:
    results: dict[str, list[CheckResult]] = field(default_factory=dict)  # by document path
    diagnostics: list[Diagnostic] = field(default_factory=list)


def collect_facts(documents: Sequence[Document], view: SiteView) -> tuple[SiteFacts, list[Diagnostic]]:
    """First definition of each fact in (path, line) order; later disagreeing ones are SG402."""
    facts = SiteFacts()
    diags: list[Diagnostic] = []
    for definition in _fact_definitions(documents, view):
        first = facts.first.setdefault(definition.name, definition)
        if first is not definition and (first.value, first.percent) != (definition.value, definition.percent):
            diags.append(_conflict(definition, first))
    return facts, diags


def _fact_definitions(documents: Sequence[Document], view: SiteView) -> list[FactDef]:
    found: list[FactDef] = []
    for doc in sorted(documents, key=lambda d: d.path):
        for placed in doc.annotations:
            if isinstance(placed.parsed, Annotation) and placed.parsed.kind == "fact":
                ctx = Ctx(placed.parsed, doc.path, placed.line, placed.column, view, doc.meta.date)
                found.extend(fact_definitions(ctx))
    return found


def _conflict(later: FactDef, first: FactDef) -> Diagnostic:
    return error(
        "SG402",
        later.span,
        f"fact `{later.name}` is {later.shown()} here, but {first.shown()} at {where(first.span)}",
        help="a named figure has one value across the site; correct one of the definitions",
    )


def check_documents(documents: Sequence[Document], view: SiteView) -> CheckReport:
    report = CheckReport()
    for doc in documents:
        results = [check_annotation(doc, placed, view) for placed in doc.annotations]
        report.results[doc.path] = results
        report.diagnostics.extend(doc.diagnostics)
        for result in results:
            report.diagnostics.extend(result.diagnostics)
    report.diagnostics.extend(duplicate_slugs(documents))
    return report


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
    if not ctx.failed and ctx.prose_wanted and parsed.kind in CHECKERS:
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
    )


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
    ctx.diagnostics[-1] = error(
        "SG102",
        ctx.span(ctx.ann.kind_start, ctx.ann.kind_end),
        ctx.diagnostics[-1].message,
        ctx.diagnostics[-1].help,
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


def duplicate_slugs(documents: Sequence[Document]) -> list[Diagnostic]:
    return duplicate_slug_diagnostics([(d.path, d.meta) for d in documents])
