"""Robustness: no input, however malformed, makes sitegen raise or print a traceback (SPEC §7).

Four layers, each one closer to the user:

1. property tests (hypothesis) on the public entry points: `parse_annotation`,
   `parse_rule`, `load_config` and `check_site` on a real site on disk;
2. a deterministic mutation run: 400 seeded mutations of ten clean articles and
   about a hundred broken `site.toml` files through `sitegen.cli.main`, whose JSON
   output must keep the SPEC §4 shape and whose exit code must follow SPEC §7;
3. hand-picked pathological inputs (deep nesting, huge numbers, line separators,
   a line full of `<<`) as plain parametrized regression tests;
4. one end-to-end run of `python -m sitegen check` on a broken site.

Every diagnostic is also checked to point into a file of the site: line and
column 1-based and inside the file (a span may end one past the last character).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import pytest
import yaml
from conftest import FIXTURE_SITE
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sitegen.annotations import Annotation, SyntaxProblem, parse_annotation
from sitegen.cli import main
from sitegen.config import SiteConfig, load_config
from sitegen.diagnostics import Diagnostic
from sitegen.pipeline import check_site
from sitegen.rules import Rule, RuleError, parse_rule

T = TypeVar("T")
# Inputs of several kilobytes are the point here; hypothesis need not warn about their repr.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
REPO = Path(__file__).resolve().parent.parent
ARTICLES = "content/articles"

#: SPEC §4, the whole table.
KNOWN_CODES = frozenset(
    {"SG101", "SG102", "SG103", "SG104", "SG105", "SG201", "SG202", "SG203", "SG204", "SG205",
     "SG206", "SG207", "SG208", "SG209", "SG301", "SG302", "SG303", "SG304", "SG401", "SG402",
     "SG501", "SG502", "SG901", "SG902",
     "SG503"}  # sitegen's own, beyond SPEC's table: a footnote label that does not match (README)
)
#: Codes reported on an annotation: the span lies inside a `<<...>>` of that line.
ANNOTATION_CODES = frozenset(c for c in KNOWN_CODES if c[2] in "1234")
CONFIG_CODES = frozenset({"SG901", "SG902"})
#: A rule whose value is not whole, with a numerator of 4680 digits (Python prints at most 4300).
HUGE_FRACTION = "(" + " * ".join(["999999999999999999"] * 260) + ") / 2"
DIAGNOSTIC_KEYS = {"code", "severity", "file", "line", "column", "end_line", "end_column", "message"}
SUMMARY_KEYS = {"articles", "annotations", "errors", "warnings"}

# Hypothesis: deterministic (no example database written into the repository, the
# same examples on every run) and moderate, so the whole file stays well under a minute.
# No "explain" phase: it re-runs failing cases many times only to list the lines they ran.
PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None, phases=PHASES)
#: For the cheap (about a millisecond) but large input spaces of rules and site.toml.
MANY = settings(FAST, max_examples=400)
ON_DISK = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)

FM = "---\ntitle: {title}\ndate: 2021-03-06\ntags: [robustness]\n---\n"

#: Ten clean articles against tests/fixtures/site (NA: 342 seats, one vacant in March 2021).
SEED_ARTICLES: list[str] = [
    FM.format(title="Seats")
    + "Khan's allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>.\n\n"
    "The opposition holds 160 of the 341 members sitting <<seats NA=160/341 majority=no>>.\n",
    FM.format(title="Thresholds")
    + "A simple majority of the 342 seats is 172 <<threshold NA majority=172>>, and two thirds "
    "of them is 228 <<threshold NA two_thirds=228>>. Of the 341 sitting members, a majority "
    "is 171 <<threshold NA sitting_majority=171>>.\n",
    FM.format(title="Votes")
    + "The motion got 178 votes for and 160 against, with 3 members absent "
    "<<votes NA for=178 against=160 absent=3 total=341 needs=majority result=passed>>.\n\n"
    "Had Khan got only 164 votes to 169, he would have lost "
    "<<votes NA for=164 against=169 needs=172 result=failed>>.\n",
    FM.format(title="Tally")
    + "Gilani received 169 votes and Shaikh 164 "
    "<<tally NA Gilani=169 Shaikh=164 total=333 winner=Gilani margin=5 date=2021-03-03>>, "
    "a margin of five.\n",
    FM.format(title="Sums")
    + "The Senate: PTI 25, PPP 21, PML-N 17, BAP 13 and others 24 "
    "<<sum Senate PTI=25 PPP=21 PML-N=17 BAP=13 others=24>>.\n\n"
    "The 172 needed and a cushion of 6 make 178 <<sum needed=172 cushion=6 total=178>>.\n",
    FM.format(title="Percentages")
    + "178 of 342 is 52% <<pct 178/342 52%>>, and 178 of 341 is 52.2% "
    "<<pct part=178 whole=341 value=52.2%>>.\n",
    FM.format(title="Claims")
    + "Khan needs 172 lawmakers, the wire said "
    "<<claim src=001 quote=\"Khan needs the support of 172 lawmakers\">>; the daily agreed "
    "<<claim src=001 src=002 quote=\"the government having 178 seats\">>. A researcher said "
    "\"no party can remain in power without institutional support\" "
    "<<claim src=001 quote=\"\\\"No party can remain in power without institutional support\">>.\n",
    FM.format(title="Facts")
    + "The allies hold 178 seats <<fact allies=178 share=52%>>, out of 342 "
    "<<seats NA=@allies/342 majority=yes>>; that is 52% of 342 <<pct @allies/342 52%>>.\n",
    FM.format(title="\"Mixed: Markdown\"")
    + "## A heading with 172 <<threshold NA majority=172>>\n\n"
    "- a list item: 178 of 342 <<seats NA=178/342>>\n"
    "- another: 52% of 342 is 178 <<pct 178/342 52%>>\n\n"
    "| Group | Seats |\n| --- | --- |\n| Government | 178 of 342 <<seats NA=178/342>> |\n\n"
    "> A quote: 160 of 342 <<seats NA=160/342 majority=no>>\n\n"
    "In code, `<<not checked>>` stays literal, and so does \\<< in prose.[^note]\n\n"
    "```\n<<seats NA=1/2>> is literal in a code block\n```\n\n"
    "Raw HTML: <abbr title=\"<<not parsed>>\">NA</abbr>.\n\n"
    "[^note]: A footnote with 172 <<threshold NA majority=172>>.\n",
    FM.format(title="Dates")
    + "On 2021-03-04 the government had 178 of 341 seats "
    "<<seats NA=178/341 majority=yes date=2021-03-04>>; in April it was 178 of 342 "
    "<<seats NA=178/342 majority=yes date=2021-04-01>>. 1,234 and 1,000 make 2,234 "
    "<<sum a=1,234 b=1,000 total=2,234>>.\n",
]

VALID_ANNOTATIONS = [
    "<<seats NA=178/342 majority=yes>>",
    "<<threshold NA majority=172>>",
    "<<votes NA for=178 against=160 absent=3 total=341 needs=majority result=passed>>",
    "<<tally NA Gilani=169 Shaikh=164 total=333 winner=Gilani margin=5 date=2021-03-03>>",
    "<<sum Senate PTI=25 PPP=21 PML-N=17 BAP=13 others=24>>",
    "<<pct 178/342 52%>>",
    "<<pct part=178 whole=341 value=52.2%>>",
    '<<claim src=001 src=002 quote="178 \\"seats\\" \\\\ >> inside">>',
    "<<fact pti_allies=178 share=52.0%>>",
    "<<seats NA=@pti_allies/342 majority=yes date=2021-03-04 prose=no>>",
    "<<sum needed=1,234,567 cushion=-6.5 total=1,234,561.5>>",
]

SPECIALS = ["<", ">", '"', "=", "/", "@", "\\", "\n", "---", "\x00", "<<", ">>", "\t", "\r",
            "\u2028", "\x85", "\ufeff", "%", ",", "-", " ", "`", "[", "]", "*", "|", "#", "é",
            "\U0001f600", "\\<<", "&", "'"]


# ------------------------------------------------------------------ helpers


def make_site(root: Path, articles: dict[str, str | bytes] | None = None) -> Path:
    """A copy of tests/fixtures/site with the given articles (path under content/articles)."""
    site = root / "site"
    if site.exists():
        shutil.rmtree(site)
    shutil.copytree(FIXTURE_SITE, site)
    (site / ARTICLES).mkdir(parents=True, exist_ok=True)
    for name, body in (articles or {}).items():
        write(site / ARTICLES / name, body)
    return site


def write(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    path.write_bytes(data)


def reset_articles(site: Path) -> None:
    shutil.rmtree(site / ARTICLES, ignore_errors=True)
    (site / ARTICLES).mkdir(parents=True)


def file_lines(path: Path) -> list[str]:
    """The file's lines as sitegen counts them: `\\n`, `\\r\\n` and `\\r` end a line."""
    text = path.read_bytes().decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def position_problems(site: Path, d: dict, *, config_may_be_missing: bool = False) -> list[str]:
    """Why a diagnostic (in its JSON form) does not point into a file of the site."""
    where = f"{d.get('code')} {d.get('file')}:{d.get('line')}:{d.get('column')}"
    problems: list[str] = []
    line, column = d["line"], d["column"]
    if not (isinstance(line, int) and isinstance(column, int) and line >= 1 and column >= 1):
        return [f"{where}: line and column must be integers >= 1"]
    if (d["end_line"], d["end_column"]) < (line, column):
        problems.append(f"{where}: span ends at {d['end_line']}:{d['end_column']}, before it starts")
    rel = d["file"]
    if not isinstance(rel, str) or rel.startswith("/") or "\\" in rel or ".." in rel.split("/"):
        return [*problems, f"{where}: file must be relative to the site, with `/`"]
    path = site / rel
    if not path.is_file():
        if config_may_be_missing and rel == "site.toml":
            return problems
        return [*problems, f"{where}: no such file in the site"]
    lines = file_lines(path)
    if line > len(lines):
        return [*problems, f"{where}: the file has only {len(lines)} lines"]
    text = lines[line - 1]
    if column > len(text) + 1:
        problems.append(f"{where}: line {line} has only {len(text)} characters: {text[:80]!r}")
    elif d["code"] in ANNOTATION_CODES and text.rfind("<<", 0, column + 1) < 0:
        problems.append(f"{where}: no annotation at or before the column: {text[:80]!r}")
    return problems


def diagnostic_problems(site: Path, diags: Iterable[Diagnostic]) -> list[str]:
    problems: list[str] = []
    for d in diags:
        assert isinstance(d, Diagnostic)
        problems += position_problems(site, d.to_json())
    return problems


def shape_problems(d: object) -> list[str]:
    """Why one diagnostic of a JSON report does not have the SPEC §4 shape."""
    if not isinstance(d, dict) or not DIAGNOSTIC_KEYS <= set(d) <= DIAGNOSTIC_KEYS | {"help"}:
        return [f"bad diagnostic keys: {str(d)[:200]}"]
    problems: list[str] = []
    if d["code"] not in KNOWN_CODES or d["severity"] not in ("error", "warning"):
        problems.append(f"unknown code or severity: {d['code']!r} {d['severity']!r}")
    if not all(type(d[k]) is int for k in ("line", "column", "end_line", "end_column")):
        problems.append(f"positions must be integers: {str(d)[:200]}")
    if not isinstance(d["message"], str) or not d["message"].strip():
        problems.append(f"{d['code']}: empty message")
    if d.get("help") is not None and not isinstance(d["help"], str):
        problems.append(f"{d['code']}: help must be a string or null")
    return problems


def report_problems(site: Path, payload: object, rc: int, *,
                    config_may_be_missing: bool = False) -> list[str]:
    """Why a `--format json` report does not have the SPEC §4 shape or disagrees with `rc`."""
    if not isinstance(payload, dict) or set(payload) != {"diagnostics", "summary"}:
        return [f"top level must be {{diagnostics, summary}}, got {str(payload)[:200]}"]
    diags, summary = payload["diagnostics"], payload["summary"]
    if not isinstance(summary, dict) or set(summary) != SUMMARY_KEYS or not all(
        type(v) is int and v >= 0 for v in summary.values()
    ):
        return [f"bad summary {summary!r}"]
    if not isinstance(diags, list):
        return ["diagnostics must be a list"]
    problems = [p for d in diags for p in shape_problems(d)]
    if problems:
        return problems
    for d in diags:
        problems += position_problems(site, d, config_may_be_missing=config_may_be_missing)
    keys = [(d["file"], d["line"], d["column"]) for d in diags]
    if keys != sorted(keys):
        problems.append("diagnostics are not sorted by file, line, column")
    errors = sum(d["severity"] == "error" for d in diags)
    if (summary["errors"], summary["warnings"]) != (errors, len(diags) - errors):
        problems.append(f"summary {summary} does not count the {len(diags)} diagnostics")
    expected_rc = 2 if any(d["code"] in CONFIG_CODES for d in diags) else 1 if errors else 0
    if rc != expected_rc:
        problems.append(f"exit code {rc}, but the diagnostics call for {expected_rc}")
    return problems


def run_check(capsys: pytest.CaptureFixture[str], site: Path, fmt: str = "json") -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["check", str(site), "--format", fmt])
    out, err = capsys.readouterr()
    return rc, out, err


def cli_problems(capsys: pytest.CaptureFixture[str], site: Path, *,
                 config_may_be_missing: bool = False) -> tuple[int | None, list[str], dict | None]:
    """Run `sitegen check SITE --format json`; what is wrong with how it ended."""
    try:
        rc, out, err = run_check(capsys, site)
    except (Exception, SystemExit) as exc:  # any escape is the finding
        return None, [f"main() raised {type(exc).__name__}: {exc}"[:500]], None
    problems: list[str] = []
    if rc not in (0, 1, 2):
        problems.append(f"exit code {rc}")
    for stream, text in (("stdout", out), ("stderr", err)):
        if "Traceback" in text:
            problems.append(f"traceback on {stream}: {text[-800:]}")
    if "internal error" in err:
        problems.append(f"internal error: {err.strip()[:500]}")
    try:
        payload = json.loads(out)
    except ValueError:
        return rc, [*problems, f"stdout is not JSON: {out[:200]!r}"], None
    problems += report_problems(site, payload, rc, config_may_be_missing=config_may_be_missing)
    return rc, problems, payload


# ------------------------------------------------- 1. property tests: annotations


class Escaped(AssertionError):
    """An exception escaped from sitegen; one subclass per exception type (see `no_escape`)."""


_ESCAPED: dict[str, type[Escaped]] = {}


def no_escape(call: Callable[..., T], *args: object, allowed: tuple[type[Exception], ...] = ()) -> T:
    """`call(*args)`, turning any exception but `allowed` into a stable test failure.

    The failure is raised outside the `except` block, as one class per exception type and
    with the innermost frames in its message: hypothesis then reports each kind of escape
    once, and does not call a RecursionError flaky because it surfaced at another depth.
    """
    try:
        return call(*args)
    except allowed:
        raise
    except Exception as exc:  # the finding
        name = type(exc).__name__
        frames: deque[str] = deque(maxlen=3)
        tb = exc.__traceback__
        while tb is not None:  # cheaper than traceback.extract_tb on a RecursionError
            code = tb.tb_frame.f_code
            frames.append(f"{Path(code.co_filename).name}:{tb.tb_lineno} {code.co_name}")
            tb = tb.tb_next
        where = " <- ".join(reversed(frames))
        message = f"{call.__name__} raised {name}: {str(exc)[:200]} (at {where})"
    kind = _ESCAPED.setdefault(name, type(f"Escaped{name}", (Escaped,), {}))
    raise kind(message)


ANNOTATION_ALPHABET = st.one_of(
    st.sampled_from(list('<>"=/@\\ -_.,%:aAzZ09') + ["\t", "\n", "\x00", "\f", "\r", "٣", "²"]),
    st.characters(),
)


def check_parse_result(text: str, result: object) -> None:
    assert isinstance(result, Annotation | SyntaxProblem), type(result)
    if isinstance(result, SyntaxProblem):
        assert isinstance(result.message, str) and result.message
        assert 0 <= result.start <= result.end <= len(text), (text, result)
        return
    assert result.text == text and text.startswith("<<") and text.endswith(">>")
    assert 2 <= result.kind_start < result.kind_end <= len(text) - 2, result
    for arg in result.args:
        assert result.kind_end < arg.start <= arg.key_end <= arg.end <= len(text) - 2, (text, arg)
        values = [arg.value, *(arg.value.parts or ())]
        for value in values:
            assert arg.start <= value.start <= value.end <= arg.end, (text, value)
            assert text[value.start : value.end] == value.raw, (text, value)


def apply_edits(base: str, edits: list[tuple[int, int, str]]) -> str:
    text = base
    for op, where, piece in edits:
        at = where % (len(text) + 1)
        if op == 0:
            text = text[:at] + piece + text[at:]
        elif op == 1:
            text = text[:at] + text[at + len(piece) + 1 :]
        elif op == 2:
            text = text[:at] + text[at : at + 5] + text[at:]
        else:
            text = text[:at] + piece + text[at + 1 :]
    return text


EDITS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10_000),
              st.one_of(st.sampled_from(SPECIALS), st.text(ANNOTATION_ALPHABET, max_size=4))),
    min_size=1,
    max_size=6,
)


@FAST
@given(st.text(ANNOTATION_ALPHABET, max_size=80))
def test_parse_annotation_any_text(text: str) -> None:
    check_parse_result(text, no_escape(parse_annotation, text))


@FAST
@given(st.text(ANNOTATION_ALPHABET.filter(lambda c: c != "\n"), max_size=80))
def test_parse_annotation_bracketed_text(inner: str) -> None:
    """What the Markdown rule actually hands over: `<<`, one line of anything, `>>`."""
    text = f"<<{inner}>>"
    check_parse_result(text, no_escape(parse_annotation, text))


@FAST
@given(st.sampled_from(VALID_ANNOTATIONS), EDITS)
def test_parse_annotation_mutated(base: str, edits: list[tuple[int, int, str]]) -> None:
    text = apply_edits(base, edits)
    check_parse_result(text, no_escape(parse_annotation, text))


def _lex_one_match_at_a_time(text: str) -> list[tuple[str, int, int]] | int:
    """The lexer as a loop of `match` calls at each position: the tokens, or where it stops."""
    from sitegen.annotations import _scanner

    tokens, pos = [], 0
    while pos < len(text):
        m = _scanner().match(text, pos)
        if m is None or m.end() == pos:
            return pos
        if m.lastgroup != "WS":
            tokens.append((m.lastgroup or "", pos, m.end()))
        pos = m.end()
    return tokens


@MANY
@given(st.one_of(st.text(ANNOTATION_ALPHABET, max_size=80), st.sampled_from(VALID_ANNOTATIONS)))
def test_the_lexer_finds_what_a_match_loop_finds(text: str) -> None:
    from sitegen.annotations import _lex

    expected, found = _lex_one_match_at_a_time(text), _lex(text)
    if isinstance(expected, int):
        assert isinstance(found, SyntaxProblem) and found.start == expected
    else:
        assert found == expected


def test_the_byte_check_never_misses_what_clean_text_replaces() -> None:
    """Every code point clean_text replaces makes may_need_cleaning say yes (the byte check
    only lets read_text skip the regex), and everyday prose skips it."""
    from sitegen.text import clean_text, may_need_cleaning

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    cleaned = clean_text(every)
    replaced = [ch for ch, out in zip(every, cleaned, strict=True) if ch != out]
    assert {"\x00", "\x1f", "\x7f", "\x85", "\ufdd0", "\uffff"} <= set(replaced)
    assert "\t" not in replaced and "\n" not in replaced
    missed = [hex(ord(ch)) for ch in replaced if not may_need_cleaning(f"ab{ch}cd".encode())]
    assert missed == []
    assert not may_need_cleaning("Café “quotes” — 59,764 votes\tand\r\nlines ✓".encode())


def test_read_text_replaces_forbidden_code_points_in_place(tmp_path: Path) -> None:
    from sitegen.site import read_text

    (tmp_path / "a.md").write_bytes("x\x01y\r\nz\u0085w \ufffe!\n".encode())
    (tmp_path / "b.md").write_bytes("\ufeffplain “text”\r\n".encode())
    assert read_text(tmp_path, "a.md") == ("x\ufffdy\nz\ufffdw \ufffd!\n", None)
    assert read_text(tmp_path, "b.md") == ("plain “text”\n", None)


@pytest.mark.parametrize("text", VALID_ANNOTATIONS)
def test_valid_annotations_parse(text: str) -> None:
    result = parse_annotation(text)
    assert isinstance(result, Annotation), result
    check_parse_result(text, result)


# ------------------------------------------------------ property tests: rules


#: Boundary sizes for repeated or nested constructs: small, near Python's recursion limit
#: (1000) and its integer-string limit (4300 digits), and beyond.
SIZES = st.sampled_from([1, 2, 20, 300, 1000, 4300, 4301])
SPACE = st.sampled_from(["", "", " ", "  ", "\t", "\n", "\r"])


def _expressions(leaves: st.SearchStrategy[str], ops: list[str],
                 functions: dict[str, tuple[int, int]],
                 space: st.SearchStrategy[str] = SPACE) -> st.SearchStrategy[str]:
    """Rule expressions over the given vocabulary, with random white space.

    `functions` maps a name to the range of argument counts to generate for it.
    """

    def binary(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.tuples(children, space, st.sampled_from(ops), space, children).map("".join)

    def call(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        def with_arguments(name: str) -> st.SearchStrategy[str]:
            low, high = functions[name]
            return st.tuples(space, st.lists(children, min_size=low, max_size=high)).map(
                lambda t: f"{name}{t[0]}({', '.join(t[1])})"
            )

        return st.sampled_from(sorted(functions)).flatmap(with_arguments)

    return st.recursive(
        leaves,
        lambda children: st.one_of(
            binary(children),
            call(children),
            children.map(lambda c: f"-{c}"),
            children.map(lambda c: f"({c})"),
        ),
        max_leaves=30,
    )


#: Expressions of the rule grammar only: most parse, so evaluation gets exercised.
VALID_RULES = _expressions(
    st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["seats", "strength", "0", "1", "2"])),
    ["+", "-", "*", "/"],
    {"floor": (1, 1), "ceil": (1, 1), "min": (1, 3), "max": (1, 3)},
    st.sampled_from(["", " ", "  ", "\t"]),
)
#: The same with foreign names, operators, huge numbers and wrong argument counts mixed in.
LOOSE_RULES = _expressions(
    st.one_of(
        st.integers(0, 10**30).map(str),
        SIZES.map(lambda n: "9" * n),
        st.sampled_from(["seats", "strength", "x", "seat", "Seats", "0", "00", "1.5", "-1", "1e3"]),
    ),
    ["+", "-", "*", "/", "%", "**", "", ",", "//"],
    {name: (0, 3) for name in ("floor", "ceil", "min", "max", "abs", "sqrt", "seats", "Floor")},
)
RULE_TEXT = st.one_of(
    VALID_RULES,
    VALID_RULES,
    LOOSE_RULES,
    st.text(st.sampled_from(list("0123456789+-*/() ,seatrngthflocimax") + ["\x00", "é", "\n"]),
            max_size=40),
    st.tuples(VALID_RULES, EDITS).map(lambda t: apply_edits(*t)),
)


@MANY
@given(RULE_TEXT, st.integers(-3, 10**6), st.integers(-3, 10**6))
def test_parse_rule_raises_only_rule_error(source: str, seats: int, strength: int) -> None:
    try:
        rule = no_escape(parse_rule, "r", source, allowed=(RuleError,))
    except RuleError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert 0 <= exc.offset <= len(source), (source, exc.offset)
        return
    assert isinstance(rule, Rule)
    assert isinstance(no_escape(rule.explain, seats, strength), str)
    try:
        value = no_escape(rule.evaluate, seats, strength, allowed=(RuleError,))
    except RuleError as exc:
        assert exc.message
    else:
        assert type(value) is int


# ----------------------------------------------------- property tests: config


TOML_VALUES = st.one_of(
    st.sampled_from([
        '"Assembly Watch"', '"https://example.org/"', '"en"', '"floor(seats / 2) + 1"',
        '"ceil(seats * 2 / 3)"', '"seats / 3"', '"x +"', '"foo(seats)"', '"min()"', '""',
        "342", "0", "-1", "3.5", "true", "2021-03-01", "2021-02-30", "9999-12-31", "0001-01-01",
        "2021-03-01T10:00:00Z", "10:00:00", "[]", "[1, 2]", '["a"]', "{}", "inf", "nan",
        "[ { from = 2021-03-01, to = 2021-03-31, count = 1 } ]",
        "[ { from = 2021-03-01, to = 9999-12-31 } ]", "[ { from = 2021-03-31, to = 2021-03-01 } ]",
        "[ { count = 400 } ]", "[ 1 ]", '{ from = "x" }', '"""multi\nline"""', "'literal'",
        '"\\u0000"', '"\\uD800"',
    ]),
    st.integers().map(str),
    SIZES.map(lambda n: "9" * n),
    SIZES.map(lambda n: "[" * n + "]" * n),
    SIZES.map(lambda n: "{ a = " * n + "1" + " }" * n),
    SIZES.map(lambda n: '"' + "-" * n + 'seats"'),
    SIZES.map(lambda n: '"' + "floor(" * n + "seats" + ")" * n + '"'),
    st.sampled_from(['"min(seats)"', '"max(strength)"', '"min(seats, strength)"']),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20).map(json.dumps),
)
TOML_KEYS = st.one_of(
    st.sampled_from(["title", "base_url", "language", "name", "seats", "vacancies", "majority",
                     "two_thirds", "sitting_majority", "date", "prose", '"a b"', '""', "x.y"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True),
)
TOML_HEADERS = st.sampled_from(
    ["[site]", "[rules]", "[bodies.NA]", "[bodies.Senate]", '[bodies."N A"]', "[bodies]",
     "[[bodies.NA]]", "[extra]", "[site", "[bodies.NA.sub]", "[bodies.1x]"]
)
TOML_LINES = st.one_of(
    TOML_HEADERS,
    st.tuples(TOML_KEYS, st.sampled_from([" = ", "=", " =", " : "]), TOML_VALUES).map("".join),
    st.sampled_from(["# a comment", "# \u2028\u2028\u2028", "", "   ", "\t", "\x00", "\ufeff"]),
    st.text(max_size=20),
)
BASE_CONFIG = (FIXTURE_SITE / "site.toml").read_text(encoding="utf-8")


BASE_LINES = BASE_CONFIG.split("\n")
VALUE_LINES = [i for i, line in enumerate(BASE_LINES) if " = " in line and not line.startswith("#")]


def _replace_values(replacements: list[tuple[int, str, str]]) -> str:
    """The fixture's site.toml with some `key = value` lines given another key or value."""
    lines = list(BASE_LINES)
    for index, key, value in replacements:
        line = lines[index]
        old_key, _, _ = line.partition(" = ")
        lines[index] = f"{key or old_key.strip()} = {value}"
    return "\n".join(lines)


TOML_DATES = st.sampled_from(
    ["2021-03-01", "2021-03-31", "2021-04-01", "9999-12-31", "9999-12-30", "0001-01-01",
     "2021-02-30", "2021-03-01T10:00:00Z", "2021-03-01T10:00:00", "10:00:00", '"2021-03-01"', "1"]
)
TOML_COUNTS = st.one_of(
    st.sampled_from(["1", "0", "-1", "2", "99", "100", "101", "342", "343", "1.5", "true", '"1"']),
    SIZES.map(lambda n: "9" * n),
)
VACANCY = st.fixed_dictionaries(
    {}, optional={"from": TOML_DATES, "to": TOML_DATES, "count": TOML_COUNTS, "seat": TOML_COUNTS}
).map(lambda d: "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }")
VACANCIES = st.lists(VACANCY, max_size=4).map(lambda vs: "[ " + ", ".join(vs) + " ]")
RULE_STRINGS = RULE_TEXT.map(lambda r: json.dumps(r, ensure_ascii=False))
#: Values that fit the key they replace, so that validation goes past the TOML parser.
KEY_VALUES = {
    "vacancies": VACANCIES,
    "seats": st.one_of(TOML_COUNTS, st.integers().map(str)),
    "sitting_majority": RULE_STRINGS,
}


def _value_for(index: int) -> st.SearchStrategy[str]:
    key = BASE_LINES[index].partition(" = ")[0].strip()
    return st.one_of(KEY_VALUES.get(key, TOML_VALUES), KEY_VALUES.get(key, TOML_VALUES), TOML_VALUES)


VALUE_REPLACEMENTS = st.lists(
    st.sampled_from(VALUE_LINES).flatmap(
        lambda i: st.tuples(st.just(i), st.one_of(st.just(""), st.just(""), TOML_KEYS), _value_for(i))
    ),
    min_size=1,
    max_size=3,
)


def _with_rules_and_vacancies(rules: list[str], vacancies: str) -> str:
    """The fixture's site.toml with more rules, and vacancies in the Senate too."""
    extra = "".join(f"extra{i} = {rule}\n" for i, rule in enumerate(rules))
    text = BASE_CONFIG.replace("[rules]\n", "[rules]\n" + extra, 1)
    return text.replace("seats = 100", f"seats = 100\nvacancies = {vacancies}", 1)


EXTENDED_CONFIGS = st.tuples(
    st.lists(RULE_STRINGS, min_size=1, max_size=3), st.one_of(st.just("[]"), VACANCIES)
).map(
    lambda t: _with_rules_and_vacancies(*t)
)


@MANY
@given(st.one_of(
    VALUE_REPLACEMENTS.map(_replace_values),
    VALUE_REPLACEMENTS.map(_replace_values),
    EXTENDED_CONFIGS,
    EXTENDED_CONFIGS,
    st.lists(TOML_LINES, max_size=14).map("\n".join),
    st.tuples(st.just(BASE_CONFIG), EDITS).map(lambda t: apply_edits(*t)),
    st.tuples(st.lists(TOML_LINES, max_size=4), st.integers(0, 30)).map(
        lambda t: "\n".join(BASE_CONFIG.split("\n")[: t[1]] + t[0] + BASE_CONFIG.split("\n")[t[1]:])
    ),
))
def test_load_config_never_raises(text: str) -> None:
    config, diags = no_escape(load_config, text)
    assert isinstance(config, SiteConfig)
    assert isinstance(diags, list)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for d in diags:
        assert isinstance(d, Diagnostic) and d.code == "SG901" and d.span.file == "site.toml", d
        assert d.span.line >= 1 and d.span.column >= 1, d
        assert d.span.line <= len(lines), (d, len(lines))


# ------------------------------------------------- property tests: whole sites


WORDS = st.sampled_from(
    ["Khan", "holds", "178", "of", "342", "seats", "160", "172", "52%", "five", "Mr.", "M.Q.M.",
     "the", "1,234", "0.5", "-3", "e.g.", "vote.", "won!", "why?", "“quoted”", "—", "\\<<", "<<",
     ">>", "`<<code>>`", "*em*", "[link](http://x)", "<br>", "<span title=\"<<x>>\">", "&amp;",
     "[^1]", "|", "$", "\t"]
)
NUMBERS = st.one_of(
    st.integers(0, 400).map(str),
    st.integers(-10**40, 10**40).map(str),
    st.tuples(st.integers(0, 100), st.integers(0, 10**40)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.sampled_from(["1,234", "1,2345", "0", "-0", "00178", "@allies", "@nope", "1/3", "52%",
                     "33.3333333333333333333333333333%"]),
)
GENERATED_ANNOTATIONS = st.one_of(
    st.sampled_from(VALID_ANNOTATIONS),
    st.tuples(
        st.sampled_from(["seats", "threshold", "votes", "tally", "sum", "pct", "claim", "fact",
                         "seat", "Seats", "x-y"]),
        st.lists(
            st.one_of(
                st.tuples(st.sampled_from(["NA", "Senate", "XX", "for", "against", "total",
                                           "majority", "two_thirds", "sitting_majority",
                                           "needs", "result", "winner", "margin", "date",
                                           "prose", "src", "quote", "part", "whole", "value",
                                           "invalid", "abstain", "absent", "a", "allies"]),
                          st.one_of(NUMBERS,
                                    st.tuples(NUMBERS, NUMBERS).map("/".join),
                                    st.sampled_from(["yes", "no", "passed", "failed", "majority",
                                                     "001", "002", "999", "2021-03-04",
                                                     "2021-02-30", "0000-01-01", '"178 seats"',
                                                     '"x\\"y"', "NA", "A"]))).map("=".join),
                NUMBERS,
                st.sampled_from(["NA", "Senate", "Nope"]),
            ),
            max_size=6,
        ),
    ).map(lambda t: f"<<{t[0]} {' '.join(t[1])}>>"),
    st.tuples(st.sampled_from(VALID_ANNOTATIONS), EDITS).map(lambda t: apply_edits(*t)),
)
PARAGRAPHS = st.lists(
    st.one_of(WORDS, WORDS, NUMBERS, GENERATED_ANNOTATIONS, st.text(ANNOTATION_ALPHABET, max_size=8)),
    max_size=14,
).map(" ".join)
BLOCKS = st.one_of(
    PARAGRAPHS,
    PARAGRAPHS.map(lambda p: "## " + p),
    st.tuples(st.integers(1, 12), PARAGRAPHS).map(lambda t: "> " * t[0] + t[1]),
    st.tuples(st.integers(0, 8), st.sampled_from(["- ", "1. ", "* ", "+ "]), PARAGRAPHS).map(
        lambda t: "  " * t[0] + t[1] + t[2]
    ),
    PARAGRAPHS.map(lambda p: f"```\n{p}\n```"),
    PARAGRAPHS.map(lambda p: "    " + p),
    PARAGRAPHS.map(lambda p: f"| a | b |\n| --- | --- |\n| {p} | x |"),
    PARAGRAPHS.map(lambda p: "[^1]: " + p),
    PARAGRAPHS.map(lambda p: f"<div>\n{p}\n</div>"),
    PARAGRAPHS.map(lambda p: p + "\n====="),
    st.sampled_from(["---", "***", "...", "", "<!-- <<x>> -->", "\t<<x>>", ">\t<<x>>"]),
)
BODIES = st.lists(BLOCKS, max_size=8).flatmap(
    lambda blocks: st.sampled_from(["\n", "\n\n"]).map(lambda sep: sep.join(blocks) + "\n")
)

YAML_SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(),
    st.floats(),
    st.sampled_from(["2021-03-06", "2021-02-30", "2021-03-06T10:00:00Z", "Bad Slug", "ok-slug",
                     "ftp://x", "https://example.org/"]),
)
YAML_VALUES = st.one_of(
    YAML_SCALARS,
    st.lists(YAML_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=4), YAML_SCALARS, max_size=2),
)
FM_KEYS = st.sampled_from(["title", "date", "tags", "slug", "draft", "author", "summary", "url", "x"])
RAW_YAML = st.sampled_from(
    ["title: [", "date: 2021-13-45", ": :", "&a *a", "title: !!python/object:os.system x",
     "? [a]\n: b", "title: 'unterminated", "\ttitle: tab", "title: a\u2028b", "- list", "...",
     "title: &x T\nauthor: *x", "key: {a: [1, {b: 2}]}", "date: 99999-01-01"]
)


def _dump_front_matter(items: dict[str, object]) -> str:
    return "".join(
        f"{key}: {yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()}\n"
        .replace("\n...", "")
        for key, value in items.items()
    )


FRONT_MATTERS = st.one_of(
    st.fixed_dictionaries(
        {"title": st.just("T"), "date": st.sampled_from(["2021-03-06", "2022-03-30"])},
        optional={"slug": st.sampled_from(["same", "other", "Bad Slug"])},
    ).map(_dump_front_matter),
    st.dictionaries(FM_KEYS, YAML_VALUES, max_size=5).map(_dump_front_matter),
    st.lists(st.one_of(RAW_YAML, st.text(max_size=15)), max_size=4).map("\n".join),
)
FENCES = st.sampled_from(["---", "---", "---", "----", "--- ", "...", "", "---x", "--"])
ARTICLE_NAMES = st.sampled_from(["a.md", "b.md", "sub/dir/c.md", "Ünïcode name.md", "same.md"])


@st.composite
def articles(draw: st.DrawFn) -> tuple[str, str | bytes]:
    opening = draw(FENCES)
    closing = draw(FENCES)
    text = f"{opening}\n{draw(FRONT_MATTERS)}\n{closing}\n{draw(BODIES)}"
    if draw(st.integers(0, 19)) == 0:
        data = text.encode("utf-8")
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]))
        return draw(ARTICLE_NAMES), data[:at] + bad + data[at:]
    if draw(st.booleans()):
        text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))
    return draw(ARTICLE_NAMES), text


@ON_DISK
@given(st.lists(articles(), min_size=1, max_size=3))
def test_check_site_diagnostics_point_into_the_site(
    tmp_path: Path, files: list[tuple[str, str | bytes]]
) -> None:
    site = tmp_path / "site"
    if not site.exists():
        make_site(tmp_path)
    reset_articles(site)
    for name, body in files:
        write(site / ARTICLES / name, body)
    checked = no_escape(check_site, site)
    assert diagnostic_problems(site, checked.diagnostics) == []


# ----------------------------------------------- 2. deterministic mutations: articles


def _annotation_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"<<[^\n]*?>>", text)]


def _at(rng: random.Random, text: str) -> int:
    return rng.randint(0, len(text))


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def m_delete(rng: random.Random, text: str) -> str:
    at = _at(rng, text)
    return text[:at] + text[at + rng.randint(1, 12) :]


def m_insert_special(rng: random.Random, text: str) -> str:
    at = _at(rng, text)
    return text[:at] + rng.choice(SPECIALS) * rng.choice([1, 1, 2, 3]) + text[at:]


def m_insert_in_annotation(rng: random.Random, text: str) -> str:
    spans = _annotation_spans(text)
    if not spans:
        return m_insert_special(rng, text)
    start, end = rng.choice(spans)
    at = rng.randint(start, end)
    return text[:at] + rng.choice(SPECIALS) + text[at:]


def m_duplicate(rng: random.Random, text: str) -> str:
    at = _at(rng, text)
    piece = text[at : at + rng.randint(1, 40)]
    return text[:at] + piece * rng.randint(2, 4) + text[at:]


def m_swap(rng: random.Random, text: str) -> str:
    if len(text) < 2:
        return text
    at = rng.randint(0, len(text) - 2)
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def m_truncate(rng: random.Random, text: str) -> str:
    return text[: _at(rng, text)]


def m_unterminate(rng: random.Random, text: str) -> str:
    spans = _annotation_spans(text)
    if not spans:
        return text + "<<seats NA=178/"
    _, end = rng.choice(spans)
    return text[: end - rng.choice([1, 2])] + text[end:]


def m_open_string(rng: random.Random, text: str) -> str:
    spans = _annotation_spans(text)
    if not spans:
        return text + ' <<claim quote="open'
    start, end = rng.choice(spans)
    at = rng.randint(start + 2, end - 2)
    return text[:at] + rng.choice(['"', '="', '\\"', "\\"]) + text[at:]


def m_insert_unterminated(rng: random.Random, text: str) -> str:
    starts = _line_starts(text)
    at = rng.choice(starts[1:] or [0]) - 1
    at = max(at, 0)
    piece = rng.choice(["<<", " <<seats NA=178/", ' <<claim quote="x', " <<", "<<<", " <<>>", "<<<<>>>>"])
    return text[:at] + piece + text[at:]


def m_newline_in_annotation(rng: random.Random, text: str) -> str:
    spans = _annotation_spans(text)
    if not spans:
        return text
    start, end = rng.choice(spans)
    at = rng.randint(start + 1, end - 1)
    return text[:at] + rng.choice(["\n", "\r\n", "\n\n", "\n> ", "\n- "]) + text[at:]


def m_fence(rng: random.Random, text: str) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        return text.replace("---\n", "--\n", 1)
    if choice == 1:
        first, _, rest = text.partition("\n")
        return first + "\n" + rest.replace("---\n", "", 1)
    if choice == 2:
        return "---\n" + text
    if choice == 3:
        return text.replace("---\n", "---\n---\n", 1)
    if choice == 4:
        at = rng.choice(_line_starts(text))
        return text[:at] + "---\n" + text[at:]
    return text.replace("---", "- - -")


def m_yaml_garbage(rng: random.Random, text: str) -> str:
    garbage = rng.choice(
        ["title: [", "date: 2021-13-45", "date: 2021-02-30", "slug: Bad Slug", "tags: {a: b}",
         "draft: maybe", ": :", "&a *a", "x: !!python/object/apply:os.system ['true']", "? [a]\n: b",
         "title: 'open", "\ttitle: x", "date: 0000-00-00", "tags: [a, [b]]", "title:", "date: ~",
         "title: " + "9" * 5000, "date: 99999-01-01", "url: javascript:x", "slug: " + "x" * 500,
         "summary: a\u2028b\u2028c\u2028d", "author: &x [*x]", "<<: {title: merge}", "title: \x00"]
    )
    return text.replace("\n", "\n" + garbage + "\n", 1)


def m_nul(rng: random.Random, text: str) -> str:
    at = _at(rng, text)
    return text[:at] + "\x00" * rng.randint(1, 3) + text[at:]


def m_line_endings(rng: random.Random, text: str) -> str:
    return text.replace("\n", rng.choice(["\r\n", "\r", "\n\r", "\u2028\n", "\x85\n"]))


def m_indent(rng: random.Random, text: str) -> str:
    at = rng.choice(_line_starts(text))
    return text[:at] + rng.choice(["\t", "    ", "> ", "- ", "1. ", ">\t", "  -\t", "# ", "| "]) + text[at:]


def m_number(rng: random.Random, text: str) -> str:
    numbers = list(re.finditer(r"\d+(?:[.,]\d+)*", text))
    if not numbers:
        return text
    m = rng.choice(numbers)
    new = rng.choice(["0", "-1", "9" * rng.randint(20, 60), "1." + "3" * rng.randint(20, 60),
                      "33.3333333333333333333333333333", "1,2345", "1,,2", "00", "4294967297",
                      "1e5", "0x10", "½", "١٧٨"])
    return text[: m.start()] + new + text[m.end() :]


def m_word(rng: random.Random, text: str) -> str:
    old = rng.choice(["NA", "Senate", "seats", "threshold", "votes", "tally", "sum", "pct",
                      "claim", "fact", "majority", "src", "quote", "total", "for", "date", "@"])
    new = rng.choice(["XX", "na", "Senate", "seats", "tally", "claim", "fact", "", "NA.x", "prose",
                      "@nope", "date", "src", "quote", "1", "é", "two_thirds", "sitting_majority"])
    return text.replace(old, new, rng.randint(1, 3))


LIGHT_OPS: list[Callable[[random.Random, str], str]] = [
    m_delete, m_insert_special, m_insert_special, m_insert_in_annotation, m_insert_in_annotation,
    m_duplicate, m_swap, m_truncate, m_unterminate, m_open_string, m_insert_unterminated,
    m_newline_in_annotation, m_fence, m_yaml_garbage, m_nul, m_line_endings, m_indent, m_number,
    m_word,
]


def h_long_line(rng: random.Random, text: str) -> str:
    """A 200 KB line of prose, with annotations, stray `<<` and an unterminated one at its end."""
    words = ["Khan", "holds", "178", "of", "342", "seats", "\\<<", "`<<x>>`", "vote.", "52%"]
    parts: list[str] = []
    size = 0
    while size < 200_000:
        word = rng.choice(words)
        if rng.random() < 0.002:
            word = rng.choice(VALID_ANNOTATIONS + ["<<", '<<claim quote="']) if rng.random() < 0.8 else "<<"
        parts.append(word)
        size += len(word) + 1
    line = " ".join(parts) + " <<seats NA=178/342"
    at = rng.choice(_line_starts(text))
    return text[:at] + line + "\n" + text[at:]


def h_deep_quotes(rng: random.Random, text: str) -> str:
    depth = 1000
    quote = "> " * depth + "178 of 342 <<seats NA=178/342 majority=yes>> and <<bad\n"
    quote += "".join(">" * d + " <<seats NA=1/2>>\n" for d in range(depth, 0, -37))
    return text + "\n" + quote


def h_deep_list(rng: random.Random, text: str) -> str:
    marker = rng.choice(["- ", "1. ", "* "])
    items = "".join("  " * d + marker + f"item {d} <<seats NA=178/342>>\n" for d in range(1000))
    return text + "\n" + items


def h_deep_inline(rng: random.Random, text: str) -> str:
    opener = rng.choice(["[", "*", "_", "`", "<", "(", "![", "**"])
    return text + "\n" + opener * 1000 + "178 of 342 <<seats NA=178/342>>" + "]" * 500 + "\n"


def h_many_annotations(rng: random.Random, text: str) -> str:
    line = " ".join(rng.choice(VALID_ANNOTATIONS) for _ in range(500))
    return text + "\n" + line + "\n"


HEAVY_OPS = [h_long_line, h_deep_quotes, h_deep_list, h_deep_inline, h_many_annotations]


def b_invalid_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randint(0, len(data))
    bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80",
                      "é".encode("latin-1"), b"\xf4\x90\x80\x80"])
    return data[:at] + bad + data[at:]


def mutant(index: int) -> tuple[str, bytes]:
    """Mutation number `index` (0-399): a description and the article's bytes."""
    rng = random.Random(20_240_000 + index)
    text = SEED_ARTICLES[index % len(SEED_ARTICLES)]
    ops = [rng.choice(LIGHT_OPS) for _ in range(rng.randint(1, 4))]
    if index % 40 == 7:
        ops.append(HEAVY_OPS[(index // 40) % len(HEAVY_OPS)])
    for op in ops:
        text = op(rng, text)
    data = text.encode("utf-8", "surrogatepass")
    names = [op.__name__ for op in ops]
    if rng.random() < 0.06:
        data = b_invalid_utf8(rng, data)
        names.append("b_invalid_utf8")
    return f"mutant {index} (seed article {index % len(SEED_ARTICLES)}: {', '.join(names)})", data


MUTANTS = 400
BATCHES = 10


def test_seed_articles_are_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The mutations start from articles that check clean, warnings included."""
    site = make_site(tmp_path, {f"seed{i}.md": text for i, text in enumerate(SEED_ARTICLES)})
    rc, problems, payload = cli_problems(capsys, site)
    assert problems == []
    assert payload is not None and payload["diagnostics"] == [] and rc == 0
    assert payload["summary"]["articles"] == len(SEED_ARTICLES)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_mutated_articles(tmp_path: Path, capsys: pytest.CaptureFixture[str], batch: int) -> None:
    site = make_site(tmp_path)
    target = site / ARTICLES / "mutant.md"
    failures: list[str] = []
    for index in range(batch, MUTANTS, BATCHES):
        label, data = mutant(index)
        target.write_bytes(data)
        rc, problems, _ = cli_problems(capsys, site)
        if index % 8 == 0 and rc is not None:  # the other two formats on a sample
            for fmt in ("text", "github"):
                other_rc, out, err = run_check(capsys, site, fmt)
                if other_rc != rc or "Traceback" in out + err or "internal error" in err:
                    problems.append(f"--format {fmt}: exit {other_rc} (json: {rc}): {err[-300:]}")
        if problems:
            failures.append(f"{label}: " + "; ".join(problems)[:1200])
    assert failures == [], f"{len(failures)} failing mutants:\n" + "\n".join(failures[:8])


# ---------------------------------------------- 2. deterministic mutations: site.toml


def _config_replacements() -> list[tuple[str, str, str]]:
    """(name, old, new): one broken site.toml per entry, by replacing text of the fixture's."""
    title = 'title = "Fixture Watch"'
    base = 'base_url = "https://example.org/"'
    lang = 'language = "en"'
    seats = "seats = 342"
    count = "count = 1"
    start = "from = 2021-03-01"
    end = "to = 2021-03-31"
    vacancies = "vacancies = [ { from = 2021-03-01, to = 2021-03-31, count = 1 } ]"
    rule = '"floor(strength / 2) + 1"'
    senate = '[bodies.Senate]\nname = "Senate"\nseats = 100'
    out = [
        ("title int", title, "title = 1"),
        ("title empty", title, 'title = ""'),
        ("title list", title, 'title = ["a"]'),
        ("title table", title, "title = { a = 1 }"),
        ("title date", title, "title = 2021-03-01"),
        ("no title", title, ""),
        ("base_url ftp", base, 'base_url = "ftp://example.org/"'),
        ("base_url int", base, "base_url = 5"),
        ("base_url bare", base, 'base_url = "example.org"'),
        ("base_url space", base, 'base_url = "https://exa mple.org/"'),
        ("no base_url", base, ""),
        ("language spaced", lang, 'language = "e n"'),
        ("language int", lang, "language = 1"),
        ("language short", lang, 'language = "x"'),
        ("site renamed", "[site]", "[sight]"),
        ("site scalar", "[site]", 'site = "x"\n[site2]'),
        ("seats string", seats, 'seats = "342"'),
        ("seats negative", seats, "seats = -342"),
        ("seats zero", seats, "seats = 0"),
        ("seats float", seats, "seats = 342.0"),
        ("seats bool", seats, "seats = true"),
        ("seats list", seats, "seats = [342]"),
        ("seats nan", seats, "seats = nan"),
        ("seats 5000 digits", seats, "seats = " + "9" * 5000),
        ("no seats", senate, '[bodies.Senate]\nname = "Senate"'),
        ("name int", 'name = "National Assembly"', "name = 342"),
        ("name empty", 'name = "National Assembly"', 'name = ""'),
        ("count zero", count, "count = 0"),
        ("count above seats", count, "count = 343"),
        ("count string", count, 'count = "1"'),
        ("count float", count, "count = 1.5"),
        ("count negative", count, "count = -1"),
        ("count bool", count, "count = true"),
        ("from string", start, 'from = "March 2021"'),
        ("from quoted Feb 30", start, 'from = "2021-02-30"'),
        ("from Feb 30", start, "from = 2021-02-30"),
        ("from month 13", start, "from = 2021-13-01"),
        ("from time", start, "from = 10:00:00"),
        ("from hour 25", start, "from = 2021-03-01T25:00:00"),
        ("from missing", start, "start = 2021-03-01"),
        ("to before from", end, "to = 2021-02-01"),
        ("to string", end, 'to = "soon"'),
        ("to year 1", end, "to = 0001-01-01"),
        ("vacancies int", vacancies, "vacancies = 1"),
        ("vacancies of ints", vacancies, "vacancies = [1]"),
        ("vacancy unknown key", vacancies, "vacancies = [ { from = 2021-03-01, seat = 4 } ]"),
        ("vacancies string", vacancies, 'vacancies = "none"'),
        ("vacancy empty", vacancies, "vacancies = [ { } ]"),
        ("vacancy list", vacancies, "vacancies = [ [ ] ]"),
        ("body id spaced", "[bodies.NA]", '[bodies."N A"]'),
        ("body id digit", "[bodies.NA]", "[bodies.1NA]"),
        ("body subtable", "[bodies.NA]", "[bodies.NA.sub]"),
        ("body unknown key", senate, senate + "\nseets = 1"),
        ("body scalar", senate, '[bodies]\nSenate = 5\n[bodies."x"]\nname = 1'),
        ("unknown table", senate, senate + "\n[extra]\na = 1"),
        ("site array", senate, senate + "\n[[site]]"),
        ("site twice", senate, senate + "\n[site]\ntitle = \"x\""),
        ("key twice", title, title + "\n" + title),
        ("rule open paren", rule, '"floor("'),
        ("rule dangling op", rule, '"strength +"'),
        ("rule unknown var", rule, '"x"'),
        ("rule unknown fn", rule, '"foo(seats)"'),
        ("rule div zero", rule, '"seats / 0"'),
        ("rule not whole", rule, '"seats / 4"'),
        ("rule not whole on strength", rule, '"strength / 2"'),
        ("rule min()", rule, '"min()"'),
        ("rule max of nothing", rule, '"max()"'),
        ("rule empty", rule, '""'),
        ("rule blank", rule, '"   "'),
        ("rule power", rule, '"seats ** 2"'),
        ("rule modulo", rule, '"seats % 2"'),
        ("rule floor arity", rule, '"floor(seats / 2, 1)"'),
        ("rule div zero on seats", rule, '"seats / (seats - 342)"'),
        ("rule div zero on strength", rule, '"strength / (strength - 341)"'),
        ("rule int", rule, "5"),
        ("rule list", rule, '["floor(seats / 2)"]'),
        ("rule NUL", rule, '"seats\\u0000"'),
        ("rule decimal", rule, '"seats * 0.5"'),
        # long and deep rules are valid (tests/test_rules_config.py): these misspell `seats` at the end
        ("rule 2000 minus signs", rule, '"' + "-" * 2000 + 'seat"'),
        ("rule 5000-digit int", rule, '"' + "9" * 5000 + '"'),
        ("rule 2000 terms", rule, '"' + "1 + " * 2000 + 'seat"'),
        ("rule 500 nested calls", rule, '"' + "floor(" * 500 + "seat" + ")" * 500 + '"'),
        ("rule 4680-digit fraction", rule, f'"{HUGE_FRACTION}"'),
        ("rule named date", "sitting_majority =", "date ="),
        ("rule named prose", "sitting_majority =", "prose ="),
        ("rule name spaced", "sitting_majority =", '"a b" ='),
        ("rule name empty", "sitting_majority =", '"" ='),
        ("majority redefined badly", "[rules]", '[rules]\nmajority = "seats / 0"'),
        ("rules scalar", "[rules]", 'rules = "x"\n[rules2]'),
        ("comment with line separators", "[site]\n" + title,
         "# " + "\u2028" * 12 + "\n[site]\ntitle = 1"),
    ]
    return out


def _config_variants() -> list[tuple[str, str | bytes | None]]:
    variants: list[tuple[str, str | bytes | None]] = []
    for name, old, new in _config_replacements():
        assert old in BASE_CONFIG, name
        variants.append((name, BASE_CONFIG.replace(old, new, 1)))
    for number, line in enumerate(BASE_CONFIG.split("\n")):
        before = "\n".join(BASE_CONFIG.split("\n")[:number])
        prefix = before + "\n" if number else ""
        if '"' in line:
            variants.append((f"truncated in the string of line {number + 1}",
                             prefix + line[: line.index('"') + 1]))
        if "= " in line and not line.startswith("#"):
            variants.append((f"truncated after = on line {number + 1}",
                             prefix + line[: line.index("= ") + 2]))
        if line.startswith("[") and len(line) > 3:
            variants.append((f"truncated header on line {number + 1}", prefix + line[:3]))
        if "{" in line:
            variants.append((f"truncated inline table on line {number + 1}",
                             prefix + line[: line.index("{") + 10]))
    variants += [
        ("empty", ""),
        ("only a comment", "# nothing\n"),
        ("no [site]", BASE_CONFIG.split("[rules]")[1]),
        ("not TOML", "lorem ipsum dolor\n"),
        ("NUL", "\x00"),
        ("BOM and junk", "\ufeff[site\n"),
        ("invalid UTF-8", BASE_CONFIG.encode() + b"\n# \xff\xfe\n"),
        ("latin-1", BASE_CONFIG.replace("Fixture", "Fixturé").encode("latin-1")),
        ("unterminated multi-line string", BASE_CONFIG + '\n[bodies.X]\nname = """\n'),
        ("1000 nested arrays", BASE_CONFIG.replace("[site]", "x = " + "[" * 1000 + "]" * 1000 + "\n[site]")),
        ("1000 nested inline tables",
         BASE_CONFIG.replace("[site]", "x = " + "{ a = " * 1000 + "1" + " }" * 1000 + "\n[site]")),
        ("site.toml is a directory", None),
        ("no site.toml", None),
    ]
    return variants


CONFIG_VARIANTS = _config_variants()


def test_config_variants_are_about_a_hundred() -> None:
    assert 90 <= len(CONFIG_VARIANTS) <= 130, len(CONFIG_VARIANTS)


@pytest.mark.parametrize("name", [name for name, _ in CONFIG_VARIANTS])
def test_broken_site_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    text = dict(CONFIG_VARIANTS)[name]
    site = make_site(tmp_path, {"seed.md": SEED_ARTICLES[0]})
    config = site / "site.toml"
    config.unlink()
    if name == "site.toml is a directory":
        config.mkdir()
    elif text is not None:
        write(config, text)
    rc, problems, payload = cli_problems(capsys, site, config_may_be_missing=True)
    assert problems == []
    assert payload is not None
    sg901 = [d for d in payload["diagnostics"] if d["code"] == "SG901"]
    assert rc == 2 and sg901, f"exit {rc}, diagnostics {payload['diagnostics']}"
    assert all(d["file"] == "site.toml" for d in sg901), sg901


# ------------------------------------------------------- 3. pathological inputs


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("-" * 2000 + "seats", id="2000 unary minus"),
        pytest.param("1 + " * 2000 + "seats", id="2000 terms"),
        pytest.param("floor(" * 500 + "seats" + ")" * 500, id="500 nested calls"),
        pytest.param("(" * 2000 + "seats" + ")" * 2000, id="2000 parentheses"),
        pytest.param("9" * 5000, id="5000-digit integer"),
        pytest.param("min(" + ", ".join(["seats"] * 5000) + ")", id="5000 arguments"),
        pytest.param("min(seats)", id="min of one argument"),
        pytest.param("\x00", id="NUL"),
        pytest.param("", id="empty"),
    ],
)
def test_pathological_rule_expression(source: str) -> None:
    try:
        rule = no_escape(parse_rule, "r", source, allowed=(RuleError,))
    except RuleError:
        return
    with contextlib.suppress(RuleError):
        assert type(no_escape(rule.evaluate, 342, 341, allowed=(RuleError,))) is int


def test_rule_with_a_huge_fraction_fails_with_rule_error() -> None:
    """(10**18 - 1)**260 / 2 is not whole, and its numerator has 4680 digits."""
    with pytest.raises(RuleError):
        rule = no_escape(parse_rule, "r", HUGE_FRACTION, allowed=(RuleError,))
        no_escape(rule.evaluate, 342, 341, allowed=(RuleError,))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("<<seats " + " ".join(f"a{i}={i}" for i in range(5000)) + ">>", id="5000 args"),
        pytest.param('<<claim quote="' + "x" * 100_000 + '">>', id="100 KB string"),
        pytest.param("<<pct " + "9" * 5000 + "/1 1%>>", id="5000-digit number"),
        pytest.param("<<" + "a" * 100_000 + ">>", id="100 KB kind"),
        pytest.param("<<seats NA=" + "1/" * 1000 + "2>>", id="chained ratio"),
    ],
)
def test_pathological_annotation(text: str) -> None:
    check_parse_result(text, no_escape(parse_annotation, text))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a = " + "[" * 1500 + "]" * 1500, id="1500 nested arrays"),
        pytest.param("a = " + "{ b = " * 1000 + "1" + " }" * 1000, id="1000 nested tables"),
        pytest.param(BASE_CONFIG.replace("seats = 100", "seats = " + "9" * 5000), id="5000-digit seats"),
        pytest.param(BASE_CONFIG.replace("to = 2021-03-31", "to = 9999-12-31"), id="vacancy to 9999-12-31"),
        pytest.param(BASE_CONFIG.replace('"floor(strength / 2) + 1"', '"' + "-" * 2000 + '1"'),
                     id="rule of 2000 minus signs"),
        pytest.param(BASE_CONFIG.replace('"floor(strength / 2) + 1"', '"' + "9" * 5000 + '"'),
                     id="rule with a 5000-digit integer"),
        pytest.param(BASE_CONFIG.replace('"floor(strength / 2) + 1"', f'"{HUGE_FRACTION}"'),
                     id="rule giving a 4680-digit fraction"),
        pytest.param(BASE_CONFIG.replace('"floor(strength / 2) + 1"', '"min(seats)"'),
                     id="rule min of one argument"),
        pytest.param("# " + "\u2028" * 12 + "\n[site]\ntitle = 1\n", id="line separators in a comment"),
    ],
)
def test_pathological_config(text: str) -> None:
    config, diags = no_escape(load_config, text)
    assert isinstance(config, SiteConfig)
    assert all(d.code == "SG901" for d in diags)
    lines = text.split("\n")
    assert all(1 <= d.span.line <= len(lines) for d in diags), [d.span for d in diags]


FRONT = "---\ntitle: T\ndate: 2021-03-06\n---\n"


@pytest.mark.parametrize(
    "article",
    [
        pytest.param(FRONT + "Note \x00 178 of 342 <<seats NA=178/342 \x00>>\n", id="NUL in annotation"),
        pytest.param(FRONT + "178 of 342 <<pct 1/3 33.333333333333333333333333333%>>\n",
                     id="percentage with 27 decimals"),
        pytest.param(FRONT + "<<pct " + "9" * 40 + "/1 1%>>\n", id="40-digit part"),
        pytest.param("---\ntitle: T\nsummary: a" + "\u2028" * 12 + "\ndate: [\n---\nbody\n",
                     id="line separators in front matter"),
        pytest.param("---\ntitle: " + "[" * 3000 + "\ndate: 2021-03-06\n---\nx\n", id="deep YAML"),
        pytest.param(FRONT + "> " * 1000 + "178 of 342 <<seats NA=178/342>>\n", id="1000 quotes"),
        pytest.param(FRONT + "".join("  " * d + "- <<x>>\n" for d in range(1000)), id="1000 lists"),
        pytest.param("\ufeff" + FRONT.replace("\n", "\r\n") + "<<seats NA=1/2>>\r\n", id="BOM and CRLF"),
        pytest.param("---\n---\n---\n", id="fences only"),
        pytest.param(FRONT + "<<fact a=" + "9" * 5000 + ">> x <<seats NA=@a/342>>\n", id="5000-digit fact"),
    ],
)
def test_pathological_article(tmp_path: Path, capsys: pytest.CaptureFixture[str], article: str) -> None:
    site = make_site(tmp_path, {"a.md": article})
    _, problems, _ = cli_problems(capsys, site)
    assert problems == []


def test_line_full_of_openers_is_checked_in_linear_time(tmp_path: Path) -> None:
    """A 40 KB line of `<` is 20,000 SG101s; it must not take quadratic time."""
    site = make_site(tmp_path, {"a.md": FRONT + "<" * 40_000 + "\n"})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sitegen", "check", str(site), "--format", "json"],
            cwd=REPO, capture_output=True, text=True, timeout=10, env=_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`sitegen check` took more than 10 s on one 40 KB line of `<`")
    assert done.returncode == 1 and "Traceback" not in done.stderr


# ----------------------------------------------------------- 4. end to end


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SITEGEN_DEBUG", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_subprocess_on_a_broken_site(tmp_path: Path) -> None:
    site = make_site(tmp_path, {
        "broken.md": FRONT + "Unterminated <<seats NA=178/342\n\n"
        "Tab\tand wide 字 figures 180 of 342 <<seats NA=178/342 majority=maybe>>\n\n"
        + "word " * 40_000 + "<<tally X=1>>\n",
        "no-front-matter.md": "Just text <<pct 1/0 5%>> and \\<< and <<\n",
        "bad-yaml.md": "---\ntitle: [\n---\nx\n",
        "latin1.md": "---\ntitle: Café\n---\n".encode("latin-1"),
    })
    write(site / "content/sources/003.md", b"---\ntitle: \xff\n---\n")
    config = (site / "site.toml").read_text(encoding="utf-8")
    config = config.replace("seats = 100", 'seats = "100"')
    write(site / "site.toml", config.replace('"floor(strength / 2) + 1"', '"floor("'))
    done = subprocess.run(
        [sys.executable, "-m", "sitegen", "check", str(site)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(),
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-2000:]
    assert "internal error" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error[SG901]" in done.stderr and "error[SG101]" in done.stderr, done.stderr[-2000:]
