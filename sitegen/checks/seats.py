"""`seats`, `threshold` and `votes`: figures measured against a body and its rules."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sitegen.annotations import Arg
from sitegen.checks.context import NAMES_NO_RULE, UNKNOWN_RULE, Ctx, did_you_mean
from sitegen.diagnostics import written
from sitegen.prose import show_number as n
from sitegen.rules import Body, RuleError

SEATS_KEYS = ("majority", "date", "prose")


def check_seats(ctx: Ctx) -> str:
    ctx.reject_repeats()
    ctx.reject_positional(help=_name_the_body(ctx))
    day = ctx.date()
    claim = ctx.flag("majority")
    entries = [arg for key, arg in ctx.keywords.items() if key not in SEATS_KEYS]
    if not entries:
        if not any(arg.value.type == "ratio" for arg in ctx.positional):  # else SG105 says it all
            ctx.error("SG103", None, "`seats` needs at least one BODY=N/TOTAL, e.g. NA=178/342")
        return "seats: nothing to check"
    verdicts: dict[str, bool] = {}  # body name -> whether it has a majority
    parts = [_seats_entry(ctx, arg, claim, day, verdicts) for arg in entries]
    if len(set(verdicts.values())) > 1:
        _one_claim_for_bodies_that_differ(ctx, verdicts)
    return "; ".join(p for p in parts if p)


def _name_the_body(ctx: Ctx) -> str | None:
    """For `<<seats 178/342>>`: the figures are counted in a body, which it names."""
    ratios = [arg for arg in ctx.positional if arg.value.type == "ratio"]
    if not ratios:
        return None
    bodies = sorted(ctx.site.config.bodies)
    body = bodies[0] if len(bodies) == 1 else "BODY"
    among = f" (one of {', '.join(bodies[:6])})" if len(bodies) > 1 else ""
    return f"name the body the seats are in: write {body}={ratios[0].value.raw}{among}"


def _one_claim_for_bodies_that_differ(ctx: Ctx, verdicts: dict[str, bool]) -> None:
    """No one `majority=` is right for all the bodies: flipping it, as each SG203's help said,
    would only move the error to the other body."""
    has = [name for name, yes in verdicts.items() if yes]
    lacks = [name for name, yes in verdicts.items() if not yes]
    advice = (
        f"one `majority=` speaks for every body here, but the {' and the '.join(has)}"
        f" {'has' if len(has) == 1 else 'have'} a majority and the {' and the '.join(lacks)}"
        f" {'has' if len(lacks) == 1 else 'have'} not: give each body an annotation of its own"
    )
    ctx.diagnostics[:] = [replace(d, help=advice) if d.code == "SG203" else d for d in ctx.diagnostics]


def _seats_entry(ctx: Ctx, arg: Arg, claim: bool | None, day, verdicts: dict[str, bool]) -> str | None:
    key = arg.key or ""
    if arg.value.type != "ratio":
        if key not in ctx.site.config.bodies:
            ctx.unknown_key(arg, (*SEATS_KEYS, *ctx.site.config.bodies))
        else:
            ctx.error(
                "SG104",
                arg.value,
                f"`{key}` takes N/TOTAL seats, e.g. {key}=178/342, not {written(arg.value.raw)}"[:200],
            )
        return None
    body = ctx.body(key, arg)
    held_value, total_value = arg.value.parts or (arg.value, arg.value)
    held = ctx.number(held_value, "a seat count")
    total = ctx.number(total_value, "a total of seats")
    if body is None or held is None or total is None:
        return None
    if held > total:
        ctx.error("SG201", arg.value, f"{n(held)} seats out of {n(total)}: the part exceeds the whole")
    strength = body.strength(day)
    if total not in (body.seats, strength):
        ctx.error(
            "SG202",
            total_value,
            f"total {n(total)} does not match: {ctx.size_words(body, day)}",
            help=ctx.size_help(body, day),
        )
    words = f"{body.name}: {n(held)} of {n(total)} seats"
    if total == strength != body.seats:
        words += f" (its strength on {day}; {body.seats - strength} vacant)"
    if claim is None:
        return words
    return words + _majority(ctx, body, held, claim, day, verdicts)


def _majority(ctx: Ctx, body: Body, held: Decimal, claim: bool, day, verdicts: dict[str, bool]) -> str:
    rule = ctx.rule("majority")
    if rule is None:
        return ""
    needed = ctx.rule_value(rule, body, day)
    if needed is None:
        return ""
    formula = ctx.explain_rule(rule, body, day)
    has = verdicts[body.name] = held >= needed
    if has != claim:
        relation = f"{n(held)} < {needed}" if not has else f"{n(held)} ≥ {needed}"
        ctx.error(
            "SG203",
            ctx.keywords["majority"].value,
            f"majority={ctx.keywords['majority'].value.raw} is wrong for the {body.name}: {relation}, "
            f"and a majority is {formula} = {needed}",
            help=f"write majority={'yes' if has else 'no'}",
        )
    mark = "majority ✓" if has else "no majority ✓"
    return f"; simple majority {needed} ({formula}) — {mark}"


def _rules_giving(ctx: Ctx, value: Decimal, body: Body, day, but: str) -> str:
    """The site's other rules that give the stated value: the figure may be right and the
    rule named the wrong one (a majority of the members sitting, not of all seats)."""
    giving = []
    for name, rule in sorted(ctx.site.config.rules.items()):
        if name == but:
            continue
        try:
            if rule.evaluate(body.seats, body.strength(day)) == value:
                giving.append(f"`{name}`")
        except RuleError:
            continue
    if not giving:
        return ""
    return f", or, if {n(value)} is right, name the rule that gives it: {' or '.join(giving)}"


def check_threshold(ctx: Ctx) -> str:
    ctx.reject_repeats()
    body = ctx.positional_body(required=True)
    ctx.reject_positional(keep=1)
    day = ctx.date()
    rules = [arg for key, arg in ctx.keywords.items() if key not in ("date", "prose")]
    known_rules = ctx.site.config.rules
    if not rules:
        names = ", ".join(sorted(known_rules)) or "majority"
        ctx.error("SG103", None, f"`threshold` needs RULE=VALUE, e.g. majority=172 (rules: {names})")
    parts: list[str] = []
    for arg in rules:
        rule = known_rules.get(arg.key or "")
        if rule is None:
            ctx.error(
                "SG105",
                arg,
                f"{UNKNOWN_RULE} `{arg.key}` (site rules: {', '.join(sorted(known_rules))})",
                help=did_you_mean(arg.key or "", known_rules) or "define it under [rules] in site.toml",
            )
            continue
        stated = ctx.number(arg.value, f"the `{arg.key}` threshold")
        if body is None or stated is None:
            continue
        actual = ctx.rule_value(rule, body, day)
        if actual is None:
            continue
        formula = ctx.explain_rule(rule, body, day)
        if stated != actual:
            ctx.error(
                "SG204",
                arg.value,
                f"{arg.key} of the {body.name} is {formula} = {actual}, not {n(stated)}",
                help=f"write {arg.key}={actual}" + _rules_giving(ctx, stated, body, day, arg.key or ""),
            )
        parts.append(f"{body.name}: {arg.key} = {formula} = {actual} ✓")
    return "; ".join(parts) or "threshold"


VOTE_COUNTS = ("for", "against", "abstain", "absent")
VOTE_KEYS = (*VOTE_COUNTS, "total", "needs", "result", "date", "prose")


def _size_mixed_up(ctx: Ctx, body: Body | None, day, added: Decimal, total: Decimal) -> str | None:
    """A total that is the body's seats where the counts add up to its strength, or the
    other way round: the commonest way for a vote's figures to miss by a vacancy or two."""
    if body is None:
        return None
    sizes = {body.seats: "seats", body.strength(day): f"strength on {day}"}
    if len(sizes) < 2 or added not in sizes or total not in sizes:
        return None
    return (
        f"{n(added)} is the {body.name}'s {sizes[int(added)]} and {n(total)} its {sizes[int(total)]}:"
        " a count is missing or wrong, or total= names the other size"
    )


def check_votes(ctx: Ctx) -> str:
    ctx.reject_repeats()
    body = ctx.positional_body(required=False)
    ctx.reject_positional(keep=1)
    for key, arg in ctx.keywords.items():
        if key not in VOTE_KEYS:
            ctx.unknown_key(arg, VOTE_KEYS)
    ctx.require("for", "against")
    day = ctx.date()
    counts = {k: ctx.number(ctx.keywords[k].value, f"`{k}`") for k in VOTE_COUNTS if k in ctx.keywords}
    total_arg = ctx.keywords.get("total")
    total = ctx.number(total_arg.value, "`total`", figure=False) if total_arg else None
    result = ctx.choice("result", ("passed", "failed"))
    given = {k: v for k, v in counts.items() if v is not None}
    if len(given) < len(counts) or "for" not in given or "against" not in given:
        if "needs" in ctx.keywords:  # its own errors (an unknown @fact or rule) are reported too
            _needed(ctx, body, day, ctx.keywords["needs"])
        return "vote"
    added = sum(given.values(), Decimal(0))
    arithmetic = " + ".join(n(v) for v in given.values())
    if total is not None and added != total:
        ctx.error(
            "SG205",
            None,  # the parts and the total together: the whole annotation (SPEC §4)
            f"the votes do not add up: {arithmetic} = {n(added)}, but total is {n(total)}",
            help=_size_mixed_up(ctx, body, day, added, total),
        )
    counted = total if total is not None else added
    if body is not None:
        ctx.within_body(
            body,
            day,
            counted,
            total_arg.value if total_arg else None,
            "a total vote of {n}" if total is not None else f"{arithmetic} = {{n}} votes cast",
        )
    words = ", ".join(f"{n(v)} {_vote_word(k)}" for k, v in given.items())
    words = f"{body.name + ' vote: ' if body else 'Vote: '}{words} (total {n(counted)})"
    return words + _vote_result(ctx, body, day, given, result)


def _vote_word(key: str) -> str:
    return {"abstain": "abstained", "absent": "absent"}.get(key, key)


def _vote_result(ctx: Ctx, body: Body | None, day, counts: dict, result: str | None) -> str:
    needs_arg = ctx.keywords.get("needs")
    yes, no = counts["for"], counts["against"]
    if needs_arg is None:
        passes = yes > no
        rule_words = f"{n(yes)} for {'>' if passes else '≤'} {n(no)} against"
    else:
        needed, label = _needed(ctx, body, day, needs_arg)
        if needed is None:
            return ""
        passes = yes >= needed
        rule_words = f"needs {label}; {n(yes)} {'≥' if passes else '<'} {needed}"
    outcome = "passed" if passes else "failed"
    if result is not None and result != outcome:
        ctx.error(
            "SG206",
            ctx.keywords["result"].value,
            f"result={result} disagrees with the count: {rule_words}, so the vote {outcome}",
            help=f"write result={outcome}",
        )
    return f"; {rule_words} — {outcome} ✓" if result else f"; {rule_words} — {outcome}"


def _needed(ctx: Ctx, body: Body | None, day, arg: Arg) -> tuple[Decimal | int | None, str]:
    value = arg.value
    if value.type in ("number", "factref"):
        count = ctx.number(value, "`needs`", figure=False)
        return count, n(count) if count is not None else ""
    if value.type != "name":
        ctx.error("SG104", value, f"`needs` must be a rule name or a number, not {written(value.raw)}"[:200])
        return None, ""
    rule = ctx.rule(value.raw)
    if rule is None:
        ctx.error(
            "SG104",
            value,
            f"`needs={value.raw}` {NAMES_NO_RULE}",
            help=did_you_mean(value.raw, ctx.site.config.rules) or "define it under [rules]",
        )
        return None, ""
    if body is None:
        if not ctx.positional:  # (a body it names that site.toml lacks is SG301 already)
            ctx.error(
                "SG103",
                value,
                f"`needs={value.raw}` needs a body to evaluate the rule on, e.g. <<votes NA ...>>",
            )
        return None, ""
    needed = ctx.rule_value(rule, body, day)
    formula = ctx.explain_rule(rule, body, day)
    return needed, f"{value.raw} = {formula} = {needed}"
