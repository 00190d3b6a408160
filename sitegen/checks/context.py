"""What one annotation's check can see, and the argument helpers every kind shares."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sitegen.annotations import Annotation, Arg, Value
from sitegen.config import SiteConfig
from sitegen.diagnostics import Diagnostic, Span, error, written
from sitegen.prose import show_number
from sitegen.rules import Body, Rule, RuleError
from sitegen.site import Source

LARGEST = Decimal(10) ** 15


@dataclass(frozen=True)
class FactDef:
    name: str
    value: Decimal
    percent: bool
    raw: str
    span: Span

    def shown(self) -> str:
        return show_number(self.value) + ("%" if self.percent else "")

    def seen(self, *, place: bool = False) -> tuple:
        """What a check that used this fact read of it, for telling when to check again: the
        value as written (52% and 52.0% state different precisions), and the place where a
        message names it."""
        key = (str(self.value), self.percent)
        return (*key, self.span.file, self.span.line) if place else key


@dataclass
class SiteFacts:
    """Site-wide named figures: the first definition in (path, line) order is the reference."""

    first: dict[str, FactDef] = field(default_factory=dict)
    conflicted: set[str] = field(default_factory=set)  # names defined elsewhere with another value


@dataclass(frozen=True)
class SiteView:
    """The read-only parts of a site that checks consult."""

    config: SiteConfig
    sources: Mapping[str, Source]
    facts: SiteFacts


# How the checks say an annotation names a body or a rule site.toml does not define.  While
# site.toml has errors of its own, the engine leaves these out: one of those errors may be
# what left the name undefined, and it would be repeated at every use.
UNKNOWN_BODY, UNKNOWN_RULE, NAMES_NO_RULE = "unknown body", "unknown rule", "names no rule"


def names_what_config_lacks(diag: Diagnostic) -> bool:
    return diag.code == "SG301" or (
        diag.code in ("SG104", "SG105")
        and (diag.message.startswith(UNKNOWN_RULE) or NAMES_NO_RULE in diag.message)
    )


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"did you mean `{close[0]}`?" if close else None


class Ctx:
    """One annotation being checked: its place, its arguments and the diagnostics found."""

    def __init__(
        self, ann: Annotation, file: str, line: int, column: int, site: SiteView, article_date: dt.date | None
    ) -> None:
        self.ann, self.file, self.line, self.column = ann, file, line, column
        self.site, self.article_date = site, article_date
        self.diagnostics: list[Diagnostic] = []
        self.incomplete: list[Body] = []  # bodies it named whose vacancies site.toml got wrong
        self.keywords: dict[str, Arg] = {}
        self.repeated: dict[str, list[Arg]] = {}
        self.positional: list[Arg] = []
        self.figures: list[Decimal] = []  # literal figures the prose must state
        self.facts_seen: dict[str, tuple | None] = {}  # what this check depended on (`FactDef.seen`)
        self.quoted_in: tuple[str, ...] = ()  # a claim's sources that hold its quote
        for arg in ann.args:
            if arg.key is None:
                self.positional.append(arg)
            elif arg.key in self.keywords:
                self.repeated.setdefault(arg.key, []).append(arg)
            else:
                self.keywords[arg.key] = arg

    # ----------------------------------------------------------- positions
    def span(self, start: int, end: int) -> Span:
        return Span(self.file, self.line, self.column + start, self.line, self.column + end)

    def whole(self) -> Span:
        return self.span(0, len(self.ann.text))

    def at(self, node: Arg | Value) -> Span:
        """The span of the argument holding node (SPEC §4: a diagnostic covers the offending
        argument, `KEY=VALUE` whole, even when one value of it, or one side of a ratio, is wrong)."""
        for arg in self.ann.args:
            if arg.start <= node.start and node.end <= arg.end:
                return self.span(arg.start, arg.end)
        return self.span(node.start, node.end)

    def error(self, code: str, node: Arg | Value | None, message: str, help: str | None = None) -> None:
        span = self.whole() if node is None else self.at(node)
        for body in self.incomplete:  # the error may be site.toml's, not the figure's
            note = (
                f"[bodies.{body.id}] in site.toml has a vacancy in error (SG901), left out of this"
                " check: correct that first, as this error may come of it"
            )
            help = f"{help}; {note}" if help else note
        self.diagnostics.append(error(code, span, message, help))

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    # ----------------------------------------------------------- arguments
    def reject_repeats(self, allowed: Iterable[str] = ()) -> None:
        allowed = set(allowed)
        for key, args in self.repeated.items():
            if key not in allowed:
                for arg in args:
                    self.error(
                        "SG104",
                        arg,
                        f"`{key}` is given more than once",
                        help="each argument may appear once in an annotation",
                    )

    def reject_positional(self, keep: int = 0, *, help: str | None = None) -> None:
        for arg in self.positional[keep:]:
            self.error(
                "SG105",
                arg,
                f"`{self.ann.kind}` takes no positional argument {written(arg.value.raw)}"[:200],
                help=help or f"write it as key=value; see `{self.ann.kind}` in the README",
            )

    def unknown_key(self, arg: Arg, known: Iterable[str]) -> None:
        self.error(
            "SG105",
            arg,
            f"`{self.ann.kind}` has no argument `{arg.key}`",
            help=did_you_mean(arg.key or "", known),
        )

    def require(self, *keys: str) -> bool:
        missing = [k for k in keys if k not in self.keywords]
        for key in missing:
            self.error("SG103", None, f"`{self.ann.kind}` needs `{key}=`")
        return not missing

    # --------------------------------------------------------------- values
    def number(
        self,
        value: Value,
        what: str,
        *,
        whole: bool = True,
        figure: bool = True,
        percent: bool = False,
        signed: bool = True,
    ) -> Decimal | None:
        """A numeric value (or @fact); whole, non-negative counts unless told otherwise.

        `percent`: the value is a percentage (52%, or a fact defined as one), where everything
        else takes a plain number: 52% is not 52 seats, nor a fact of 52 a share of 52%.
        `signed=False`: a value that need not be whole must still be 0 or more (a vote share)."""
        if value.type == "factref":
            fact = self.site.facts.first.get(value.text or "")
            self.facts_seen.setdefault(value.text or "", fact.seen() if fact else None)
            if fact is None:
                self.error(
                    "SG304",
                    value,
                    f"unknown fact `@{value.text}`: no `fact` annotation defines it",
                    help=did_you_mean(value.text or "", self.site.facts.first)
                    or "define it once with <<fact NAME=VALUE>>",
                )
                return None
            if fact.percent != percent:
                wanted = "a percentage" if percent else "a number"
                self.facts_seen[value.text or ""] = fact.seen(place=True)
                self.error(
                    "SG104",
                    value,
                    f"{what} must be {wanted}, but `@{value.text}` is {fact.shown()}",
                    help=f"@{value.text} is defined at {fact.span.file}:{fact.span.line}",
                )
                return None
            number: Decimal | None = fact.value
        elif value.type == ("percent" if percent else "number"):
            number = value.number
            if figure and number is not None:
                self.figures.append(number)
        else:
            wanted = "a percentage such as 52%" if percent else "a number"
            fix = how_to_write(value, percent)
            self.error("SG104", value, f"{what} must be {wanted}, not {written(value.raw)}"[:200], help=fix)
            return None
        if number is None:
            return None
        if abs(number) >= LARGEST:
            self.error("SG104", value, f"{what} {_clipped(value.raw)} is beyond any real figure")
            return None
        if number.as_tuple().exponent < -12:  # type: ignore[operator]
            self.error(
                "SG104", value, f"{what} {_clipped(value.raw)} has more decimal places than any figure (12)"
            )
            return None
        if whole and (number != number.to_integral_value() or number < 0):
            self.error("SG104", value, f"{what} must be a whole number of 0 or more, not {value.raw}")
            return None
        if not signed and number < 0:
            self.error("SG104", value, f"{what} must be 0 or more, not {value.raw}")
            return None
        return number

    def is_percentage(self, value: Value) -> bool:
        """Whether a value is written as a percentage, or names a fact defined as one."""
        if value.type == "factref":
            fact = self.site.facts.first.get(value.text or "")
            return fact is not None and fact.percent
        return value.type == "percent"

    def flag(self, key: str) -> bool | None:
        arg = self.keywords.get(key)
        if arg is None:
            return None
        if arg.value.type != "bool":
            self.error("SG104", arg.value, f"`{key}` must be yes or no, not {written(arg.value.raw)}"[:200])
            return None
        return arg.value.flag

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        arg = self.keywords.get(key)
        if arg is None:
            return None
        raw = arg.value.raw
        if arg.value.type != "name" or raw not in options:
            self.error(
                "SG104",
                arg.value,
                f"`{key}` must be {' or '.join(options)}, not {written(raw)}"[:200],
                help=did_you_mean(raw, options),
            )
            return None
        return raw

    @property
    def prose_wanted(self) -> bool:
        return self.flag("prose") is not False

    def date(self) -> dt.date | None:
        arg = self.keywords.get("date")
        if arg is None:
            return self.article_date
        if arg.value.type != "date" or arg.value.date is None:
            self.error(
                "SG104",
                arg.value,
                f"`date` must be a real date YYYY-MM-DD, not {written(arg.value.raw)}"[:200],
            )
            return self.article_date
        return arg.value.date

    # --------------------------------------------------------------- bodies
    def body(self, name: str, node: Arg | Value) -> Body | None:
        body = self.site.config.bodies.get(name)
        if body is not None and body.incomplete and body not in self.incomplete:
            self.incomplete.append(body)
        if body is None:
            known = self.site.config.bodies
            listing = ", ".join(sorted(known)) or "none are defined"
            self.error(
                "SG301",
                node,
                f"{UNKNOWN_BODY} `{name}` (site.toml defines: {listing})"[:300],
                help=did_you_mean(name, known) or "add it to site.toml as [bodies.<ID>]",
            )
        return body

    def positional_body(self, *, required: bool) -> Body | None:
        if not self.positional:
            if required:
                self.error("SG103", None, f"`{self.ann.kind}` needs a body, e.g. <<{self.ann.kind} NA ...>>")
            return None
        arg = self.positional[0]
        if arg.value.type != "name":
            self.error("SG104", arg, f"expected a body name here, not {written(arg.value.raw)}"[:200])
            return None
        return self.body(arg.value.raw, arg)

    def rule(self, name: str) -> Rule | None:
        return self.site.config.rules.get(name)

    def rule_value(self, rule: Rule, body: Body, day: dt.date | None) -> int | None:
        try:
            return rule.evaluate(body.seats, body.strength(day))
        except RuleError as exc:
            self.error("SG204", None, exc.message)
            return None

    def explain_rule(self, rule: Rule, body: Body, day: dt.date | None) -> str:
        """The rule with the body's numbers in it; with the day, when a strength it uses is not the seats."""
        strength = body.strength(day)
        shown = rule.explain(body.seats, strength)
        if day is None or strength == body.seats or not _USES_STRENGTH.search(rule.source):
            return shown
        return f"{shown} (strength {strength} on {day.isoformat()})"

    def size_words(self, body: Body, day: dt.date | None) -> str:
        strength = body.strength(day)
        if strength == body.seats:
            return f"the {body.name} has {body.seats} seats"
        return (
            f"the {body.name} has {body.seats} seats, {strength} filled on {day.isoformat()}"
            if day
            else f"the {body.name} has {body.seats} seats"
        )

    def size_help(self, body: Body, day: dt.date | None) -> str:
        strength = body.strength(day)
        if strength == body.seats:
            return f"use {body.seats}"
        return f"use {body.seats} (all seats) or {strength} (its strength on {day})"

    def within_body(
        self, body: Body, day: dt.date | None, count: Decimal, node: Arg | Value | None, what: str
    ) -> None:
        """SG201 when a count exceeds the larger of the body's seats and strength.  `what` says
        what the count is, `{n}` standing for it: "{n} votes cast", "a total of {n}"."""
        limit = max(body.seats, body.strength(day))
        if count > limit:
            self.error(
                "SG201",
                node,
                f"{what.format(n=show_number(count))}, more than the body has: {self.size_words(body, day)}",
            )


def how_to_write(value: Value, percent: bool) -> str | None:
    """The help for a figure written as the wrong kind of value: a count, a share, quoted."""
    if percent and value.type == "number":
        return f"write {value.raw}%"
    if not percent and value.type == "percent":
        return "a count is written without %: a share goes in `pct`, or in a tally or sum of shares"
    inner = (value.text or "").strip()
    if value.type == "string" and _NUMBER_WRITTEN.fullmatch(inner) and inner.endswith("%") == percent:
        return f"a figure is written without quotes: {inner}"
    return None


_NUMBER_WRITTEN = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?%?")


_USES_STRENGTH = re.compile(r"\bstrength\b")


def _clipped(raw: str) -> str:
    """A value as written, shortened so that it is never mistaken for another number."""
    return raw if len(raw) <= 30 else f"{raw[:12]}…{raw[-6:]} ({len(raw)} characters)"
