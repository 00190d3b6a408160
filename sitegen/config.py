"""site.toml: site settings, bodies with dated vacancies, named threshold rules (SPEC §1)."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sitegen.diagnostics import Diagnostic, Span, error
from sitegen.rules import DEFAULT_RULES, RESERVED_RULE_NAMES, Body, Rule, RuleError, Vacancy, parse_rule
from sitegen.text import clean_text, web_address
from sitegen.toml_places import KeyPath, Locator

CONFIG_FILE = "site.toml"
_NOT_IN_URL = re.compile(r'[\s\x00-\x1f\x7f-\x9f"<>\\^`{|}]')


@dataclass(frozen=True)
class _Refused:
    why: str


def _web_address(url: str) -> str | _Refused:
    """`base_url` as canonical links, the feed and the sitemap can start with: an http(s)
    address of a host and a path, what is not ASCII in it encoded (IDNA, percent-encoding)."""
    parts = web_address(url, _NOT_IN_URL)
    if isinstance(parts, str):
        return _Refused(parts)
    if "?" in parts.rest or "#" in parts.rest:
        return _Refused(
            "is where the site lives: every page's address is made by adding to it, "
            "so it can have no ?query or #fragment"
        )
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return _Refused("has a `%` not followed by two hexadecimal digits")
    if parts.port and not (parts.port.isdigit() and 0 < int(parts.port) < 65536):
        return _Refused(f"has no port {parts.port!r} (1 to 65535)")
    try:
        host = parts.host if parts.host.isascii() else parts.host.encode("idna").decode("ascii")
    except UnicodeError:
        return _Refused(f"names a host {parts.host!r} no DNS name can be")
    authority = (
        (f"{parts.userinfo}@" if parts.userinfo else "") + host + (f":{parts.port}" if parts.port else "")
    )
    return f"{parts.scheme.lower()}://{authority}{quote(parts.rest, safe=_PATH_SAFE)}"


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Untitled site"
    base_url: str = "https://example.org/"
    language: str = "en"
    bodies: Mapping[str, Body] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    text: str = ""
    own: Mapping[str, Any] = field(default_factory=dict)  # [site]'s other keys, for templates


def load_config(text: str | None) -> tuple[SiteConfig, list[Diagnostic]]:
    """Validate site.toml completely, reporting every problem (SG901) before giving up."""
    if text is None:
        return SiteConfig(), [error("SG901", Span.point(CONFIG_FILE), "no site.toml in the site directory")]
    # TOML forbids control characters (but tab) even in strings and comments: read as written,
    # a NUL is an error at its place.  What TOML allows and no page may hold (C1 controls,
    # non-characters) is then replaced, one for one, as in every other site file.
    raw, text = text, clean_text(text)
    try:
        data = tomllib.loads(raw)
        if text != raw:
            data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return SiteConfig(text=text), [_toml_error(exc)]
    except (RecursionError, ValueError) as exc:  # deep nesting; integers beyond Python's digit limit
        reason = (
            "is nested too deeply" if isinstance(exc, RecursionError) else f"has an unreadable value: {exc}"
        )
        return SiteConfig(text=text), [error("SG901", Span.point(CONFIG_FILE), f"site.toml {reason}"[:300])]
    diags: list[Diagnostic] = []
    where = Locator(text, CONFIG_FILE)
    title, base_url, language = _site(data, where, diags)
    bodies = _bodies(data, where, diags)
    rules = _rules(data, bodies, where, diags)
    for key in sorted(set(data) - {"site", "rules", "bodies"}):
        diags.append(
            error(
                "SG901",
                where.key(key),
                f"unknown table `[{key}]` in site.toml",
                help="site.toml has [site], [rules] and [bodies.<ID>]",
            )
        )
    return SiteConfig(title, base_url, language, bodies, rules, text, _own_keys(data)), diags


def _own_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """[site]'s keys other than sitegen's own: a template may show them (`site.description`)."""
    site = data.get("site")
    if not isinstance(site, dict):
        return {}
    taken = (*_SITE_KEYS, *_TEMPLATE_KEYS)
    return {k: v for k, v in site.items() if k not in taken and not isinstance(v, dict)}


_SITE_KEYS = ("title", "base_url", "language")


def _toml_error(exc: tomllib.TOMLDecodeError) -> Diagnostic:
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
    return error("SG901", Span.point(CONFIG_FILE, line, column), f"site.toml is not valid TOML: {message}")


def _site(data: Mapping[str, Any], where: Locator, diags: list[Diagnostic]) -> tuple[str, str, str]:
    """[site]'s title, base_url and language, or stand-ins for those it lacks."""
    if "site" not in data:  # one error for an empty file, not one per key it lacks as well
        diags.append(
            error(
                "SG901", Span.point(CONFIG_FILE), "site.toml needs a [site] table with `title` and `base_url`"
            )
        )
        return "Untitled site", "https://example.org/", "en"
    site = _table(data, "site", where, diags)
    missing = [key for key in ("title", "base_url") if key not in site]
    if missing and isinstance(data["site"], dict):  # else _table has said what is wrong
        needs = " and ".join(f"`{key}`" for key in missing)
        diags.append(error("SG901", where.key("site"), f"[site] needs {needs}"))
    for key in sorted(k for k, v in site.items() if isinstance(v, dict)):
        # other keys (a description, say) are the site's own; a table here is a slip, such as
        # `bodies.NA.seats = 0` written under [site] instead of before it
        diags.append(
            error(
                "SG901",
                where.key("site", key),
                f"[site] has no table `{key}`",
                help=f"write it as [{key}...] before [site]" if key in ("bodies", "rules") else None,
            )
        )
    _names_taken(site, where, diags)
    title = _string(site, ("site", "title"), where, diags) or "Untitled site"
    base_url = _string(site, ("site", "base_url"), where, diags) or "https://example.org/"
    usable = _web_address(base_url)
    if isinstance(usable, _Refused):
        diags.append(error("SG901", where.key("site", "base_url"), f"`base_url` {usable.why}"))
        usable = "https://example.org/"
    base_url = usable
    language = _string(site, ("site", "language"), where, diags) or "en"
    if not re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", language):
        shown = _as_written(where, ("site", "language"), language)
        diags.append(
            error("SG901", where.key("site", "language"), f"`language` {shown} is not a language tag")
        )
        language = "en"
    return title, base_url if base_url.endswith("/") else base_url + "/", language


def _names_taken(site: Mapping[str, Any], where: Locator, diags: list[Diagnostic]) -> None:
    """A [site] key templates could not see: sitegen puts a value of its own under that name
    in their `site` (render.RenderContext.common)."""
    for key in sorted(k for k in site if k in _TEMPLATE_KEYS):
        diags.append(
            error(
                "SG901",
                where.key("site", key),
                f"`{key}` is sitegen's own name in templates' `site`; use another",
                help=f"templates' `site.{key}` is {_TEMPLATE_KEYS[key]}",
            )
        )


_TEMPLATE_KEYS = {"stylesheet": "true when the site has its own static/site.css"}


def _table(data: Mapping[str, Any], name: str, where: Locator, diags: list[Diagnostic]) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        diags.append(error("SG901", where.key(name), f"`{name}` must be a table"))
        return {}
    return value


def _string(table: Mapping[str, Any], path: KeyPath, where: Locator, diags: list[Diagnostic]) -> str | None:
    """The string at `path` (its last key in `table`), stripped; None if absent or no string."""
    key = str(path[-1])
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        shown = _as_written(where, path, value)
        diags.append(error("SG901", where.key(*path), f"`{key}` must be a non-empty string, not {shown}"))
        return None
    return clean_text(value.strip())


def _bodies(data: Mapping[str, Any], where: Locator, diags: list[Diagnostic]) -> dict[str, Body]:
    bodies: dict[str, Body] = {}
    for body_id, spec in _table(data, "bodies", where, diags).items():
        path = ("bodies", body_id)
        if not _ID.match(body_id):
            diags.append(
                error("SG901", where.key(*path), f"body id `{body_id}` must be a name like NA or Senate")
            )
            continue
        if not isinstance(spec, dict):
            diags.append(error("SG901", where.key(*path), f"[bodies.{body_id}] must be a table"))
            continue
        body = _body(body_id, spec, where, diags)
        if body is not None:
            bodies[body_id] = body
    return bodies


def _body(body_id: str, spec: Mapping[str, Any], where: Locator, diags: list[Diagnostic]) -> Body | None:
    path, section = ("bodies", body_id), f"[bodies.{body_id}]"
    name = _string(spec, (*path, "name"), where, diags) or body_id
    seats = spec.get("seats")
    if isinstance(seats, bool) or not isinstance(seats, int) or not 0 < seats <= 10**9:
        given = "" if seats is None else f", not {_as_written(where, (*path, 'seats'), seats)}"
        diags.append(
            error(
                "SG901",
                where.key(*path, "seats"),
                f"{section} needs `seats`, a whole number from 1 to 1,000,000,000{given}",
            )
        )
        return None
    for key in sorted(set(spec) - {"name", "seats", "vacancies"}):
        diags.append(error("SG901", where.key(*path, key), f"unknown key `{key}` in {section}"))
    before = len(diags)
    vacancies = _vacancies(spec.get("vacancies", []), seats, (*path, "vacancies"), where, diags)
    body = Body(body_id, name, seats, tuple(vacancies), incomplete=len(diags) > before)
    lowest = min(body.possible_strengths())
    if lowest < 0:  # each vacancy fits, but overlapping ones can leave more seats empty than there are
        diags.append(
            error(
                "SG901",
                where.key(*path, "vacancies"),
                f"{section} vacancies overlap to {seats - lowest} empty seats of {seats} (strength {lowest})",
            )
        )
        return None
    return body


def _vacancies(
    value: Any, seats: int, path: KeyPath, where: Locator, diags: list[Diagnostic]
) -> list[Vacancy]:
    if not isinstance(value, list):
        diags.append(
            error("SG901", where.key(*path), "`vacancies` must be a list of { from, to, count } tables")
        )
        return []
    out: list[Vacancy] = []
    for index, item in enumerate(value):
        vacancy = _vacancy(item, seats, (*path, index), where, diags)
        if vacancy is not None:
            out.append(vacancy)
    return out


def _vacancy(item: Any, seats: int, path: KeyPath, where: Locator, diags: list[Diagnostic]) -> Vacancy | None:
    if not isinstance(item, dict):
        diags.append(
            error(
                "SG901",
                where.key(*path),
                "each vacancy must be a table like { from = 2021-03-01, count = 1 }",
            )
        )
        return None
    problems = _vacancy_problems(item, seats, path, where)
    count, start, end = item.get("count", 1), _day(item.get("from")), _day(item.get("to"))
    if not problems and start is not None and end is not None and end < start:
        problems.append((where.key(*path), "a vacancy ends before it starts"))
    if problems or start is None:
        diags.extend(error("SG901", span, message) for span, message in problems)
        return None
    return Vacancy(start, end, count)


def _vacancy_problems(
    item: Mapping[str, Any], seats: int, path: KeyPath, where: Locator
) -> list[tuple[Span, str]]:
    """Each wrong key of one vacancy table, at that key."""
    problems = [
        (where.key(*path, key), f"unknown key `{key}` in a vacancy")
        for key in sorted(set(item) - {"from", "to", "count"})
    ]
    if "from" not in item:
        problems.append((where.key(*path), "a vacancy needs `from`, a date such as 2021-03-01"))
    for key in ("from", "to"):
        if key in item and _day(item[key]) is None:
            shown = _as_written(where, (*path, key), item[key])
            problems.append(
                (where.key(*path, key), f"a vacancy's `{key}` must be a date such as 2021-03-01, not {shown}")
            )
    count = item.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= seats:
        shown = _as_written(where, (*path, "count"), count)
        problems.append(
            (
                where.key(*path, "count"),
                f"a vacancy's `count` must be a whole number from 1 to {seats}, not {shown}",
            )
        )
    return problems


def _as_written(where: Locator, path: KeyPath, value: Any) -> str:
    """A value for a message as site.toml writes it, or in plain words: never a Python repr."""
    written = where.written(*path)
    if written is not None and len(written) <= 40:
        return written
    return _kind_of(value)


def _kind_of(value: Any) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "true or false"),
        ((int, float), "a number"),
        (str, "a string"),
        (dt.datetime, "a date and time"),
        (dt.date, "a date"),
        (dt.time, "a time of day"),
        (list, "a list"),
        (dict, "a table"),
    )
    return next((words for kind, words in kinds if isinstance(value, kind)), "a value")


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
    data: Mapping[str, Any], bodies: Mapping[str, Body], where: Locator, diags: list[Diagnostic]
) -> dict[str, Rule]:
    own = _table(data, "rules", where, diags)
    rules: dict[str, Rule] = {}
    for name, expression in {**DEFAULT_RULES, **own}.items():
        span = where.key("rules", name) if name in own else Span.point(CONFIG_FILE)
        if name in RESERVED_RULE_NAMES or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
            diags.append(error("SG901", span, f"`{name}` cannot name a rule (reserved or not a plain name)"))
            continue
        if not isinstance(expression, str):
            shown = _as_written(where, ("rules", name), expression)
            diags.append(error("SG901", span, f"rule `{name}` must be a string expression, not {shown}"))
            continue
        rule = _rule(name, expression, bodies, where, diags)
        if rule is not None:
            rules[name] = rule
    return rules


def _rule(
    name: str, expression: str, bodies: Mapping[str, Body], where: Locator, diags: list[Diagnostic]
) -> Rule | None:
    try:
        rule = parse_rule(name, expression)
    except RuleError as exc:
        diags.append(
            error(
                "SG901",
                _rule_error_span(where, name, expression, exc),
                f"rule `{name}` = {_quoted(expression)}: {exc.message}",
            )
        )
        return None
    for body in bodies.values():
        for strength in sorted(body.possible_strengths()):
            try:
                rule.evaluate(body.seats, strength)
            except RuleError as exc:
                diags.append(
                    error(
                        "SG901",
                        where.key("rules", name),
                        f"rule `{name}`: {exc.message.removeprefix(f'rule `{name}` ')} for {body.name} "
                        f"(seats {body.seats}, strength {strength})",
                        help="make it divide by a value that is never 0 (max(1, ...))"
                        if exc.message == "division by zero"
                        else "wrap the expression in floor() or ceil()"
                        if "whole number" in exc.message
                        else None,
                    )
                )
                return None
    return rule


def _rule_error_span(where: Locator, name: str, expression: str, exc: RuleError) -> Span:
    """The offending text of a rule where the error names one and the string can be mapped, else
    the whole `name = "..."`."""
    if exc.end is not None:
        inside = where.inside_string(("rules", name), expression, exc.offset, exc.end)
        if inside is not None:
            return inside
    return where.key("rules", name)


def _quoted(expression: str) -> str:
    """The expression for a message: on one line, and cut short if long."""
    folded = " ".join(expression.split())
    return f'"{folded}"' if len(folded) <= 60 else f'"{folded[:57]}…"'
