"""Threshold rules: integer expressions over `seats` and `strength`, and body sizes on a date."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from lark import Tree
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


#: A rule longer than this is no rule a newsroom writes; refusing it up front keeps parsing,
#: checking and explaining any rule fast.
MAX_RULE_LENGTH = 50_000
#: No assembly has this many seats: a rule beyond it is a mistake, and its value would not even
#: print (Python refuses to print integers of more than 4,300 digits).
MAX_RESULT = 10**15
#: A bound on every value met on the way, so that a long product or chain of divisions cannot
#: build numbers that take long to compute or cannot be printed.
MAX_INTERMEDIATE = 10**60
_MAX_DIGITS = 18  # an integer literal longer than this is a typo, not a threshold


@dataclass(frozen=True, slots=True)
class Step:
    """One instruction of a rule compiled to postfix: op is int, var, call, add, sub, mul, div or neg.

    A flat program, not a tree: evaluating and rendering it take a loop and a stack, so no rule,
    however long or deeply nested, depends on Python's recursion limit.
    """

    op: str
    value: int = 0
    name: str = ""
    argc: int = 0


class RuleError(Exception):
    """A rule that does not parse or evaluate.

    `offset` is into the expression text; `end` is None when the whole rule is at fault (a value
    that is not whole, a division by zero), else the end of the offending text.
    """

    def __init__(self, message: str, offset: int = 0, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.end = end


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    source: str
    # The program follows from the source: leaving it out of == and hash() keeps both cheap
    # for the caches below, whatever the length of the rule.
    program: tuple[Step, ...] = field(compare=False, repr=False)

    def evaluate(self, seats: int, strength: int) -> int:
        return _whole_value(self, seats, strength)

    def explain(self, seats: int, strength: int) -> str:
        """The expression with the body's numbers in it, e.g. `floor(342 / 2) + 1`."""
        return _explained(self, seats, strength)


# A site has a few rules and bodies, and every seats, threshold and votes annotation asks
# for the same few values: each is worked out once (an error is raised again each time).
@functools.lru_cache(maxsize=1024)
def _whole_value(rule: Rule, seats: int, strength: int) -> int:
    value = evaluate(rule.program, {"seats": seats, "strength": strength})
    if abs(value) > MAX_RESULT:
        raise RuleError(f"rule `{rule.name}` does not yield a usable integer (its value is beyond ±10**15)")
    if value.denominator != 1:
        raise RuleError(f"rule `{rule.name}` gives {_show(value)}, not a whole number")
    return int(value)


@functools.lru_cache(maxsize=1024)
def _explained(rule: Rule, seats: int, strength: int) -> str:
    shown = render(rule.program, {"seats": seats, "strength": strength})
    # a rule may be thousands of terms long; a message or a footnote shows its start
    return shown if len(shown) <= _EXPLAINED_MAX else f"{shown[:_EXPLAINED_MAX]}… ({len(shown):,} characters)"


_EXPLAINED_MAX = 200


def parse_rule(name: str, source: str) -> Rule:
    """Parse a rule expression with the `rule_expr` start of grammar.lark; raises RuleError."""
    if len(source) > MAX_RULE_LENGTH:
        raise RuleError(f"rule expression is {len(source):,} characters long, more than {MAX_RULE_LENGTH:,}")
    # White space is insignificant in an expression, line breaks of a TOML multi-line string
    # included; as spaces they keep every offset, so an error's column stays right.
    one_line = source.replace("\n", " ")
    try:
        tree = parser().parse(one_line, start="rule_expr")
    except UnexpectedInput as exc:
        raise _rule_syntax_error(one_line, exc) from None
    except LarkError as exc:
        raise RuleError(f"cannot parse rule: {exc}") from None
    return Rule(name, source, compile_tree(tree))


def _rule_syntax_error(source: str, exc: UnexpectedInput) -> RuleError:
    if isinstance(exc, UnexpectedCharacters):
        offset = min(max(exc.pos_in_stream or 0, 0), len(source))
        ch = source[offset] if offset < len(source) else ""
        return RuleError(f"unexpected character {ch!r} in rule expression", offset, offset + 1)
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return RuleError("rule expression ends too early", len(source), len(source))
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        offset = token.start_pos if token.start_pos is not None else 0
        return RuleError(f"unexpected {str(token)!r} in rule expression", offset, offset + len(token))
    return RuleError("cannot parse rule expression")


def compile_tree(tree: Tree) -> tuple[Step, ...]:
    """The parse tree as a postfix program, in one loop: a tree walk by recursion would stop
    at a nesting depth that depends on how deep the caller's stack already is."""
    program: list[Step] = []
    pending: list[tuple[Tree, bool]] = [(tree, False)]
    while pending:
        node, children_done = pending.pop()
        if children_done or node.data in ("int", "var"):
            program.append(_step(node))
            continue
        pending.append((node, True))
        pending.extend((c, False) for c in reversed(node.children) if isinstance(c, Tree))
    return tuple(program)


def _step(node: Tree) -> Step:
    start, end = (node.meta.start_pos, node.meta.end_pos) if not node.meta.empty else (0, None)
    if node.data == "int":
        digits = str(node.children[0])
        if len(digits) > _MAX_DIGITS:
            raise RuleError(f"number {digits[:20]}… is too large for a rule", start, end)
        return Step("int", value=int(digits))
    if node.data == "var":
        name = str(node.children[0])
        if name not in VARIABLES:
            raise RuleError(f"unknown variable `{name}` (rules know `seats` and `strength`)", start, end)
        return Step("var", name=name)
    if node.data == "call":
        return _call_step(node, start)
    return Step(str(node.data), argc=len(node.children))


def _call_step(node: Tree, start: int) -> Step:
    name_token = node.children[0]
    name = str(name_token)
    argc = sum(1 for c in node.children[1:] if isinstance(c, Tree))
    name_end = start + len(name)
    if name not in FUNCTIONS:
        known = ", ".join(f"{f}()" for f in FUNCTIONS)
        raise RuleError(f"unknown function `{name}()` (rules know {known})", start, name_end)
    low, high, _ = FUNCTIONS[name]
    if argc < low or (high is not None and argc > high):
        raise RuleError(
            f"`{name}()` takes {low if high == low else f'at least {low}'} argument(s)", start, name_end
        )
    return Step("call", name=name, argc=argc)


def evaluate(program: tuple[Step, ...], env: Mapping[str, int]) -> Fraction:
    stack: list[Fraction] = []
    for step in program:
        if step.op == "int":
            stack.append(Fraction(step.value))
            continue
        if step.op == "var":
            stack.append(Fraction(env[step.name]))
            continue
        args = stack[len(stack) - step.argc :]
        del stack[len(stack) - step.argc :]
        stack.append(_bounded(_apply(step, args)))
    return stack[-1]


def _apply(step: Step, args: list[Fraction]) -> Fraction:
    if step.op == "call":
        return FUNCTIONS[step.name][2](*args)
    if step.op == "neg":
        return -args[0]
    left, right = args
    if step.op == "add":
        return left + right
    if step.op == "sub":
        return left - right
    if step.op == "mul":
        return left * right
    if right == 0:
        raise RuleError("division by zero")
    return left / right


def _bounded(value: Fraction) -> Fraction:
    if abs(value.numerator) > MAX_INTERMEDIATE or value.denominator > MAX_INTERMEDIATE:
        raise RuleError("does not yield a usable integer (a step of it goes beyond ±10**60)")
    return value


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3}
_NEVER_WRAPPED = 4  # numbers, variables, calls and negations need no parentheses of their own


def render(program: tuple[Step, ...], env: Mapping[str, int]) -> str:
    """The expression as text with the variables' values in it, parenthesised only where needed."""
    stack: list[tuple[str, int]] = []  # (text, precedence of its top operator)
    for step in program:
        if step.op == "int":
            stack.append((str(step.value), _NEVER_WRAPPED))
        elif step.op == "var":
            stack.append((str(env[step.name]), _NEVER_WRAPPED))
        elif step.op == "call":
            args = stack[len(stack) - step.argc :]
            del stack[len(stack) - step.argc :]
            stack.append((f"{step.name}({', '.join(text for text, _ in args)})", _NEVER_WRAPPED))
        elif step.op == "neg":
            stack.append(("-" + _signed(_wrapped(stack.pop(), _PRECEDENCE["neg"])), _NEVER_WRAPPED))
        else:
            own = _PRECEDENCE[step.op]
            right, left = stack.pop(), stack.pop()
            text = f"{_wrapped(left, own)}{_SYMBOL[step.op]}{_signed(_wrapped(right, own + 1))}"
            stack.append((text, own))
    return stack[-1][0]


def _wrapped(operand: tuple[str, int], parent: int) -> str:
    text, own = operand
    return f"({text})" if own < parent else text


def _signed(text: str) -> str:
    """An operand after an operator: a leading minus gets parentheses (8-(-3), never 8--3)."""
    return f"({text})" if text.startswith("-") else text


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


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
    # a vacancy of its site.toml section had an error (SG901) and was left out: a strength
    # worked out without it may be wrong, which a check that fails on this body says
    incomplete: bool = False

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
