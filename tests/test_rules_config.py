"""Rules that are long, deep or huge: what the fixture format cannot say.

Rule expressions are compiled and evaluated without recursion, so the outcome cannot depend
on how deep the caller's stack happens to be; these tests prove it by asking again from
nearly the bottom of the stack.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from sitegen.config import load_config
from sitegen.pipeline import check_site
from sitegen.rules import RuleError, parse_rule

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
