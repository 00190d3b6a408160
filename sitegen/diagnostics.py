"""One `Span` and one `Diagnostic` type for every stage, and their three output formats."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of one file: 1-based line and column (in characters), end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __reduce__(self) -> tuple:
        # the default for a slotted dataclass looks its fields up for every object unpickled
        return (Span, (self.file, self.line, self.column, self.end_line, self.end_column))

    @classmethod
    def point(cls, file: str, line: int = 1, column: int = 1, width: int = 1) -> Span:
        return cls(file, line, column, line, column + max(width, 1))


#: Codes whose failure is a configuration problem: exit status 2 (SPEC §7).
CONFIG_CODES = frozenset({"SG901", "SG902"})


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding of any stage, pointing at the text that caused it."""

    code: str
    severity: Severity
    span: Span
    message: str
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.code, self.message)

    def to_json(self) -> dict:
        s = self.span
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": s.file,
            "line": s.line,
            "column": s.column,
            "end_line": s.end_line,
            "end_column": s.end_column,
            "message": self.message,
            "help": self.help,
        }


def error(code: str, span: Span, message: str, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, span, message, help)


def warning(code: str, span: Span, message: str, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, span, message, help)


def sorted_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by file, line, column; exact duplicates dropped."""
    return sorted(set(diags), key=Diagnostic.sort_key)


@dataclass(frozen=True, slots=True)
class Summary:
    articles: int
    annotations: int
    errors: int
    warnings: int


def summarize(diags: Sequence[Diagnostic], articles: int, annotations: int) -> Summary:
    errors = sum(1 for d in diags if d.is_error)
    return Summary(articles, annotations, errors, len(diags) - errors)


def exit_status(diags: Iterable[Diagnostic], *, strict: bool) -> int:
    """0 clean, 1 content errors (or warnings under --strict), 2 configuration/template errors."""
    diags = list(diags)
    if any(d.code in CONFIG_CODES for d in diags):
        return 2
    if any(d.is_error for d in diags):
        return 1
    return 1 if strict and diags else 0


# ------------------------------------------------------------------ formats


def source_lines(text: str) -> list[str]:
    """A file's lines as positions count them: at `\n` only.  splitlines() also breaks at
    U+2028, NEL or a form feed, which would show the wrong line under a diagnostic."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def format_text(diags: Sequence[Diagnostic], sources: Mapping[str, str], *, color: bool = False) -> str:
    """rustc/ruff-style: header, location arrow, the source line, a caret under the span."""
    lines: dict[str, list[str] | None] = {}  # each file split once, however many diagnostics it has

    def line_of(s: Span) -> str | None:
        if s.file not in lines:
            text = sources.get(s.file)
            lines[s.file] = source_lines(text) if text is not None else None
        found = lines[s.file]
        return found[s.line - 1] if found is not None and 1 <= s.line <= len(found) else None

    return "".join(_format_one(d, line_of(d.span), color) for d in diags)


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _format_one(d: Diagnostic, line: str | None, color: bool) -> str:
    s = d.span
    head_color = "1;31" if d.is_error else "1;33"
    out = [f"{_paint(f'{d.severity.value}[{d.code}]', head_color, color)}: {_printable(d.message)}\n"]
    gutter = " " * len(str(s.line))
    out.append(f"{gutter}--> {_printable(s.file)}:{s.line}:{s.column}\n")
    if line is not None:
        shown, start, width = _clip(line, s)
        shown = shown.replace("\t", " ")  # one cell each, as the columns count them
        # columns count characters (SPEC §4); the caret is placed by how wide they show
        beyond = max(start + width - len(shown), 0)  # a span past the line's end (a missing `>>`)
        caret = " " * _shown_width(shown[:start]) + "^" * max(
            _shown_width(shown[start : start + width]) + beyond, 1
        )
        out.append(f"{gutter} |\n{s.line} | {shown}\n{gutter} | {_paint(caret, head_color, color)}\n")
    if d.help:
        out.append(f"{gutter} = help: {_printable(d.help)}\n")
    out.append("\n")
    return "".join(out)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(path: str) -> str:
    """Text as it can be shown on one line: a file name holding a line feed, or a message
    naming such a file, could otherwise print what looks like another diagnostic."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), path)


_MAX_SHOWN = 160


def _shown_width(text: str) -> int:
    """Terminal cells: two for wide (CJK) characters, none for marks drawn on the one before
    (accents, Thai and Devanagari vowel signs) nor for format characters (a zero-width joiner)."""
    if text.isascii():
        return len(text)
    return sum(_cells(c) for c in text)


def _cells(char: str) -> int:
    if char == "\ufe0f":  # emoji presentation: ⚠️ takes two cells, its ⚠ having been counted as one
        return 1
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _clip(line: str, s: Span) -> tuple[str, int, int]:
    """The part of a (possibly huge) line around the span, the caret start and width."""
    start = max(s.column - 1, 0)
    end = s.end_column - 1 if s.end_line == s.line else len(line)
    width = max(min(end, len(line) + 1) - start, 1)
    if len(line) <= _MAX_SHOWN:
        return line, min(start, len(line)), width
    left = max(start - 40, 0)
    width = min(width, _MAX_SHOWN - 40)
    prefix = "…" if left else ""
    suffix = "…" if left + _MAX_SHOWN < len(line) else ""
    return prefix + line[left : left + _MAX_SHOWN] + suffix, start - left + len(prefix), width


def format_json(diags: Sequence[Diagnostic], summary: Summary, *, failure: str | None = None) -> str:
    """SPEC §4's object; `failure`: why a run stopped before it had diagnostics to give (a
    refused --out, an output that cannot be written), under "error", so that a script reading
    stdout still finds one JSON object."""
    report: dict = {"diagnostics": [d.to_json() for d in diags], "summary": asdict(summary)}
    if failure is not None:
        report["error"] = failure
    return _valid_unicode(json.dumps(report, ensure_ascii=False, indent=1))


def report_failure(fmt: str, message: str) -> None:
    """A run that stops with no diagnostics to give (exit 2): said on stderr, and on stdout
    too for a script reading a machine format (see `report_failure_to_machines`)."""
    print(f"sitegen: {message}", file=sys.stderr)
    report_failure_to_machines(fmt, message)


def report_failure_to_machines(fmt: str, message: str) -> None:
    """With `--format json`, the one object a script reading stdout expects; with `github`,
    an error workflow command, so that the stop shows in the run's annotations."""
    if fmt == "json":
        sys.stdout.write(format_json([], Summary(0, 0, 0, 0), failure=message) + "\n")
    elif fmt == "github":
        sys.stdout.write(_valid_unicode(f"::error title=sitegen::{_gh_escape(message)}\n"))


def _valid_unicode(text: str) -> str:
    """A file name that is not UTF-8 is read as lone surrogates (`bad\udcff.md`); JSON and
    workflow commands must be UTF-8, so each undecodable byte is shown as U+FFFD."""
    if text.isascii():
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def format_github(diags: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic."""
    lines = []
    for d in diags:
        s = d.span
        kind = "error" if d.is_error else "warning"
        message = d.message + (f"\n{d.help}" if d.help else "")
        props = (
            f"file={_gh_escape(s.file, prop=True)},line={s.line},col={s.column},"
            f"endLine={s.end_line},endColumn={s.end_column},title={d.code}"
        )
        lines.append(f"::{kind} {props}::{_gh_escape(message)}\n")
    return _valid_unicode("".join(lines))


def written(raw: str, limit: int = 80) -> str:
    """A value in a message as the writer wrote it, in backticks, its end cut off visibly when long."""
    return f"`{raw[:limit]}{'…' if len(raw) > limit else ''}`"


def plural(n: int, word: str) -> str:
    """`1 article`, `2 articles`."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_summary_line(summary: Summary, seconds: float | None = None) -> str:
    parts = [
        plural(summary.articles, "article"),
        plural(summary.annotations, "annotation"),
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning"),
    ]
    timing = f" in {seconds:.2f}s" if seconds is not None else ""
    return ", ".join(parts) + timing
