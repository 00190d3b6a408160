"""Front matter: YAML between `---` fences, read with positions so errors point into it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from sitegen.diagnostics import Diagnostic, Span, error, written
from sitegen.text import clean_text

# libyaml when PyYAML was built with it: the pure-Python composer dominates a large site's load.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_ONLY_BREAKS = str.maketrans({"\x85": " ", "\u2028": " ", "\u2029": " "})


@dataclass
class FrontMatter:
    """The YAML mapping of a file, and where each key's value is (for diagnostics)."""

    file: str
    values: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    header: Span | None = None  # the opening fence, where "missing key" errors point
    present: bool = False
    broken: set[str] = field(default_factory=set)  # keys whose value could not be read
    unreadable: bool = False  # the YAML itself did not parse: no "missing key" follow-ups
    scalars: dict[str, str] = field(default_factory=dict)  # each scalar value as written (0123, not 83)

    def span(self, key: str) -> Span:
        if key in self.spans:
            return self.spans[key]
        return self.header or Span.point(self.file, 1, 1, 3)


def read_front_matter(
    file: str, yaml_text: str | None, first_line: int, needs: tuple[str, ...] = ("title", "date")
) -> tuple[FrontMatter, list[Diagnostic]]:
    """Parse YAML whose first line is file line `first_line` (1-based); `needs`: the keys the
    help of a missing front matter names.  No YAML (None) at line 2 is a fence never closed."""
    fm = FrontMatter(file, header=Span.point(file, max(first_line - 1, 1), 1, 3))
    if yaml_text is None and first_line == 2:
        return fm, [
            error(
                "SG501",
                fm.span(""),
                "front matter is never closed: no `---` line ends the YAML this `---` opens",
                help="add a line `---` after the last `key: value` line",
            )
        ]
    if yaml_text is None:
        keys = [f"`{key}:`" for key in needs]
        listed = ", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else "".join(keys)
        return fm, [
            error(
                "SG501",
                Span.point(file, 1, 1),
                "no front matter: a file must start with a `---` line, YAML, and a closing `---`",
                help=f"add front matter with at least {listed}",
            )
        ]
    fm.present = True
    # YAML also breaks lines at U+0085, U+2028 and U+2029; the file does not. As spaces, they
    # keep every YAML position on the file's own line.
    yaml_text = yaml_text.translate(_YAML_ONLY_BREAKS)
    try:
        loader = _Loader(yaml_text)
        try:
            node = loader.get_single_node()
            if node is None:
                return fm, []
            if not isinstance(node, yaml.MappingNode):
                fm.unreadable = True
                return fm, [
                    error("SG501", fm.span(""), "front matter must be a mapping of `key: value` lines")
                ]
            return fm, _read_values(fm, loader, node, first_line)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        fm.unreadable = True
        return fm, [_yaml_error(file, exc, first_line, yaml_text)]
    except RecursionError:
        fm.unreadable = True
        return fm, [error("SG501", fm.span(""), "front matter is nested too deeply")]


def _read_values(fm: FrontMatter, loader, node: yaml.MappingNode, first_line: int) -> list[Diagnostic]:
    """Build each value on its own, so one that YAML cannot build (2021-02-30) is reported where it is."""
    diags: list[Diagnostic] = []
    for key_node, value_node in node.value:
        key = str(key_node.value)
        span = _node_span(fm.file, value_node, first_line)
        if key in fm.spans:  # YAML would keep the last quietly: which title did the writer mean?
            first = fm.spans[key]
            diags.append(
                error(
                    "SG501",
                    _node_span(fm.file, key_node, first_line),
                    f"`{key}` is given twice: first at line {first.line}",
                    help="keep one of them",
                )
            )
        fm.spans[key] = span
        if isinstance(value_node, yaml.ScalarNode):
            fm.scalars[key] = str(value_node.value)
        try:
            fm.values[key] = loader.construct_object(value_node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            fm.broken.add(key)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]  # not PyYAML's marks
            diags.append(error("SG501", span, f"invalid value for `{key}`: {problem}"[:300]))
    return diags


def _node_span(file: str, node: yaml.Node, first_line: int) -> Span:
    start, end = node.start_mark, node.end_mark
    line = first_line + start.line
    end_line = first_line + end.line
    end_col = end.column + 1
    if end_line != line or end_col <= start.column + 1:
        end_line, end_col = line, start.column + 2
    return Span(file, line, start.column + 1, end_line, end_col)


def _yaml_error(file: str, exc: yaml.YAMLError, first_line: int, text: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return error("SG501", Span.point(file, first_line, 1), f"invalid YAML in front matter: {problem}")
    span = Span.point(file, first_line + mark.line, mark.column + 1)
    help = _yaml_help(text, mark, problem)
    began = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None)
    if began is not None and context and "quoted scalar" in context and began.line != mark.line:
        # `title: "A` runs to the end of the front matter: where it began is what to fix
        where = f"{first_line + began.line}:{began.column + 1}"
        help = f"the quoted value begun at line {where} has no closing quote"
    return error("SG501", span, f"invalid YAML in front matter: {problem}", help=help)


def _yaml_help(text: str, mark: yaml.Mark, problem: str) -> str:
    """The usual fix for the two commonest slips, seen in the line the error is on."""
    lines = text.split("\n")
    line = lines[mark.line] if 0 <= mark.line < len(lines) else ""
    if line[mark.column : mark.column + 1] == "\t":
        return "YAML is indented with spaces; a tab cannot indent it"
    unquoted = _UNQUOTED_COLON.match(line)
    # only where YAML stopped at a colon inside the value, not at the key's own
    if "mapping values are not allowed" in problem and unquoted and mark.column > unquoted.start(2):
        key, value = unquoted.groups()
        value = value.split(" #", 1)[0].rstrip()  # a comment stays outside the quotes
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'a value holding ": " goes in quotes: {key}: "{escaped}"'
    return "check quoting and indentation"


# `title: Khan: the vote`, a plain value holding ": "
_UNQUOTED_COLON = re.compile(r"\s*([A-Za-z_][\w-]*):\s+([^\"'\s].*?)\s*$")


# --------------------------------------------------------------- field readers


def as_text(fm: FrontMatter, key: str, *, required: bool, diags: list[Diagnostic]) -> str | None:
    value = fm.values.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required and _should_report_missing(fm, key):
            diags.append(error("SG501", fm.span(key), f"front matter needs `{key}:`"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        diags.append(error("SG501", fm.span(key), f"`{key}` must be text, not {_describe(value)}"))
        return None
    return clean_text(str(value).strip())


def as_date(fm: FrontMatter, key: str, *, required: bool, diags: list[Diagnostic]) -> dt.date | None:
    value = fm.values.get(key)
    if value is None:
        if required and _should_report_missing(fm, key):
            diags.append(error("SG501", fm.span(key), f"front matter needs `{key}:` (YYYY-MM-DD)"))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    diags.append(error("SG501", fm.span(key), f"`{key}` must be a date (YYYY-MM-DD), not {_describe(value)}"))
    return None


def _should_report_missing(fm: FrontMatter, key: str) -> bool:
    return not fm.unreadable and key not in fm.broken


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?", text):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None
    return None


def as_tags(fm: FrontMatter, diags: list[Diagnostic]) -> tuple[str, ...]:
    value = fm.values.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part for part in value.split(",")]
    if not isinstance(value, list) or not all(
        isinstance(t, str | int) and not isinstance(t, bool) for t in value
    ):
        diags.append(
            error("SG501", fm.span("tags"), "`tags` must be a list of words, e.g. [politics, senate]")
        )
        return ()
    tags: list[str] = []
    for tag in (clean_text(str(t)).strip() for t in value):
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def as_flag(fm: FrontMatter, key: str, diags: list[Diagnostic]) -> bool:
    value = fm.values.get(key)
    if value is None:  # absent, or `draft:` left empty as other optional keys may be
        return False
    if isinstance(value, bool):
        return value
    diags.append(error("SG501", fm.span(key), f"`{key}` must be true or false, not {_describe(value)}"))
    return False


def _describe(value: Any) -> str:
    """A YAML value as a writer would call it, not as Python prints it."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"the time {value.isoformat(sep=' ')}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return written(value, 60)
    return str(value)[:60]
