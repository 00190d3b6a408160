"""Where things are in site.toml: the place of every key and value of a valid TOML text, which
tomllib keeps none of, as spans for the diagnostics that name them."""

from __future__ import annotations

import bisect
import contextlib
import re
import tomllib

from sitegen.diagnostics import Span

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
            found = _SCALAR_END.search(self.text, self.pos)
            end = found.start() if found else len(self.text)
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


class Locator:
    """Spans of keys and values in site.toml, by their path in the parsed data."""

    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file  # `file`: the name spans give (CONFIG_FILE)
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
        return Span.point(self.file)

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
        return Span(self.file, line, column, end_line, end_column)

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
