"""site.toml: site settings, bodies with dated vacancies, named threshold rules (SPEC §1)."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sitegen.diagnostics import Diagnostic, Span, error
from sitegen.rules import DEFAULT_RULES, RESERVED_RULE_NAMES, Body, Rule, RuleError, Vacancy, parse_rule
from sitegen.text import clean_text

CONFIG_FILE = "site.toml"
_URL = re.compile(r"https?://[^\s<>\"']+\Z")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Untitled site"
    base_url: str = "https://example.org/"
    language: str = "en"
    bodies: Mapping[str, Body] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    text: str = ""


class _Locator:
    """Finds the line of a key in site.toml; tomllib keeps no positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")  # not splitlines(): TOML breaks lines only at \n

    def span(self, table: str | None, key: str | None = None) -> Span:
        start = 0
        if table is not None:
            start = self._find(rf"\s*\[\s*{_header_pattern(table)}\s*\]", 0)
            if start < 0:
                start = 0
        if key is not None:
            found = self._find(rf"\s*\"?{re.escape(key)}\"?\s*=", start)
            if found >= 0:
                line = self.lines[found]
                column = len(line) - len(line.lstrip()) + 1
                return Span(CONFIG_FILE, found + 1, column, found + 1, len(line.rstrip()) + 1)
        line = self.lines[start] if start < len(self.lines) else ""
        return Span(CONFIG_FILE, start + 1, 1, start + 1, max(len(line.rstrip()), 1) + 1)

    def _find(self, pattern: str, start: int) -> int:
        regex = re.compile(pattern)
        for index in range(start, len(self.lines)):
            if regex.match(self.lines[index]):
                return index
        return -1


def _header_pattern(table: str) -> str:
    return r"\s*\.\s*".join(rf"\"?{re.escape(part)}\"?" for part in table.split("."))


def load_config(text: str | None) -> tuple[SiteConfig, list[Diagnostic]]:
    """Validate site.toml completely, reporting every problem (SG901) before giving up."""
    if text is None:
        return SiteConfig(), [error("SG901", Span.point(CONFIG_FILE), "no site.toml in the site directory")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return SiteConfig(text=text), [_toml_error(exc)]
    except (RecursionError, ValueError) as exc:  # deep nesting; integers beyond Python's digit limit
        reason = (
            "is nested too deeply" if isinstance(exc, RecursionError) else f"has an unreadable value: {exc}"
        )
        return SiteConfig(text=text), [error("SG901", Span.point(CONFIG_FILE), f"site.toml {reason}"[:300])]
    diags: list[Diagnostic] = []
    where = _Locator(text)
    site = _table(data, "site", where, diags, required=True)
    title = _string(site, "site", "title", where, diags, required=True) or "Untitled site"
    base_url = _string(site, "site", "base_url", where, diags, required=True) or "https://example.org/"
    if base_url and not _URL.match(base_url):
        diags.append(error("SG901", where.span("site", "base_url"), "`base_url` must be an http(s) URL"))
        base_url = "https://example.org/"
    language = _string(site, "site", "language", where, diags, required=False) or "en"
    if not re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", language):
        diags.append(
            error("SG901", where.span("site", "language"), f"`language` {language!r} is not a language tag")
        )
        language = "en"
    bodies = _bodies(data, where, diags)
    rules = _rules(data, bodies, where, diags)
    for key in sorted(set(data) - {"site", "rules", "bodies"}):
        diags.append(
            error(
                "SG901",
                where.span(key),
                f"unknown table `[{key}]` in site.toml",
                help="site.toml has [site], [rules] and [bodies.<ID>]",
            )
        )
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    return SiteConfig(title, base_url, language, bodies, rules, text), diags


def _toml_error(exc: tomllib.TOMLDecodeError) -> Diagnostic:
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
    return error("SG901", Span.point(CONFIG_FILE, line, column), f"site.toml is not valid TOML: {message}")


def _table(
    data: Mapping[str, Any], name: str, where: _Locator, diags: list[Diagnostic], *, required: bool
) -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        if required:
            diags.append(error("SG901", Span.point(CONFIG_FILE), f"site.toml needs a [{name}] table"))
        return {}
    if not isinstance(value, dict):
        diags.append(error("SG901", where.span(None, name), f"`{name}` must be a table"))
        return {}
    return value


def _string(
    table: Mapping[str, Any],
    section: str,
    key: str,
    where: _Locator,
    diags: list[Diagnostic],
    *,
    required: bool,
) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            diags.append(error("SG901", where.span(section), f"[{section}] needs `{key}`"))
        return None
    if not isinstance(value, str) or not value.strip():
        diags.append(error("SG901", where.span(section, key), f"`{key}` must be a non-empty string"))
        return None
    return clean_text(value.strip())


def _bodies(data: Mapping[str, Any], where: _Locator, diags: list[Diagnostic]) -> dict[str, Body]:
    bodies: dict[str, Body] = {}
    for body_id, spec in _table(data, "bodies", where, diags, required=False).items():
        section = f"bodies.{body_id}"
        if not _ID.match(body_id):
            diags.append(
                error("SG901", where.span(section), f"body id {body_id!r} must be a name like NA or Senate")
            )
            continue
        if not isinstance(spec, dict):
            diags.append(error("SG901", where.span(None, body_id), f"[{section}] must be a table"))
            continue
        body = _body(body_id, spec, section, where, diags)
        if body is not None:
            bodies[body_id] = body
    return bodies


def _body(
    body_id: str, spec: Mapping[str, Any], section: str, where: _Locator, diags: list[Diagnostic]
) -> Body | None:
    name = _string(spec, section, "name", where, diags, required=False) or body_id
    seats = spec.get("seats")
    if isinstance(seats, bool) or not isinstance(seats, int) or not 0 < seats <= 10**9:
        diags.append(
            error(
                "SG901",
                where.span(section, "seats"),
                f"[{section}] needs `seats`, a whole number from 1 to 1,000,000,000",
            )
        )
        return None
    for key in sorted(set(spec) - {"name", "seats", "vacancies"}):
        diags.append(error("SG901", where.span(section, key), f"unknown key `{key}` in [{section}]"))
    vacancies = _vacancies(spec.get("vacancies", []), seats, section, where, diags)
    body = Body(body_id, name, seats, tuple(vacancies))
    lowest = min(body.possible_strengths())
    if lowest < 0:  # each vacancy fits, but overlapping ones can leave more seats empty than there are
        diags.append(
            error(
                "SG901",
                where.span(section, "vacancies"),
                f"[{section}] vacancies overlap to {seats - lowest} empty seats of {seats} "
                f"(strength {lowest})",
            )
        )
        return None
    return body


def _vacancies(
    value: Any, seats: int, section: str, where: _Locator, diags: list[Diagnostic]
) -> list[Vacancy]:
    span = where.span(section, "vacancies")
    if not isinstance(value, list):
        diags.append(error("SG901", span, "`vacancies` must be a list of { from, to, count } tables"))
        return []
    out: list[Vacancy] = []
    for item in value:
        vacancy = _vacancy(item, seats, span, diags)
        if vacancy is not None:
            out.append(vacancy)
    return out


def _vacancy(item: Any, seats: int, span: Span, diags: list[Diagnostic]) -> Vacancy | None:
    if not isinstance(item, dict):
        diags.append(
            error("SG901", span, "each vacancy must be a table like { from = 2021-03-01, count = 1 }")
        )
        return None
    count = item.get("count", 1)
    start, end = _day(item.get("from")), _day(item.get("to"))
    unknown = sorted(set(item) - {"from", "to", "count"})
    problems = [f"unknown key `{k}` in a vacancy" for k in unknown]
    if "from" not in item:
        problems.append("a vacancy needs `from`, a date such as 2021-03-01")
    for key, day in (("from", start), ("to", end)):
        if key in item and day is None:
            shown = repr(item[key])[:40]
            problems.append(f"a vacancy's `{key}` must be a date such as 2021-03-01, not {shown}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= seats:
        problems.append(f"a vacancy's `count` must be a whole number from 1 to {seats}")
    if not problems and start is not None and end is not None and end < start:
        problems.append("a vacancy ends before it starts")
    if problems or start is None:
        diags.extend(error("SG901", span, p) for p in problems)
        return None
    return Vacancy(start, end, count)


def _day(value: Any) -> dt.date | None:
    """A TOML date (or date-time: its date), or a quoted one, "2021-03-01", as people write it."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _rules(
    data: Mapping[str, Any], bodies: Mapping[str, Body], where: _Locator, diags: list[Diagnostic]
) -> dict[str, Rule]:
    sources = dict(DEFAULT_RULES)
    own = _table(data, "rules", where, diags, required=False)
    rules: dict[str, Rule] = {}
    for name, expression in {**sources, **own}.items():
        span = where.span("rules", name) if name in own else Span.point(CONFIG_FILE)
        if name in RESERVED_RULE_NAMES or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
            diags.append(error("SG901", span, f"`{name}` cannot name a rule (reserved or not a plain name)"))
            continue
        if not isinstance(expression, str):
            diags.append(error("SG901", span, f"rule `{name}` must be a string expression"))
            continue
        rule = _rule(name, expression, bodies, span, diags)
        if rule is not None:
            rules[name] = rule
    return rules


def _rule(
    name: str, expression: str, bodies: Mapping[str, Body], span: Span, diags: list[Diagnostic]
) -> Rule | None:
    try:
        rule = parse_rule(name, expression)
    except RuleError as exc:
        diags.append(error("SG901", span, f"rule `{name}` = {expression!r}: {exc.message}"))
        return None
    for body in bodies.values():
        for strength in sorted(body.possible_strengths()):
            try:
                rule.evaluate(body.seats, strength)
            except RuleError as exc:
                diags.append(
                    error(
                        "SG901",
                        span,
                        f"rule `{name}`: {exc.message.removeprefix(f'rule `{name}` ')} for {body.name} "
                        f"(seats {body.seats}, strength {strength})",
                        help="make it divide by a value that is never 0 (max(1, ...))"
                        if exc.message == "division by zero"
                        else "wrap the expression in floor() or ceil()",
                    )
                )
                return None
    return rule
