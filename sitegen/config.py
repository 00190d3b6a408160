"""site.toml: site settings, bodies with dated vacancies, named threshold rules (SPEC §1)."""

from __future__ import annotations

import bisect
import contextlib
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


# ------------------------------------------------------------ where things are in site.toml

# Keys and array indexes, as in the parsed data: ("bodies", "NA", "vacancies", 0)
KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]|\Z")
# site.toml nests four deep (bodies, NA, vacancies, a vacancy): values nested deeper are left
# unlocated, and the scan's recursion stays far from any limit.
_MAX_NESTING = 16


class _Unlocatable(Exception):
    """The scan met something it does not follow; what it located so far stays."""


class _Scanner:
    """Records the place of every key and value of a valid TOML text; tomllib keeps none.

    Only run after tomllib accepted the text, so it may assume valid TOML and need not check it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.keys: dict[KeyPath, tuple[int, int]] = {}  # `key = value` whole, a table header, an element
        self.values: dict[KeyPath, tuple[int, int]] = {}
        self.arrays_of_tables: dict[KeyPath, int] = {}  # how many [[...]] tables each has so far

    def scan(self) -> None:
        table: KeyPath = ()
        while self._skip_blank(newlines=True) < len(self.text):
            if self.text[self.pos] == "[":
                table = self._header()
            else:
                self._key_value(table, depth=0)

    def _header(self) -> KeyPath:
        start = self.pos
        double = self.text.startswith("[[", start)
        self.pos += 2 if double else 1
        parts = self._key()
        self.pos = self.text.index("]]" if double else "]", self.pos) + (2 if double else 1)
        path = self._resolved(parts[:-1]) + (parts[-1],)
        if double:
            index = self.arrays_of_tables.get(path, 0)
            self.arrays_of_tables[path] = index + 1
            path += (index,)
        for length in range(1, len(path)):  # the header stands for the tables it makes too,
            self.keys.setdefault(path[:length], (start, self.pos))
        self.keys[path] = (start, self.pos)  # but a table's own header for the table
        return path

    def _resolved(self, parts: list[str]) -> KeyPath:
        """A dotted name in a header as a data path: a part naming an array of tables means its last table."""
        path: KeyPath = ()
        for part in parts:
            path += (part,)
            if path in self.arrays_of_tables:
                path += (self.arrays_of_tables[path] - 1,)
        return path

    def _key_value(self, table: KeyPath, depth: int) -> None:
        start = self.pos
        parts = self._key()
        self.pos = self.text.index("=", self.pos) + 1
        self._skip_blank(newlines=False)
        path = table + tuple(parts)
        for length in range(len(table) + 1, len(path) + 1):  # and the tables a dotted key makes
            self.keys.setdefault(path[:length], self._rest_of_line(start))
        value = self._value(path, depth)
        self.keys[path] = (start, value[1])

    def _rest_of_line(self, start: int) -> tuple[int, int]:
        """Where a key or element stands until its value is read: should the scan give up inside
        the value, the key's line is still known."""
        end = self.text.find("\n", start)
        return start, len(self.text) if end < 0 else end

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            parts.append(self._key_part())
            self._skip_blank(newlines=False)
            if not self.text.startswith(".", self.pos):
                return parts
            self.pos += 1

    def _key_part(self) -> str:
        char = self.text[self.pos]
        if char in "\"'":
            start = self.pos
            self._string()
            return tomllib.loads(f"k = {self.text[start : self.pos]}")["k"]
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:
            raise _Unlocatable
        self.pos = match.end()
        return match.group()

    def _value(self, path: KeyPath, depth: int) -> tuple[int, int]:
        if depth > _MAX_NESTING:
            raise _Unlocatable
        start, char = self.pos, self.text[self.pos]
        if char in "\"'":
            self._string()
        elif char == "[":
            self._array(path, depth)
        elif char == "{":
            self._inline_table(path, depth)
        else:
            end = _SCALAR_END.search(self.text, self.pos).start()
            self.pos = start + len(self.text[start:end].rstrip())
        self.values[path] = (start, self.pos)
        return start, self.pos

    def _array(self, path: KeyPath, depth: int) -> None:
        self.pos += 1
        index = 0
        while self._skip_blank(newlines=True) < len(self.text) and self.text[self.pos] != "]":
            element = path + (index,)
            self.keys[element] = self._rest_of_line(self.pos)
            self.keys[element] = self._value(element, depth + 1)
            index += 1
            self._skip_blank(newlines=True)
            if self.text.startswith(",", self.pos):
                self.pos += 1
        self.pos += 1

    def _inline_table(self, path: KeyPath, depth: int) -> None:
        self.pos += 1
        while self._skip_blank(newlines=False) < len(self.text) and self.text[self.pos] != "}":
            self._key_value(path, depth + 1)
            self._skip_blank(newlines=False)
            if self.text.startswith(",", self.pos):
                self.pos += 1
        self.pos += 1

    def _string(self) -> None:
        text, start = self.text, self.pos
        quote = text[start]
        if text.startswith(quote * 3, start):
            end = text.index(quote * 3, start + 3)
            while quote == '"' and _escaped(text, end):
                end = text.index(quote * 3, end + 1)
            # up to two quotes right before the closing three belong to the string: """a""""" is a""
            after = text[end + 3 : end + 5]
            self.pos = end + 3 + len(after) - len(after.lstrip(quote))
            return
        end = text.index(quote, start + 1)
        while quote == '"' and _escaped(text, end):
            end = text.index(quote, end + 1)
        self.pos = end + 1

    def _skip_blank(self, *, newlines: bool) -> int:
        """Past white space and comments (and line breaks if `newlines`); answers the new position."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        return self.pos


def _escaped(text: str, index: int) -> bool:
    """True if an odd number of backslashes stands right before `index`."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


class _Locator:
    """Spans of keys and values in site.toml, by their path in the parsed data."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]  # TOML breaks lines only at \n
        scanner = _Scanner(text)
        # A place is a nicety: what the scan does not reach falls back to its table, or line 1.
        with contextlib.suppress(Exception):  # whatever a scan stumbles on, the check goes on
            scanner.scan()
        self.keys, self.values = scanner.keys, scanner.values

    def key(self, *path: str | int) -> Span:
        """`key = value` whole (a table's header, an array's element), or the nearest located table's."""
        for length in range(len(path), 0, -1):
            found = self.keys.get(path[:length])
            if found is not None:
                return self._span(*found)
        return Span.point(CONFIG_FILE)

    def written(self, *path: str | int) -> str | None:
        """The value as the file writes it, white space folded."""
        found = self.values.get(path)
        return " ".join(self.text[found[0] : found[1]].split()) if found is not None else None

    def inside_string(self, path: KeyPath, parsed: str, start: int, end: int) -> Span | None:
        """Characters [start, end) of the string value at `path`, if its text is what was parsed
        (no escapes to undo); None otherwise."""
        found = self.values.get(path)
        if found is None:
            return None
        places = _string_places(self.text, *found)
        if places is None or "".join(self.text[p] for p in places[:-1]) != parsed:
            return None
        first = places[min(start, len(places) - 1)]
        last = places[min(max(end, start + 1), len(places) - 1)] if end > start else first + 1
        return self._span(first, last)

    def _span(self, start: int, end: int) -> Span:
        line, column = self._place(start)
        end_line, end_column = self._place(max(end, start + 1))
        return Span(CONFIG_FILE, line, column, end_line, end_column)

    def _place(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


def _string_places(text: str, start: int, end: int) -> list[int] | None:
    """Where each character of the TOML string text[start:end] stands, and its closing quote last;
    None for a string with backslash escapes, whose characters are not where they are written."""
    raw = text[start:end]
    quote = raw[:3] if raw[:3] in ('"""', "'''") else raw[:1]
    if quote not in ('"', "'", '"""', "'''") or (quote[0] == '"' and "\\" in raw):
        return None
    first, stop = start + len(quote), end - len(quote)
    if len(quote) == 3:  # a line break right after the opening quotes is not part of the string
        first += 2 if text.startswith("\r\n", first) else 1 if text.startswith("\n", first) else 0
    places = [p for p in range(first, stop) if not (text[p] == "\r" and text.startswith("\n", p + 1))]
    return places + [stop]


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


def _site(data: Mapping[str, Any], where: _Locator, diags: list[Diagnostic]) -> tuple[str, str, str]:
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
    if base_url:
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


def _names_taken(site: Mapping[str, Any], where: _Locator, diags: list[Diagnostic]) -> None:
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


def _table(data: Mapping[str, Any], name: str, where: _Locator, diags: list[Diagnostic]) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        diags.append(error("SG901", where.key(name), f"`{name}` must be a table"))
        return {}
    return value


def _string(table: Mapping[str, Any], path: KeyPath, where: _Locator, diags: list[Diagnostic]) -> str | None:
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


def _bodies(data: Mapping[str, Any], where: _Locator, diags: list[Diagnostic]) -> dict[str, Body]:
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


def _body(body_id: str, spec: Mapping[str, Any], where: _Locator, diags: list[Diagnostic]) -> Body | None:
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
    vacancies = _vacancies(spec.get("vacancies", []), seats, (*path, "vacancies"), where, diags)
    body = Body(body_id, name, seats, tuple(vacancies))
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
    value: Any, seats: int, path: KeyPath, where: _Locator, diags: list[Diagnostic]
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


def _vacancy(
    item: Any, seats: int, path: KeyPath, where: _Locator, diags: list[Diagnostic]
) -> Vacancy | None:
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
    item: Mapping[str, Any], seats: int, path: KeyPath, where: _Locator
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


def _as_written(where: _Locator, path: KeyPath, value: Any) -> str:
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
    data: Mapping[str, Any], bodies: Mapping[str, Body], where: _Locator, diags: list[Diagnostic]
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
    name: str, expression: str, bodies: Mapping[str, Body], where: _Locator, diags: list[Diagnostic]
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


def _rule_error_span(where: _Locator, name: str, expression: str, exc: RuleError) -> Span:
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
