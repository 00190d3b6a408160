"""`tally`, `sum` and `pct`: parts, totals, winners and percentages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sitegen.annotations import Arg
from sitegen.checks.context import Ctx
from sitegen.diagnostics import written
from sitegen.prose import show_number as n

Show = Callable[[Decimal], str]  # how a figure is written in a message: 52, or 25.7% of a share
TALLY_KEYS = ("invalid", "total", "winner", "margin", "date", "prose")


def _named_counts(
    ctx: Ctx, fixed: tuple[str, ...], what: str, *, shares: bool, signed: bool = True, whole: bool = False
) -> dict[str, Decimal] | None:
    """The NAME=N arguments that are not one of the kind's fixed keys; None if any is bad.

    Every other key names a candidate or a part (SPEC §3), `rose` and `pros` too.  A near
    miss of `total`, `margin`, `winner` or `invalid` where that argument is absent (`margn=3`)
    is taken for a slip, SG105: as a candidate it would let a wrong margin or total pass
    unchecked.  Of `prose`, only one whose value no candidate could have (`pros=no`)."""
    counts: dict[str, Decimal] = {}
    ok = True
    entries = [arg for key, arg in ctx.keywords.items() if key not in fixed]
    for arg in entries:
        meant = _slip_of(ctx, arg, fixed)
        if meant is not None:
            ctx.error(
                "SG105",
                arg,
                f"`{arg.key}` is not an argument of `{ctx.ann.kind}`: did you mean `{meant}`?",
                help=f"write {meant}=..., or give the {what} a name further from `{meant}`",
            )
            ok = False
            continue
        value = ctx.number(arg.value, f"{what} `{arg.key}`", whole=whole, percent=shares, signed=signed)
        if value is None:
            ok = False
        else:
            counts[arg.key or ""] = value
    if len(entries) < 2:
        ctx.error("SG103", None, f"`{ctx.ann.kind}` needs two or more {what}s as NAME=N")
        return None
    return counts if ok else None


# The arguments whose figure a slip in their name would leave unchecked.
_FIGURES = ("total", "margin", "winner", "invalid")


def _slip_of(ctx: Ctx, arg: Arg, fixed: tuple[str, ...]) -> str | None:
    """The fixed key a candidate's key is a slip of, if it is taken for one (see `_named_counts`)."""
    meant = typo_of(arg.key or "", fixed)
    if meant is None or meant in ctx.keywords:
        return None
    if meant in _FIGURES:
        return meant
    return meant if arg.value.type not in ("number", "percent", "factref") else None


def _in_shares(ctx: Ctx, fixed: tuple[str, ...]) -> bool:
    """Whether a tally's candidates or a sum's parts are percentages: as the first that tells
    is written (a slip of a fixed key, or an unknown fact, tells nothing)."""
    for key, arg in ctx.keywords.items():
        if key in fixed or _slip_of(ctx, arg, fixed) is not None:
            continue
        value = arg.value
        if value.type in ("percent", "number"):
            return value.type == "percent"
        if value.type == "factref" and value.text in ctx.site.facts.first:
            return ctx.is_percentage(value)
    return False


def typo_of(key: str, fixed: tuple[str, ...]) -> str | None:
    """The fixed key (of five letters or more) a lowercase key is one slip away from: a letter
    missing, extra, wrong or two swapped.  Candidates and parts are named freely, so only a
    near miss of an argument's own name is taken for one (`Martin` is a candidate)."""
    if not key.islower():
        return None
    return next((name for name in fixed if len(name) >= 5 and _one_slip(key, name)), None)


def _one_slip(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
        return len(diff) == 1 or swapped
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def check_tally(ctx: Ctx) -> str:
    ctx.reject_repeats()
    body = ctx.positional_body(required=False)
    ctx.reject_positional(keep=1)
    day = ctx.date()
    shares = _in_shares(ctx, TALLY_KEYS)
    show = _shown(shares)
    whole = body is not None and not shares  # votes cast in a body are counted whole
    candidates = _named_counts(ctx, TALLY_KEYS, "candidate", shares=shares, signed=False, whole=whole)
    invalid_arg, total_arg = ctx.keywords.get("invalid"), ctx.keywords.get("total")
    invalid = _amount(ctx, invalid_arg, "`invalid`", shares, whole=whole) if invalid_arg else Decimal(0)
    total = _amount(ctx, total_arg, "`total`", shares, whole=whole) if total_arg else None
    if candidates is None or invalid is None:
        _check_unranked(ctx, shares)
        return "tally"
    added = sum(candidates.values(), Decimal(0)) + invalid
    terms = [show(v) for v in candidates.values()] + ([show(invalid)] if invalid_arg else [])
    if total is not None and total_arg is not None and added != total:
        ctx.error(
            "SG205",
            None,  # the parts and the total together: the whole annotation (SPEC §4)
            f"the tally does not add up: {' + '.join(terms)} = {show(added)}, but total is {show(total)}",
        )
    counted = total if total is not None else added
    if body is not None and not shares:  # a share is no number of seats
        ctx.within_body(body, day, counted, total_arg.value if total_arg else None, "a tally's total of {n}")
    ranked = sorted(candidates.items(), key=lambda item: item[1], reverse=True)
    words = ", ".join(f"{name} {show(v)}" for name, v in candidates.items())
    if invalid_arg:
        words += f", invalid {show(invalid)}"
    words = f"{body.name + ': ' if body else ''}{words}; total {show(counted)}"
    return words + _winner(ctx, ranked, show) + _margin(ctx, ranked, shares)


def _shown(shares: bool) -> Show:
    """How the figures of a tally or sum are written in its messages: 25.7% for shares."""
    return (lambda v: f"{n(v)}%") if shares else n


def _amount(
    ctx: Ctx, arg: Arg, what: str, shares: bool, *, signed: bool = False, whole: bool = False
) -> Decimal | None:
    """`invalid=` or `total=`: a count, or a share when the candidates or parts are."""
    return ctx.number(arg.value, what, figure=False, whole=whole, percent=shares, signed=signed)


# A candidate is named as its key is written: `Yes=120 No=80 winner=Yes` names one, though
# yes and no read as booleans elsewhere.
_NAMES = ("name", "string", "bool")


def _check_unranked(ctx: Ctx, shares: bool) -> None:
    """What can be checked of `winner` and `margin` when some count is unknown: each error the
    writer will meet, reported together (an unknown @margin, a winner who is no candidate)."""
    margin = ctx.keywords.get("margin")
    if margin is not None:
        _margin_value(ctx, margin, shares)
    winner = ctx.keywords.get("winner")
    names = [key for key in ctx.keywords if key not in TALLY_KEYS]
    if winner is not None and winner.value.type in _NAMES:
        name = winner.value.text if winner.value.type == "string" else winner.value.raw
        if name not in names:
            ctx.error(
                "SG207",
                winner.value,
                f"winner `{name}` is not a candidate in this tally",
                help=f"candidates: {', '.join(names)}",
            )


def _winner(ctx: Ctx, ranked: list[tuple[str, Decimal]], show: Show) -> str:
    arg = ctx.keywords.get("winner")
    if arg is None:
        return ""
    name = arg.value.text if arg.value.type == "string" else arg.value.raw
    top = ranked[0][1]
    leaders = [c for c, v in ranked if v == top]
    if arg.value.type not in _NAMES:
        ctx.error("SG104", arg.value, f"`winner` must be a candidate's name, not {written(name or '')}"[:200])
    elif name not in dict(ranked):
        ctx.error(
            "SG207",
            arg.value,
            f"winner `{name}` is not a candidate in this tally",
            help=f"candidates: {', '.join(c for c, _ in ranked)}",
        )
    elif len(leaders) > 1:
        ctx.error("SG207", arg.value, f"no single winner: {' and '.join(leaders)} tie on {show(top)}")
    elif leaders[0] != name:
        ctx.error(
            "SG207",
            arg.value,
            f"winner `{name}` has {show(dict(ranked)[name])}, "
            f"but {leaders[0]} has the most votes ({show(top)})",
            help=f"write winner={leaders[0]}",
        )
    return f"; winner {name} ✓"


def _margin(ctx: Ctx, ranked: list[tuple[str, Decimal]], shares: bool) -> str:
    arg = ctx.keywords.get("margin")
    if arg is None:
        return ""
    stated = _margin_value(ctx, arg, shares)
    if stated is None:
        return ""
    show = _shown(shares)
    (first, a), (second, b) = ranked[0], ranked[1]
    actual = a - b
    if stated != actual:
        written = f"{n(actual)}%" if ctx.is_percentage(arg.value) else n(actual)
        ctx.error(
            "SG208",
            arg.value,
            f"margin {_as_written(arg, stated, show)} is wrong: "
            f"{first} {show(a)} − {second} {show(b)} = {show(actual)}",
            help=f"write margin={written}",
        )
    return f"; margin {show(a)} − {show(b)} = {show(actual)} ✓"


def _as_written(arg: Arg, value: Decimal, show: Show) -> str:
    """`7`, or `@i (7)`: a fact's name says nothing of the figure that is wrong."""
    return f"{arg.value.raw} ({show(value)})" if arg.value.type == "factref" else arg.value.raw


def _margin_value(ctx: Ctx, arg: Arg, shares: bool) -> Decimal | None:
    """The stated margin: of shares, in points (1.6) or as a percentage (1.6%) alike."""
    percent = shares and ctx.is_percentage(arg.value)
    return ctx.number(arg.value, "`margin`", figure=False, whole=False, percent=percent, signed=False)


SUM_KEYS = ("total", "date", "prose")


def check_sum(ctx: Ctx) -> str:
    ctx.reject_repeats()
    body = ctx.positional_body(required=False)
    ctx.reject_positional(keep=1)
    day = ctx.date()
    shares = _in_shares(ctx, SUM_KEYS)
    show = _shown(shares)
    parts = _named_counts(ctx, SUM_KEYS, "part", shares=shares)
    total_arg = ctx.keywords.get("total")
    total = _amount(ctx, total_arg, "`total`", shares, signed=True) if total_arg else None
    if shares and total_arg is None:
        total = Decimal(100)  # shares of a whole add up to all of it, whatever the body's size
    if total_arg is None and not shares and body is None and not ctx.positional:
        ctx.error("SG103", None, "`sum` needs `total=` or a body whose size is the total")
    if parts is None or (total_arg is not None and total is None):
        return "sum"
    added = sum(parts.values(), Decimal(0))
    arithmetic = f"{' + '.join(show(v) for v in parts.values())} = {show(added)}"
    prefix = f"{body.name}: " if body else ""
    if total is not None:
        if added != total:
            ctx.error(
                "SG205",
                None,  # the parts and the total together: the whole annotation (SPEC §4)
                f"the parts do not add up: {arithmetic}, but total is {show(total)}",
            )
        return f"{prefix}{_labelled(parts, show)} = {show(total)} ✓"
    if body is None:
        return "sum"
    sizes = (body.seats, body.strength(day))
    if added not in sizes:
        ctx.error(
            "SG205",
            None,
            f"the parts do not add up: {arithmetic}, but {ctx.size_words(body, day)}",
            help=_gap_help(added, sizes),
        )
    held = f"{prefix}{_labelled(parts, show)} = {n(added)} seats"
    vacant = body.seats - sizes[1]
    if added == sizes[1] != body.seats:  # as `seats` says it: the reader sees why it is not the seats
        return f"{held}, its strength on {day} ({vacant} vacant) ✓"
    return f"{held} ✓"


def _gap_help(added: Decimal, sizes: tuple[int, int]) -> str:
    """What a `sum` of a body's seats lacks or has too many of: a part to add or to mend
    (the body's size is no argument to change, so "use 342" would help no one)."""
    seats, strength = sizes
    nearest = min((seats, strength), key=lambda size: abs(size - added))  # a tie: the seats
    gap = nearest - added
    amount = f"{n(abs(gap))} {'seat' if abs(gap) == 1 else 'seats'}"
    whole = f"the {seats} seats" if nearest == seats else f"the {strength} filled seats"
    if gap > 0:
        return f"the parts leave {amount} of {whole} unaccounted for: add the missing part, or correct one"
    return f"the parts come to {amount} more than {whole}: correct a part"


def _labelled(parts: dict[str, Decimal], show: Show) -> str:
    return " + ".join(f"{name} {show(v)}" for name, v in parts.items())


def check_pct(ctx: Ctx) -> str:
    ctx.reject_repeats()
    part_arg, whole_arg, value_arg = (ctx.keywords.get(k) for k in ("part", "whole", "value"))
    for key, arg in ctx.keywords.items():
        if key not in ("part", "whole", "value", "prose"):
            ctx.unknown_key(arg, ("part", "whole", "value", "prose"))
    part_node, whole_node, value_node = _pct_positional(ctx, part_arg, whole_arg, value_arg)
    if part_node is None or whole_node is None or value_node is None:
        ctx.error("SG103", None, f"`pct` needs {_pct_missing(part_node, whole_node, value_node)}")
        return "percentage"
    part = ctx.number(part_node, "the part", whole=False)
    whole = ctx.number(whole_node, "the whole", whole=False)
    stated = ctx.number(value_node, "the stated value", whole=False, percent=True)
    if part is None or whole is None or stated is None:
        return "percentage"
    if whole == 0:
        ctx.error("SG104", whole_node, "the whole of a percentage cannot be 0")
        return "percentage"
    exact = part * 100 / whole
    exponent = stated.as_tuple().exponent  # an int for every finite value
    places = max(-exponent, 0) if isinstance(exponent, int) else 0
    step = Decimal(1).scaleb(-places)
    # halves round up, towards +∞, also below zero: 52% covers [51.5, 52.5), -51% [-51.5, -50.5)
    rounded = ((exact / step + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)
    shown = f"{n(part)}/{n(whole)} = {n(exact.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP))}%"
    if rounded != stated:
        low, high = stated - step / 2, stated + step / 2
        said = f"{format(stated, 'f')}%"
        named = f" (@{value_node.text})" if value_node.type == "factref" else ""
        ctx.error(
            "SG209",
            value_node,
            f"{shown}, which rounds to {format(rounded, 'f')}%, not {said}{named}: "
            f"{said} covers [{n(low)}, {n(high)})",
            help=f"write {format(rounded, 'f')}%",
        )
    return f"{shown} ≈ {format(stated, 'f')}% ✓"


def _stated_positional(positional: Sequence[Arg]) -> Arg | None:
    """The positional argument `pct` takes for its stated value: the first PERCENT, else the
    first other value that could be meant as one."""
    percents = [arg for arg in positional if arg.value.type == "percent"]
    others = [arg for arg in positional if arg.value.type in ("factref", "number", "string")]
    chosen = percents or others
    return chosen[0] if chosen else None


def _pct_missing(part: object, whole: object, value: object) -> str:
    if part is None and whole is None:
        wanted = ["N/M (or part= and whole=)"]
    else:
        wanted = ["`part=`"] if part is None else ["`whole=`"] if whole is None else []
    if value is None:
        wanted.append("a percentage (P% or value=P%)")
    return " and ".join(wanted) + ", e.g. <<pct 177/342 51.8%>>"


def _pct_positional(ctx: Ctx, part_arg: Arg | None, whole_arg: Arg | None, value_arg: Arg | None):
    part = part_arg.value if part_arg else None
    whole = whole_arg.value if whole_arg else None
    value = value_arg.value if value_arg else None
    # A PERCENT is the stated value wherever it stands; only without one is a plain number (or
    # "52%") taken for it, and SG104 says how to write it.  In `part=178 342 52%` the stray
    # argument is then the 342, not the percentage.
    stated = None if value is not None else _stated_positional(ctx.positional)
    for arg in ctx.positional:
        v = arg.value
        if v.type == "ratio" and part is None and whole is None and v.parts:
            part, whole = v.parts
        elif arg is stated:
            value = v
        else:
            ctx.error(
                "SG105",
                arg,
                f"`pct` does not take {written(v.raw)} here"[:200],
                help="write <<pct N/M P%>> or <<pct part=N whole=M value=P%>>",
            )
    return part, whole, value
