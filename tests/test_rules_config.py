"""Rules that are long, deep or huge, and site.toml messages: what the fixture format cannot say.

Rule expressions are compiled and evaluated without recursion, so the outcome cannot depend
on how deep the caller's stack happens to be; these tests prove it by asking again from
nearly the bottom of the stack.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from sitegen.config import CONFIG_FILE, load_config
from sitegen.pipeline import check_site
from sitegen.rules import RuleError, parse_rule
from sitegen.toml_places import Locator

T = TypeVar("T")

SITE = (
    '[site]\ntitle = "T"\nbase_url = "https://e.org/"\n'
    '\n[bodies.NA]\nname = "National Assembly"\nseats = 342\n'
)
ARTICLE = "---\ntitle: A\ndate: 2021-03-06\n---\nThe 172 <<threshold NA x=172>>.\n"


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _from_depth(depth: int, call: Callable[[], T]) -> T:
    """`call()` made `depth` frames deep, as from inside a deeply recursive caller."""
    if _stack_depth() < depth:
        return _from_depth(depth, call)
    return call()


def _near_the_bottom(call: Callable[[], T]) -> T:
    """`call()` with a few dozen frames of the recursion limit left (lark's parser needs ~10)."""
    return _from_depth(sys.getrecursionlimit() - 40, call)


def _outcome(source: str) -> tuple[str, ...]:
    try:
        rule = parse_rule("r", source)
    except RuleError as exc:
        return ("error", exc.message, str(exc.offset))
    try:
        value = str(rule.evaluate(342, 341))
    except RuleError as exc:
        value = exc.message
    return ("rule", value, rule.explain(342, 341)[:200])


@pytest.mark.parametrize(
    ("source", "value"),
    [
        pytest.param("seats" + " + 1" * 5000, "5342", id="5000 terms"),
        pytest.param("seats" + "*1" * 5000, "342", id="5000 factors"),
        pytest.param("seats" + " - 1" * 5000, str(342 - 5000), id="5000 differences"),
        pytest.param("(" * 300 + "seats" + ")" * 300, "342", id="300 nested parentheses"),
        pytest.param("(" * 300 + "seats" + " + 1)" * 300, "642", id="300 nested sums"),
        pytest.param("floor(" * 300 + "strength / 2" + ")" * 300, "170", id="300 nested calls"),
        pytest.param("-" * 3000 + "seats", "342", id="3000 unary minus"),
        pytest.param("min(" + ", ".join(["seats"] * 5000) + ")", "342", id="5000 arguments"),
    ],
)
def test_long_and_deep_rules_evaluate_the_same_at_any_stack_depth(source: str, value: str) -> None:
    shallow = _outcome(source)
    assert shallow[:2] == ("rule", value)
    assert _near_the_bottom(lambda: _outcome(source)) == shallow
    assert _from_depth(800, lambda: _outcome(source)) == shallow


def test_a_long_flat_sum_is_not_called_nested() -> None:
    config, diags = load_config(SITE + '\n[rules]\nx = "seats' + "+1" * 1000 + '"\n')
    assert diags == []
    assert config.rules["x"].evaluate(342, 342) == 1342


def test_site_toml_with_a_deep_rule_loads_the_same_near_the_bottom_of_the_stack() -> None:
    text = (
        SITE + '\n[rules]\nx = "seats' + " + 1" * 5000 + '"\ny = "' + "(" * 300 + "seats" + ")" * 300 + '"\n'
    )
    shallow = load_config(text)
    deep = _near_the_bottom(lambda: load_config(text))
    assert shallow[1] == deep[1] == []
    assert shallow[0] == deep[0]
    assert deep[0].rules["x"].evaluate(342, 342) == 5342


def test_an_absurdly_long_rule_is_refused_up_front() -> None:
    source = "seats" + "+1" * 50_000  # 100,005 characters
    with pytest.raises(RuleError, match="characters long"):
        parse_rule("r", source)
    with pytest.raises(RuleError, match="characters long"):
        _near_the_bottom(lambda: parse_rule("r", source))


def _check(tmp_path: Path, rules: str) -> list:
    (tmp_path / "content/articles").mkdir(parents=True)
    (tmp_path / "site.toml").write_text(SITE + "\n[rules]\n" + rules, encoding="utf-8")
    (tmp_path / "content/articles/a.md").write_text(ARTICLE, encoding="utf-8")
    return check_site(tmp_path).diagnostics


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        pytest.param("*".join(["1000000000"] * 480), "does not yield a usable integer", id="480 factors"),
        pytest.param("seats * 1000000000000000", "does not yield a usable integer", id="beyond 10**15"),
        pytest.param("-seats * 1000000000000000", "does not yield a usable integer", id="below -10**15"),
        pytest.param("1 / 3" + " / 3" * 200, "does not yield a usable integer", id="huge denominator"),
        pytest.param("1" + "0" * 5000, "too large for a rule", id="5000-digit literal"),
    ],
)
def test_a_huge_rule_is_a_config_error_at_its_line(tmp_path: Path, expression: str, says: str) -> None:
    diags = _check(tmp_path, f'x = "{expression}"\n')
    assert [(d.code, d.span.file, d.span.line) for d in diags] == [("SG901", "site.toml", 10)]
    assert says in diags[0].message
    assert len(diags[0].message) < 300


def test_a_rule_error_points_at_the_offending_name(tmp_path: Path) -> None:
    config, diags = load_config(SITE + '\n[rules]\nx = "floor(seats / 2) + memebers"\n')
    (d,) = diags
    assert (d.span.line, d.span.column, d.span.end_line, d.span.end_column) == (10, 25, 10, 33)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("10:00:00", "not 10:00:00", id="time"),
        pytest.param("1.5", "not 1.5", id="float"),
        pytest.param("true", "not true", id="boolean"),
        pytest.param("[ 1,  2 ]", "not [ 1, 2 ]", id="array"),
        pytest.param("{ day = 1 }", "not { day = 1 }", id="table"),
        pytest.param('"March"', 'not "March"', id="string"),
    ],
)
def test_a_wrong_vacancy_date_is_shown_as_written(value: str, shown: str) -> None:
    _, diags = load_config(SITE + f"vacancies = [ {{ from = {value} }} ]\n")
    (d,) = diags
    assert d.message.endswith(shown), d.message
    assert "datetime" not in d.message and "(" not in d.message


@pytest.mark.parametrize("value", ["10:00:00", "1.5", "true", "[1]", "{ n = 1 }", '"2"', "0"])
def test_a_wrong_count_or_seats_is_shown_as_written(value: str) -> None:
    _, diags = load_config(SITE + f"vacancies = [ {{ from = 2021-03-01, count = {value} }} ]\n")
    assert [d.message.rsplit(", not ", 1)[-1] for d in diags] == [value]
    _, diags = load_config(SITE.replace("seats = 342", f"seats = {value}"))
    assert [d.message.rsplit(", not ", 1)[-1] for d in diags] == [value]


def test_a_value_too_deep_to_locate_is_described_in_words() -> None:
    nested = "[" * 80 + "1" + "]" * 80
    _, diags = load_config(SITE + f"vacancies = [ {{ from = {nested} }} ]\n")
    (d,) = diags
    assert d.message.endswith("not a list"), d.message
    assert d.span.line == 8


def test_an_empty_site_toml_is_one_error() -> None:
    _, diags = load_config("")
    assert [(d.code, d.span.line) for d in diags] == [("SG901", 1)]
    assert "[site]" in diags[0].message and "title" in diags[0].message and "base_url" in diags[0].message


TRICKY_TOML = """\
# [not a header] = "x"
"quoted key" = 'literal \\ with backslash'   # comment with ] and }
a . "b.c" . d = \"\"\"
  a "quoted" line ]
  \"\"\"\"\"
e = '''it's''''
when = 1979-05-27 07:32:00Z
list = [
  1,  # one
  [ 2, "]" ],
  { x = { y = [3, 4] }, z.w = "}" },
]

[[t.arr]]
k = 1
[t.arr.sub]
k = 2
[[t.arr]]
k = 3
[[t.arr.nested]]
k = 4
[ t . "other" ]
k = 5
"""


def _paths(value: object, path: tuple = ()):
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _paths(item, (*path, key))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(TRICKY_TOML, id="tricky"),
        pytest.param(TRICKY_TOML.replace("\n", "\r\n"), id="tricky CRLF"),
        pytest.param((Path(__file__).parent.parent / "site.toml").read_text(encoding="utf-8"), id="example"),
    ],
)
def test_every_key_and_value_of_site_toml_is_located(text: str) -> None:
    where = Locator(text, CONFIG_FILE)
    for path, value in _paths(tomllib.loads(text)):
        if not path:
            continue
        assert path in where.keys, path
        if path in where.values:
            start, end = where.values[path]
            assert tomllib.loads("v = " + text[start:end])["v"] == value, path


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("https://x.org/news/?a=1&b=2", "no ?query or #fragment"),
        ("http://x.org/news/#frag", "no ?query or #fragment"),
        ("https://x.org/%zz/", "`%` not followed by two hexadecimal digits"),
        ("https://x.org:99999/", "no port '99999'"),
        ("https://x.org/a b/", "write it as %20"),
        ("https:///news/", "names no host"),
    ],
)
def test_a_base_url_no_page_address_can_start_with_is_sg901(base_url: str, says: str) -> None:
    config, diags = load_config(SITE.replace("https://e.org/", base_url))
    assert [d.code for d in diags] == ["SG901"] and says in diags[0].message, diags
    assert diags[0].span.line == 3


def test_a_base_url_in_any_script_is_encoded_for_links_feed_and_sitemap() -> None:
    config, diags = load_config(SITE.replace("https://e.org/", "https://例え.jp/ニュース"))
    assert diags == []
    assert config.base_url == "https://xn--r8jz45g.jp/%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9/"


def test_a_table_under_site_is_a_slip_and_other_keys_are_the_sites_own() -> None:
    text = SITE.replace('base_url = "https://e.org/"\n', 'base_url = "https://e.org/"\ndescription = "D"\n')
    assert load_config(text)[1] == []
    slipped = text.replace('description = "D"\n', 'description = "D"\nbodies.NA.seats = 0\n')
    [diag] = load_config(slipped)[1]
    assert diag.code == "SG901" and "[site] has no table `bodies`" in diag.message and diag.span.line == 5


def test_a_very_long_rule_is_shown_by_its_start() -> None:
    rule = parse_rule("x", " + ".join(["seats"] * 5000))
    shown = rule.explain(342, 342)
    assert shown.startswith("342+342") and shown.endswith("(19,999 characters)") and len(shown) < 300


def test_a_check_failing_on_a_body_with_a_vacancy_in_error_points_at_site_toml(tmp_path: Path) -> None:
    """The vacancy site.toml got wrong is left out, so the body's strength on its dates is its
    seats: a figure written for the vacancy fails, and says where the trouble may be."""
    (tmp_path / "content/articles").mkdir(parents=True)
    bad = 'vacancies = [ { from = 2021-03-01, count = "one" } ]\n'
    rest = '\n[bodies.S]\nseats = 100\n\n[rules]\nmajority = "floor(strength / 2) + 1"\n'
    (tmp_path / "site.toml").write_text(SITE + bad + rest)
    article = "---\ntitle: A\ndate: 2021-03-06\n---\n171 of 341 <<seats NA=171/341 majority=yes>>.\n"
    (tmp_path / "content/articles/a.md").write_text(article, encoding="utf-8")
    (tmp_path / "content/articles/b.md").write_text(article.replace("NA=", "S="), encoding="utf-8")
    diags = check_site(tmp_path).diagnostics
    assert [d.code for d in diags if d.span.file == "site.toml"] == ["SG901"]
    failed = [d for d in diags if d.span.file == "content/articles/a.md"]
    assert failed and all("[bodies.NA] in site.toml has a vacancy in error" in (d.help or "") for d in failed)
    others = [d for d in diags if d.span.file == "content/articles/b.md"]  # 171/341 of a 100-seat body
    assert others and not any("site.toml has a vacancy" in (d.help or "") for d in others)


def _site_with_title(root: Path, written: str) -> None:
    (root / "content/articles").mkdir(parents=True)
    (root / "site.toml").write_text(SITE.replace('title = "T"', written), encoding="utf-8")
    article = ARTICLE.replace(" x=172", " majority=172")
    (root / "content/articles/a.md").write_text(article, encoding="utf-8")


@pytest.mark.parametrize(
    ("written", "line", "column"),
    [
        pytest.param('title = "T\x00"', 2, 11, id="NUL in a string"),
        pytest.param('title = "T" # note \x01', 2, 20, id="a control in a comment"),
        pytest.param('title = "T\x7f"', 2, 11, id="DEL in a string"),
    ],
)
def test_a_control_character_in_site_toml_is_invalid_toml(
    tmp_path: Path, written: str, line: int, column: int
) -> None:
    # TOML forbids them; read after the clean-up every other file gets, they passed as U+FFFD
    _site_with_title(tmp_path, written)
    diags = check_site(tmp_path).diagnostics
    where = [(d.code, d.span.file, d.span.line, d.span.column) for d in diags]
    assert where == [("SG901", "site.toml", line, column)]
    assert "not valid TOML" in diags[0].message


def test_what_toml_allows_and_no_page_may_hold_is_replaced_in_site_toml(tmp_path: Path) -> None:
    _site_with_title(tmp_path, 'title = "T\x85\ufffe"')
    checked = check_site(tmp_path)
    assert checked.diagnostics == []
    assert checked.site.config.title == "T\ufffd\ufffd"
