"""Threshold rules: integer expressions over `seats` and `strength`, and body sizes on a date."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from sitegen.grammar import parser

VARIABLES = ("seats", "strength")
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Fraction]]] = {
    # name: (min args, max args, implementation)
    "floor": (1, 1, lambda x: Fraction(math.floor(x))),
    "ceil": (1, 1, lambda x: Fraction(math.ceil(x))),
    "min": (1, None, lambda *values: min(values)),
    "max": (1, None, lambda *values: max(values)),
}
DEFAULT_RULES = {"majority": "floor(seats / 2) + 1", "two_thirds": "ceil(seats * 2 / 3)"}
RESERVED_RULE_NAMES = frozenset({"date", "prose"})


@dataclass(frozen=True, slots=True)
class Expr:
    """A node of a rule expression: op is int, var, call, add, sub, mul, div or neg."""

    op: str
    args: tuple[Expr, ...] = ()
    value: int | None = None
    name: str | None = None


class RuleError(Exception):
    """A rule that does not parse or evaluate; `offset` is into the expression text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    source: str
    expr: Expr

    def evaluate(self, seats: int, strength: int) -> int:
        return _whole_value(self, seats, strength)

    def explain(self, seats: int, strength: int) -> str:
        """The expression with the body's numbers in it, e.g. `floor(342 / 2) + 1`."""
        return _explained(self, seats, strength)


# A site has a few rules and bodies, and every seats, threshold and votes annotation asks
# for the same few values: each is worked out once (an error is raised again each time).
@functools.lru_cache(maxsize=1024)
def _whole_value(rule: Rule, seats: int, strength: int) -> int:
    value = evaluate(rule.expr, {"seats": seats, "strength": strength})
    if value.denominator != 1:
        raise RuleError(f"rule `{rule.name}` gives {_show(value)}, not a whole number")
    return int(value)


@functools.lru_cache(maxsize=1024)
def _explained(rule: Rule, seats: int, strength: int) -> str:
    return render(rule.expr, {"seats": seats, "strength": strength})


def parse_rule(name: str, source: str) -> Rule:
    """Parse a rule expression with the `rule_expr` start of grammar.lark; raises RuleError."""
    # White space is insignificant in an expression, line breaks of a TOML multi-line string
    # included; as spaces they keep every offset, so an error's column stays right.
    one_line = source.replace("\n", " ")
    try:
        tree = parser().parse(one_line, start="rule_expr")
    except UnexpectedInput as exc:
        raise _rule_syntax_error(one_line, exc) from None
    except LarkError as exc:
        raise RuleError(f"cannot parse rule: {exc}") from None
    except RecursionError:
        raise RuleError("rule expression is nested too deeply") from None
    try:
        rule = Rule(name, source, _to_expr(tree))
        rule.explain(1, 1)  # renders and evaluates recursively too: prove the depth is fine now
        evaluate(rule.expr, {"seats": 1, "strength": 1})
    except RecursionError:
        raise RuleError("rule expression is nested too deeply") from None
    except RuleError as exc:
        if exc.message != "division by zero":
            raise
    return rule


def _rule_syntax_error(source: str, exc: UnexpectedInput) -> RuleError:
    offset = max((getattr(exc, "column", 1) or 1) - 1, 0)
    if isinstance(exc, UnexpectedCharacters):
        ch = source[offset] if offset < len(source) else ""
        return RuleError(f"unexpected character {ch!r} in rule expression", offset)
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return RuleError("rule expression ends too early", len(source))
    if isinstance(exc, UnexpectedToken):
        return RuleError(f"unexpected {str(exc.token)!r} in rule expression", offset)
    return RuleError("cannot parse rule expression", offset)


def _to_expr(t: Tree | Token) -> Expr:
    if isinstance(t, Token):  # pragma: no cover - the grammar wraps every token in a rule
        raise RuleError(f"unexpected {str(t)!r}")
    offset = (t.meta.column - 1) if not t.meta.empty else 0
    if t.data == "int":
        digits = str(t.children[0])
        if len(digits) > 18:
            raise RuleError(f"number {digits[:20]}… is too large for a rule", offset)
        return Expr("int", value=int(digits))
    if t.data == "var":
        name = str(t.children[0])
        if name not in VARIABLES:
            raise RuleError(f"unknown variable `{name}` (rules know `seats` and `strength`)", offset)
        return Expr("var", name=name)
    if t.data == "call":
        return _to_call(t, offset)
    return Expr(str(t.data), tuple(_to_expr(c) for c in t.children))


def _to_call(t: Tree, offset: int) -> Expr:
    name = str(t.children[0])
    args = tuple(_to_expr(c) for c in t.children[1:] if c is not None)
    if name not in FUNCTIONS:
        known = ", ".join(f"{f}()" for f in FUNCTIONS)
        raise RuleError(f"unknown function `{name}()` (rules know {known})", offset)
    low, high, _ = FUNCTIONS[name]
    if len(args) < low or (high is not None and len(args) > high):
        raise RuleError(f"`{name}()` takes {low if high == low else f'at least {low}'} argument(s)", offset)
    return Expr("call", args, name=name)


def evaluate(e: Expr, env: Mapping[str, int]) -> Fraction:
    if e.op == "int":
        return Fraction(e.value or 0)
    if e.op == "var":
        return Fraction(env[e.name or ""])
    values = [evaluate(a, env) for a in e.args]
    if e.op == "call":
        return FUNCTIONS[e.name or ""][2](*values)
    if e.op == "neg":
        return -values[0]
    left, right = values
    if e.op == "add":
        return left + right
    if e.op == "sub":
        return left - right
    if e.op == "mul":
        return left * right
    if right == 0:
        raise RuleError("division by zero")
    return left / right


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3}


def render(e: Expr, env: Mapping[str, int], parent: int = 0) -> str:
    if e.op == "int":
        return str(e.value)
    if e.op == "var":
        return str(env[e.name or ""])
    if e.op == "call":
        return f"{e.name}({', '.join(render(a, env) for a in e.args)})"
    if e.op == "neg":
        return "-" + _signed(render(e.args[0], env, 3))
    own = _PRECEDENCE[e.op]
    left = render(e.args[0], env, own)
    right = _signed(render(e.args[1], env, own + 1))
    text = f"{left}{_SYMBOL[e.op]}{right}"
    return f"({text})" if own < parent else text


def _signed(text: str) -> str:
    """An operand after an operator: a leading minus gets parentheses (8-(-3), never 8--3)."""
    return f"({text})" if text.startswith("-") else text


def _show(value: Fraction) -> str:
    try:
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    except ValueError:  # beyond Python's digit limit for printing integers
        return "a number too large to print"


# ----------------------------------------------------------------- body sizes


@dataclass(frozen=True, slots=True)
class Vacancy:
    start: dt.date
    end: dt.date | None
    count: int

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Body:
    id: str
    name: str
    seats: int
    vacancies: tuple[Vacancy, ...] = ()

    def strength(self, day: dt.date | None) -> int:
        if day is None:
            return self.seats
        return self.seats - sum(v.count for v in self.vacancies if v.covers(day))

    def telling_days(self) -> set[dt.date]:
        """A day of each strength the vacancies can produce: each start, end and day after an end."""
        days = {v.start for v in self.vacancies}
        days |= {
            v.end + dt.timedelta(days=1) for v in self.vacancies if v.end is not None and v.end < dt.date.max
        }
        return days | {v.end for v in self.vacancies if v.end is not None}

    def possible_strengths(self) -> set[int]:
        """Every strength the vacancies can produce, for validating rules once at load time."""
        return {self.seats} | {self.strength(d) for d in self.telling_days()}
