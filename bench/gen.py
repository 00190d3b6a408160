#!/usr/bin/env python3
"""Generate a deterministic synthetic sitegen site for benchmarks.

    python bench/gen.py OUT_DIR --articles N [--seed S] [--words 1000] [--sources 50]
    python bench/gen.py OUT_DIR --articles N --strip      # the same articles as a Hugo site

The site has a site.toml (five bodies, a vacancy range, three threshold rules),
N articles in content/articles/a-NNNNN.md and --sources source files in
content/sources/NNN.md.  Every article carries about ten annotations of every kind
(seats, threshold, votes, tally, sum, pct, claim, fact), all of which check clean
under SPEC §3, including the SG401 prose-agreement rule: every figure an annotation
states is written as digits in the sentence before it.

Article i depends only on (seed, i, --words, --sources), never on N, so a site of
1,000 articles is the first 1,000 articles of a site of 10,000.  With --strip the
same article text is written with the annotations removed, into a minimal Hugo site
(config.toml, layouts/_default/{single,list}.html, content/posts/*.md), to build
with `hugo` as a speed anchor.

The module can also be imported: `generate(out, articles=N, seed=S, ...)`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from dataclasses import dataclass, field
from random import Random

# ------------------------------------------------------------------ the world

# key: (name, seats)
BODIES: dict[str, tuple[str, int]] = {
    "NA": ("National Assembly", 342),
    "Senate": ("Senate", 100),
    "PA": ("Provincial Assembly of the Punjab", 371),
    "SA": ("Provincial Assembly of Sindh", 168),
    "KPA": ("Khyber Pakhtunkhwa Assembly", 145),
}
BODY_KEYS = list(BODIES)

# key: [(from, to, count)] -- article dates avoid these windows, so that a body's
# strength on an article's date is its seats; only explicitly dated `seats`
# annotations fall inside the NA window, with figures that hold at either size.
VACANCIES: dict[str, list[tuple[dt.date, dt.date, int]]] = {
    "NA": [(dt.date(2021, 3, 1), dt.date(2021, 3, 31), 1)],
    "Senate": [(dt.date(2019, 6, 1), dt.date(2019, 7, 15), 2)],
}
FIRST_DAY = dt.date(2017, 1, 1)
LAST_DAY = dt.date(2024, 12, 31)

RULE_TEXT = {
    "majority": "floor(seats / 2) + 1",
    "two_thirds": "ceil(seats * 2 / 3)",
    "quorum": "ceil(seats / 4)",
}


def rule_value(rule: str, seats: int) -> int:
    if rule == "majority":
        return seats // 2 + 1
    if rule == "two_thirds":
        return -(-seats * 2 // 3)
    if rule == "quorum":
        return -(-seats // 4)
    raise ValueError(rule)


RULE_WORDS = {
    "majority": "a simple majority",
    "two_thirds": "a two-thirds majority",
    "quorum": "a quorum",
}

# Site-wide named figures: every definition anywhere on the site uses these values,
# so there is never an SG402 conflict.  Each article defines every fact it refers to.
FACTS: dict[str, str] = {
    "na.seats": "342",
    "senate.seats": "100",
    "pa.seats": "371",
    "sa.seats": "168",
    "kpa.seats": "145",
    "na.majority": "172",
    "senate.majority": "51",
    "pa.majority": "186",
    "na.two_thirds": "228",
    "senate.two_thirds": "67",
    "na.quorum": "86",
    "confidence.for": "178",
    "pti.seats": "156",
    "pmln.seats": "84",
    "ppp.seats": "56",
    "mqm.seats": "7",
    "senate.pti": "26",
    "turnout.2018": "51.7%",
    "turnout.2013": "55.0%",
    "budget.growth": "3.5%",
}
FACT_WORDS: dict[str, str] = {
    "na.seats": "the National Assembly has 342 seats",
    "senate.seats": "the Senate has 100 members",
    "pa.seats": "the Punjab assembly has 371 seats",
    "sa.seats": "the Sindh assembly has 168 seats",
    "kpa.seats": "the Khyber Pakhtunkhwa assembly has 145 seats",
    "na.majority": "a majority in the National Assembly is 172 votes",
    "senate.majority": "a Senate majority is 51 votes",
    "pa.majority": "a majority in the Punjab assembly is 186 votes",
    "na.two_thirds": "a two-thirds majority in the National Assembly is 228 votes",
    "senate.two_thirds": "a two-thirds majority in the Senate is 67 votes",
    "na.quorum": "the quorum of the National Assembly is 86 members",
    "confidence.for": "the confidence motion drew 178 votes",
    "pti.seats": "PTI holds 156 seats in the lower house",
    "pmln.seats": "PMLN holds 84 seats",
    "ppp.seats": "PPP holds 56 seats",
    "mqm.seats": "MQM holds 7 seats",
    "senate.pti": "PTI has 26 senators",
    "turnout.2018": "turnout in the 2018 election was 51.7%",
    "turnout.2013": "turnout in the 2013 election was 55.0%",
    "budget.growth": "the budget assumes growth of 3.5%",
}
assert set(FACTS) == set(FACT_WORDS)

PARTIES = ["PTI", "PMLN", "PPP", "MQM", "BAP", "GDA", "JUI", "PMLQ", "ANP", "BNP", "JI", "others"]
CANDIDATES = [
    "Khan",
    "Sharif",
    "Bhutto",
    "Qureshi",
    "Abbasi",
    "Gilani",
    "Zardari",
    "Elahi",
    "Tareen",
    "Rehman",
    "Siddiqui",
    "Malik",
    "Chaudhry",
    "Hashmi",
    "Baloch",
    "Durrani",
]
TAGS = [
    "parliament",
    "senate",
    "elections",
    "budget",
    "courts",
    "economy",
    "provinces",
    "coalition",
    "opposition",
    "confidence-vote",
    "speaker",
    "committees",
    "audit",
    "taxation",
    "reform",
    "constitution",
    "security",
    "energy",
    "health",
    "education",
    "local-government",
    "census",
    "media",
    "diplomacy",
    "trade",
    "agriculture",
    "water",
    "climate",
    "transport",
    "labour",
    "Supreme Court",
    "Election Commission",
    "by-elections",
    "fact-check",
    "explainer",
    "analysis",
    "data",
    "karachi",
    "lahore",
    "Khyber Pakhtunkhwa",
]
AUTHORS = [
    "Desk",
    "Ayesha Malik",
    "Bilal Ahmed",
    "Sana Qureshi",
    "Omar Farooq",
    "Hina Raza",
    "Data Team",
    "Imran Siddiqui",
    "Nadia Khan",
    "Usman Tariq",
]
PUBLISHERS = [
    "The Daily Ledger",
    "Capital Times",
    "Northern Wire",
    "Assembly Monitor",
    "Public Record",
    "The Evening Gazette",
    "Civic Bulletin",
    "Metro Courier",
    "Policy Review",
    "The Observer Desk",
]

SUBJECTS = [
    "the committee",
    "the government",
    "the opposition",
    "party leaders",
    "the speaker",
    "senior officials",
    "the finance ministry",
    "election observers",
    "the coalition",
    "several members",
    "the cabinet",
    "provincial leaders",
    "the chief whip",
    "legal experts",
    "the election commission",
    "analysts",
    "backbenchers",
    "the treasury benches",
    "reporters in the gallery",
    "the prime minister",
    "the law minister",
    "a panel of auditors",
    "the standing committee",
    "independent members",
    "the secretariat",
    "PTI lawmakers",
    "opposition senators",
    "the attorney general",
    "civil society groups",
    "the upper house",
]
VERBS = [
    "reviewed",
    "questioned",
    "defended",
    "rejected",
    "debated",
    "postponed",
    "welcomed",
    "criticised",
    "examined",
    "endorsed",
    "challenged",
    "delayed",
    "announced",
    "outlined",
    "disputed",
    "approved",
    "revisited",
    "summarised",
    "scrutinised",
    "amended",
    "tabled",
    "published",
    "circulated",
    "reconsidered",
    "praised",
    "opposed",
    "clarified",
    "drafted",
]
OBJECTS = [
    "the budget proposal",
    "the revised schedule",
    "the draft bill",
    "the committee report",
    "the electoral rolls",
    "the audit findings",
    "the proposed amendment",
    "the session calendar",
    "the funding formula",
    "the oversight plan",
    "the tax measures",
    "the privilege motion",
    "the procurement rules",
    "the census results",
    "the delimitation plan",
    "the court order",
    "the spending figures",
    "the rules of business",
    "the agenda for the sitting",
    "the minutes of the last meeting",
    "the report on provincial transfers",
    "the energy tariff",
    "the education budget",
    "the health allocation",
    "the water accord",
    "the trade figures",
]
TAILS = [
    "before the session",
    "after a long debate",
    "during the morning sitting",
    "in a closed meeting",
    "despite repeated objections",
    "without a recorded vote",
    "late on Thursday",
    "at the request of the chair",
    "ahead of the recess",
    "in a brief statement",
    "over several hours",
    "with little notice",
    "in front of a packed gallery",
    "after consulting the provinces",
    "for a second time",
    "in a written reply",
    "at a press conference",
    "behind closed doors",
]
JOINERS = [", and ", ", while ", ", but ", " after ", " because ", " although ", " as "]
CONNECTORS = [
    "However,",
    "Meanwhile,",
    "Later,",
    "In response,",
    "At the same time,",
    "Even so,",
    "By then,",
    "For now,",
    "In the meantime,",
    "Separately,",
    "As expected,",
    "Still,",
]
LEADS = [
    "",
    "",
    "",
    "",
    "according to the official record, ",
    "in the end, ",
    "by the evening, ",
    "on the day, ",
    "as the count showed, ",
    "officially, ",
    "in the final tally, ",
    "records show that ",
    "the secretariat confirmed that ",
]
HEAD_SUBJECTS = [
    "Assembly",
    "Senate panel",
    "Coalition",
    "Opposition",
    "Speaker",
    "Cabinet",
    "Election commission",
    "Finance committee",
    "Court",
    "Provincial leaders",
    "Auditors",
]
HEAD_VERBS = [
    "delays",
    "backs",
    "rejects",
    "weighs",
    "revisits",
    "questions",
    "approves",
    "debates",
    "blocks",
    "defends",
    "reviews",
    "splits over",
]
HEAD_OBJECTS = [
    "budget amendment",
    "electoral reform bill",
    "confidence motion",
    "audit report",
    "tax proposal",
    "session calendar",
    "funding formula",
    "oversight plan",
    "census results",
    "delimitation plan",
    "energy tariff",
    "water accord",
    "privilege motion",
    "speaker's ruling",
]
HEAD_TAILS = [
    "",
    "",
    " after long debate",
    " amid quorum dispute",
    " as deadline nears",
    " in late sitting",
    " despite objections",
    " for second time",
]
SECTION_HEADS = [
    "Background",
    "What the numbers say",
    "How the vote went",
    "The arithmetic",
    "What happens next",
    "Reaction",
    "The record",
    "Context",
    "Who voted how",
    "The rules",
    "Timeline",
    "What we checked",
    "The provinces",
    "Why it matters",
]
CODE_SPANS = [
    "`sitegen check`",
    "`budget_2021.xlsx`",
    "`ref-2041`",
    "`SELECT count(*) FROM votes`",
    "`rules.toml`",
    "`x << 2`",
    "`seats[NA]`",
    "`division_list.csv`",
]

# ------------------------------------------------------------------- helpers


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def ann(kind: str, *args: str) -> str:
    return "<<" + " ".join((kind, *args)) + ">>"


def num(n: int, commas: bool = True) -> str:
    return f"{n:,}" if commas else str(n)


def percent(part: int, whole: int, places: int) -> str:
    """part/whole*100 rounded half-up at `places` decimals, written as sitegen reads it."""
    scale = 10**places
    scaled = (2 * part * 100 * scale + whole) // (2 * whole)
    if places == 0:
        return f"{scaled}%"
    return f"{scaled // scale}.{scaled % scale:0{places}d}%"


def in_windows(day: dt.date) -> bool:
    return any(lo <= day <= hi for spans in VACANCIES.values() for lo, hi, _ in spans)


def random_date(rng: Random) -> dt.date:
    span = (LAST_DAY - FIRST_DAY).days
    while True:
        day = FIRST_DAY + dt.timedelta(days=rng.randint(0, span))
        if not in_windows(day):
            return day


def clause(rng: Random) -> str:
    """A lower-case clause of plausible prose from the fixed word lists (no figures)."""
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    roll = rng.random()
    if roll < 0.5:
        text += " " + rng.choice(TAILS)
    if roll > 0.35:
        text += rng.choice(JOINERS)
        text += f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        if roll > 0.8:
            text += " " + rng.choice(TAILS)
    if rng.random() < 0.05:
        obj = rng.choice(OBJECTS)
        text = text.replace(obj, f"*{obj}*", 1)
    return text


def filler(rng: Random) -> str:
    """One sentence of plausible prose."""
    text = clause(rng)
    if rng.random() < 0.18:
        return f"{rng.choice(CONNECTORS)} {text}."
    return cap(text) + "."


def finish(rng: Random, text: str, annotation: str) -> str:
    """Put the marker after the words it checks; sometimes right after the full stop."""
    text = cap(rng.choice(LEADS) + text)
    roll = rng.random()
    if roll < 0.1:
        return f"{text}.{annotation}"
    if roll < 0.25:
        return f"{text} {annotation}, {rng.choice(['and', 'while', 'but'])} {clause(rng)}."
    return f"{text} {annotation}."


# ------------------------------------------------------ annotated sentences


@dataclass
class Ctx:
    rng: Random
    day: dt.date
    source_sentences: list[list[str]]
    source_ids: list[str]
    facts_used: set[str] = field(default_factory=set)


def gen_seats(c: Ctx) -> str:
    rng = c.rng
    roll = rng.random()
    if roll < 0.15:  # dated, inside the NA vacancy window: 341 sitting members
        lo, hi, count = VACANCIES["NA"][0]
        day = lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
        total = BODIES["NA"][1] - count
        n = rng.choice([rng.randint(120, 160), rng.randint(185, 240)])  # clear of 171/172
        yes = "yes" if n >= rule_value("majority", total) else "no"
        text = (
            f"on {day.isoformat()}, with one seat vacant, the coalition counted "
            f"{n} of {total} sitting members"
        )
        return finish(rng, text, ann("seats", f"NA={n}/{total}", f"date={day}", f"majority={yes}"))
    if roll < 0.3:  # two bodies at once
        b1, b2 = rng.sample(BODY_KEYS, 2)
        s1, s2 = BODIES[b1][1], BODIES[b2][1]
        n1, n2 = rng.randint(0, s1), rng.randint(0, s2)
        text = (
            f"the alliance held {n1} of the {s1} seats in the {BODIES[b1][0]} and "
            f"{n2} of {s2} in the {BODIES[b2][0]}"
        )
        return finish(rng, text, ann("seats", f"{b1}={n1}/{s1}", f"{b2}={n2}/{s2}"))
    if roll < 0.4:
        c.facts_used.update(("confidence.for", "na.seats"))
        text = "the prime minister won the backing of 178 members of the 342-seat house"
        return finish(rng, text, ann("seats", "NA=@confidence.for/@na.seats", "majority=yes"))
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    n = rng.randint(seats // 5, seats)
    party = rng.choice(PARTIES[:-1])
    yes = "yes" if n >= rule_value("majority", seats) else "no"
    text = f"{party} and its allies held {n} of the {seats} seats in the {name}"
    return finish(rng, text, ann("seats", f"{body}={n}/{seats}", f"majority={yes}"))


def gen_threshold(c: Ctx) -> str:
    rng = c.rng
    roll = rng.random()
    if roll < 0.25:
        key, rule, body = rng.choice(
            [
                ("na.majority", "majority", "NA"),
                ("na.two_thirds", "two_thirds", "NA"),
                ("senate.two_thirds", "two_thirds", "Senate"),
                ("na.quorum", "quorum", "NA"),
                ("senate.majority", "majority", "Senate"),
                ("pa.majority", "majority", "PA"),
            ]
        )
        c.facts_used.add(key)
        text = f"the rules set {RULE_WORDS[rule]} in the {BODIES[body][0]} at {FACTS[key]}"
        return finish(rng, text, ann("threshold", body, f"{rule}=@{key}"))
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    rule = rng.choice(list(RULE_TEXT))
    value = rule_value(rule, seats)
    text = rng.choice(
        [
            f"passing it required {RULE_WORDS[rule]} of {value} members in the {name}",
            f"{RULE_WORDS[rule]} in the {name} means {value} members",
            f"the {name} needs {value} members for {RULE_WORDS[rule]}",
        ]
    )
    return finish(rng, text, ann("threshold", body, f"{rule}={value}"))


def _votes_figures(rng: Random, seats: int) -> dict[str, int]:
    present = rng.randint(seats * 6 // 10, seats)
    for_ = rng.randint(0, present)
    against = rng.randint(0, present - for_)
    if for_ == against:
        for_ += 1 if for_ < present - against else 0
    figures = {"for": for_, "against": against}
    rest = present - for_ - against
    if rest and rng.random() < 0.6:
        figures["abstain"] = rest
    if seats - present and rng.random() < 0.6:
        figures["absent"] = seats - present
    return figures


def gen_votes(c: Ctx) -> str:
    rng = c.rng
    if rng.random() < 0.15:
        c.facts_used.update(("confidence.for", "na.seats"))
        text = (
            "the motion of confidence carried with 178 votes for, 0 against "
            "and 164 members absent from the 342-seat house"
        )
        return finish(
            rng,
            text,
            ann(
                "votes",
                "NA",
                "for=@confidence.for",
                "against=0",
                "absent=164",
                "total=@na.seats",
                "needs=majority",
                "result=passed",
            ),
        )
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    fig = _votes_figures(rng, seats)
    args = [body] + [f"{k}={v}" for k, v in fig.items()]
    if rng.random() < 0.4:
        args.append(f"total={sum(fig.values())}")
    mode = rng.choice(["majority", "two_thirds", "number", "none"])
    if mode == "none":
        passed = fig["for"] > fig["against"]
    else:
        need = rule_value(mode, seats) if mode != "number" else rng.randint(1, seats)
        args.append(f"needs={mode if mode != 'number' else need}")
        passed = fig["for"] >= need
    args.append(f"result={'passed' if passed else 'failed'}")
    text = f"the motion in the {name} drew {fig['for']} votes in favour"
    text += f" and {fig['against']} against"
    if "abstain" in fig:
        text += f", with {fig['abstain']} abstentions"
    if "absent" in fig:
        text += f" and {fig['absent']} members absent"
    text += f", so it {'passed' if passed else 'failed'}"
    return finish(rng, text, ann("votes", *args))


def _tally_counts(rng: Random, size: int | None) -> tuple[list[int], int]:
    """Candidate counts (winner first, strictly ahead) and invalid ballots."""
    if size is None:
        top = rng.randint(20_000, 150_000)
        counts = [top] + [rng.randint(1_000, top - 1) for _ in range(rng.randint(1, 3))]
        return counts, rng.choice([0, 0, rng.randint(100, 3_000)])
    invalid = rng.choice([0, 0, rng.randint(1, 5)])
    rest = rng.randint(size // 2, size) - invalid
    top = rng.randint(rest // 2 + 1, rest)
    second = rest - top
    if rng.random() < 0.4 and second > 1:
        third = rng.randint(0, second // 2)
        return [top, second - third, third], invalid
    return [top, second], invalid


def gen_tally(c: Ctx) -> str:
    rng = c.rng
    body = rng.choice(BODY_KEYS) if rng.random() < 0.5 else None
    counts, invalid = _tally_counts(rng, BODIES[body][1] if body else None)
    names = rng.sample(CANDIDATES, len(counts))
    commas = rng.random() < 0.5
    runners = sorted(counts[1:], reverse=True)
    args = [body] if body else []
    order = list(range(len(counts)))
    rng.shuffle(order)
    args += [f"{names[i]}={num(counts[i], commas)}" for i in order]
    parts = [f"{names[i]} {num(counts[i])}" for i in order]
    text = "in the election for speaker of the " + BODIES[body][0] if body else "in the constituency count"
    text += ", the votes were " + ", ".join(parts[:-1]) + " and " + parts[-1]
    if invalid:
        args.append(f"invalid={invalid}")
        text += f", with {num(invalid)} ballots rejected"
    if rng.random() < 0.4:
        args.append(f"total={num(sum(counts) + invalid, commas)}")
    args.append(f"winner={names[0]}")
    if rng.random() < 0.7:
        args.append(f"margin={num(counts[0] - runners[0], commas)}")
    return finish(rng, text, ann("tally", *args))


def _partition(rng: Random, total: int, k: int) -> list[int]:
    cuts = sorted(rng.randint(0, total) for _ in range(k - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def gen_sum(c: Ctx) -> str:
    rng = c.rng
    roll = rng.random()
    if roll < 0.2:
        c.facts_used.update(("pti.seats", "pmln.seats", "ppp.seats", "mqm.seats"))
        text = "PTI has 156 seats, PMLN 84, PPP 56, MQM 7 and the rest 39"
        return finish(
            rng,
            text,
            ann(
                "sum",
                "NA",
                "PTI=@pti.seats",
                "PMLN=@pmln.seats",
                "PPP=@ppp.seats",
                "MQM=@mqm.seats",
                "others=39",
            ),
        )
    if roll < 0.45:
        total = rng.randint(2_000, 900_000)
        urban, rural = _partition(rng, total, 2)
        commas = rng.random() < 0.5
        text = (
            f"of the {num(total)} ballots, {num(urban)} were cast in urban stations "
            f"and {num(rural)} in rural ones"
        )
        return finish(
            rng,
            text,
            ann(
                "sum",
                f"urban={num(urban, commas)}",
                f"rural={num(rural, commas)}",
                f"total={num(total, commas)}",
            ),
        )
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    k = rng.randint(3, 5)
    parts = _partition(rng, seats, k)
    parties = rng.sample(PARTIES[:-1], k - 1) + ["others"]
    words = [f"{p} {n}" for p, n in zip(parties, parts, strict=True)]
    text = f"the {seats} seats of the {name} split as "
    text += ", ".join(words[:-1]) + " and " + words[-1]
    args = [body] + [f"{p}={n}" for p, n in zip(parties, parts, strict=True)]
    return finish(rng, text, ann("sum", *args))


def pct_phrase(rng: Random, part: int, whole: int) -> tuple[str, str]:
    value = percent(part, whole, rng.choice([0, 1, 1, 2]))
    if rng.random() < 0.5:
        return f"{num(part)} of {num(whole)}, or {value}", ann("pct", f"{part}/{whole}", value)
    return (
        f"{value}, that is {num(part)} out of {num(whole)}",
        ann("pct", f"part={part}", f"whole={whole}", f"value={value}"),
    )


def gen_pct(c: Ctx) -> str:
    rng = c.rng
    if rng.random() < 0.2:
        key, value = rng.choice(
            [
                ("pti.seats", "45.6%"),
                ("confidence.for", "52.0%"),
                ("pmln.seats", "24.6%"),
                ("ppp.seats", "16.4%"),
            ]
        )
        c.facts_used.update((key, "na.seats"))
        text = f"that is {value} of the lower house"
        return finish(rng, text, ann("pct", f"part=@{key}", "whole=@na.seats", f"value={value}"))
    if rng.random() < 0.5:
        body = rng.choice(BODY_KEYS)
        whole = BODIES[body][1]
        lead = f"in the {BODIES[body][0]} the bloc controls "
    else:
        whole = rng.randint(100, 2_000_000)
        lead = "turnout reached "
    phrase, annotation = pct_phrase(rng, rng.randint(0, whole), whole)
    return finish(rng, lead + phrase, annotation)


def quote_from(rng: Random, sentences: list[str]) -> str:
    sentence = rng.choice(sentences).rstrip(".")
    words = sentence.split()
    length = min(len(words), rng.randint(5, 9))
    start = rng.randint(0, len(words) - length)
    return " ".join(words[start : start + length]).strip(",*")


def gen_claim(c: Ctx) -> str:
    rng = c.rng
    k = rng.randrange(len(c.source_ids))
    quote = quote_from(rng, c.source_sentences[k])
    srcs = [c.source_ids[k]]
    if rng.random() < 0.2:
        srcs.insert(rng.randint(0, 1), rng.choice(c.source_ids))
    args = [f"src={s}" for s in srcs] + [f'quote="{quote}"']
    opener, closer = rng.choice([('"', '"'), ("\u201c", "\u201d")])
    text = rng.choice(
        [
            "one report said that ",
            "a correspondent wrote that ",
            "the paper noted that ",
            "it was reported that ",
        ]
    )
    return finish(rng, f"{text}{opener}{quote}{closer}", ann("claim", *args))


def fact_sentence(rng: Random, keys: list[str]) -> str:
    text = " and ".join(FACT_WORDS[k] for k in keys)
    lead = rng.choice(["for reference, ", "as a reminder, ", "", "note that "])
    return cap(lead + text) + " " + ann("fact", *(f"{k}={FACTS[k]}" for k in keys)) + "."


def gen_fact(c: Ctx) -> str:
    keys = c.rng.sample(list(FACTS), c.rng.choice([1, 1, 2]))
    return fact_sentence(c.rng, keys)


GENERATORS = {
    "seats": gen_seats,
    "threshold": gen_threshold,
    "votes": gen_votes,
    "tally": gen_tally,
    "sum": gen_sum,
    "pct": gen_pct,
    "claim": gen_claim,
    "fact": gen_fact,
}
CHECK_KINDS = [k for k in GENERATORS if k != "fact"]

# ------------------------------------------------------------------ layout

_PROTECT = re.compile(r"<<[a-z][^\n]*?>>|`[^`\n]*`|\[[^\]\n]*\]\([^)\n]*\)")
_BAD_START = re.compile(r"<<|[-+*#>=|~`_\[]|\d+[.)]$")


def wrap(text: str, width: int = 80, indent: str = "") -> str:
    """Greedy wrap that never breaks inside an annotation, code span or link, and never
    starts a line with something Markdown would read as a block marker."""
    if "<<" in text or "`" in text or "](" in text:
        text = _PROTECT.sub(lambda m: m.group().replace(" ", "\0"), text)
    lines: list[str] = []
    current: list[str] = []
    length = 0
    for word in text.split(" "):
        if current and length + 1 + len(word) > width and not _BAD_START.match(word):
            lines.append(" ".join(current))
            current, length = [word], len(word)
        else:
            length += len(word) + (1 if current else 0)
            current.append(word)
    lines.append(" ".join(current))
    return ("\n" + indent).join(lines).replace("\0", " ")


def headline(rng: Random) -> str:
    return (
        f"{rng.choice(HEAD_SUBJECTS)} {rng.choice(HEAD_VERBS)} "
        f"{rng.choice(HEAD_OBJECTS)}{rng.choice(HEAD_TAILS)}"
    )


def table_block(rng: Random) -> str:
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    rows = [f"| Party | Seats in the {name} | Share |", "| --- | ---: | --- |"]
    for party in rng.sample(PARTIES[:-1], rng.randint(3, 4)):
        n = rng.randint(1, seats // 2)
        value = percent(n, seats, 1)
        marker = ann("pct", f"{n}/{seats}", value)
        rows.append(f"| {party} | {n} | {n} of {seats} is {value} {marker} |")
    return "\n".join(rows)


def list_block(rng: Random, items: list[str]) -> str:
    items = items + [filler(rng) for _ in range(rng.randint(2, 4))]
    rng.shuffle(items)
    marker = rng.choice(["-", "*", "1."])
    out = []
    for n, item in enumerate(items, 1):
        bullet = f"{n}." if marker == "1." else marker
        out.append(bullet + " " + wrap(item, 78, " " * (len(bullet) + 1)))
    return "\n".join(out)


def heading_with_threshold(rng: Random) -> str:
    body = rng.choice(BODY_KEYS)
    name, seats = BODIES[body]
    value = rule_value("majority", seats)
    marker = ann("threshold", body, f"majority={value}")
    return f"## Why {value} votes matter in the {name} {marker}"


def make_paragraphs(rng: Random, target: int) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    count = 0
    while count < target:
        sentences = [filler(rng) for _ in range(rng.randint(3, 6))]
        count += sum(s.count(" ") + 1 for s in sentences)
        paragraphs.append(sentences)
    return paragraphs


def annotated_sentences(c: Ctx) -> list[str]:
    rng = c.rng
    kinds = list(GENERATORS) + rng.choices(CHECK_KINDS, k=rng.randint(0, 2))
    snippets = [GENERATORS[k](c) for k in kinds]
    used = sorted(c.facts_used)
    while used:  # define every fact the article refers to, a few per annotation
        n = rng.randint(1, 3)
        snippets.append(fact_sentence(rng, used[:n]))
        used = used[n:]
    rng.shuffle(snippets)
    return snippets


def article_body(c: Ctx, words: int) -> str:
    rng = c.rng
    snippets = annotated_sentences(c)
    in_list = snippets[: rng.randint(0, 2)]
    snippets = snippets[len(in_list) :]
    used = sum(s.count(" ") + 1 for s in snippets) + 100
    paragraphs = make_paragraphs(rng, max(words - used, 40))
    for s in snippets:
        p = rng.choice(paragraphs)
        p.insert(rng.randint(0, len(p)), s)
    if rng.random() < 0.2:
        p = rng.choice(paragraphs)
        code = rng.choice(CODE_SPANS)
        p.insert(rng.randint(0, len(p)), f"Clerks logged it as {code} in the register.")
    if rng.random() < 0.15:
        paragraphs[0].append("The full text is in the gazette.[^gazette]")
    blocks = [wrap(" ".join(p)) for p in paragraphs]
    extras = {rng.randint(1, len(blocks)): list_block(rng, in_list)}
    if rng.random() < 0.3:
        extras.setdefault(rng.randint(1, len(blocks)), table_block(rng))
    out: list[str] = []
    heads = rng.sample(SECTION_HEADS, len(SECTION_HEADS))
    next_head = rng.randint(1, 3)
    annotated_head = rng.random() < 0.3
    for n, block in enumerate(blocks):
        if n == next_head:
            head = heading_with_threshold(rng) if annotated_head else f"## {heads[n % len(heads)]}"
            out.append(head)
            annotated_head = False
            next_head += rng.randint(2, 4)
        out.append(block)
        if n + 1 in extras:
            out.append(extras[n + 1])
    if "[^gazette]" in blocks[0]:
        out.append("[^gazette]: Published by the National Assembly secretariat.")
    return "\n\n".join(out) + "\n"


def tag_list(rng: Random) -> str:
    tags = rng.sample(TAGS, rng.randint(2, 4))
    return "[" + ", ".join(f'"{t}"' if " " in t else t for t in tags) + "]"


def make_article(i: int, seed: int, words: int, sources: Sources) -> str:
    rng = Random(f"{seed}/article/{i}")
    day = random_date(rng)
    title = headline(rng)
    head = [
        "---",
        f'title: "{title}"',
        f"date: {day.isoformat()}",
        f"tags: {tag_list(rng)}",
        f'author: "{rng.choice(AUTHORS)}"',
    ]
    if rng.random() < 0.2:
        head.append(f'summary: "{filler(rng)}"')
    head += ["---", ""]
    body = article_body(Ctx(rng, day, sources.sentences, sources.ids), words)
    return "\n".join(head) + body


# ------------------------------------------------------------------ sources


@dataclass
class Sources:
    ids: list[str]
    texts: list[str]
    sentences: list[list[str]]


def source_sentence(rng: Random) -> str:
    if rng.random() < 0.2:
        n = rng.randint(2, 5000)
        return cap(f"{rng.choice(SUBJECTS)} counted {num(n)} submissions {rng.choice(TAILS)}.")
    return filler(rng)


def make_sources(count: int, seed: int) -> Sources:
    width = max(3, len(str(count)))
    ids, texts, all_sentences = [], [], []
    for k in range(1, count + 1):
        rng = Random(f"{seed}/source/{k}")
        sid = f"{k:0{width}d}"
        day = random_date(rng)
        paragraphs = [
            [source_sentence(rng) for _ in range(rng.randint(4, 6))] for _ in range(rng.randint(3, 5))
        ]
        head = [
            "---",
            f'title: "{headline(rng)}"',
            f'publisher: "{rng.choice(PUBLISHERS)}"',
            f"date: {day.isoformat()}",
            f'url: "https://news{k % 7}.example.com/{day.year}/{sid}-{rng.randint(10, 99)}"',
        ]
        if rng.random() < 0.5:
            head.append(f'author: "{rng.choice(AUTHORS)}"')
        head += ["---", ""]
        body = "\n\n".join(wrap(" ".join(p)) for p in paragraphs) + "\n"
        ids.append(sid)
        texts.append("\n".join(head) + body)
        all_sentences.append([s for p in paragraphs for s in p if s.count(" ") >= 5])
    return Sources(ids, texts, all_sentences)


# ------------------------------------------------------------------ writing


def site_toml() -> str:
    lines = [
        "[site]",
        'title = "Bench Assembly Watch"',
        'base_url = "https://bench.example.org/"',
        'language = "en"',
        "",
        "[rules]",
    ]
    lines += [f'{name} = "{expr}"' for name, expr in RULE_TEXT.items()]
    for key, (name, seats) in BODIES.items():
        lines += ["", f"[bodies.{key}]", f'name = "{name}"', f"seats = {seats}"]
        spans = VACANCIES.get(key)
        if spans:
            items = ", ".join(f"{{ from = {lo}, to = {hi}, count = {n} }}" for lo, hi, n in spans)
            lines.append(f"vacancies = [ {items} ]")
    return "\n".join(lines) + "\n"


HUGO_CONFIG = """baseURL = "https://bench.example.org/"
title = "Bench Assembly Watch"
languageCode = "en"

[taxonomies]
  tag = "tags"

[markup.goldmark.renderer]
  unsafe = true
"""
HUGO_SINGLE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ .Title }} - {{ site.Title }}</title></head>
<body>
<main><article>
<h1>{{ .Title }}</h1>
<p>{{ .Date.Format "2006-01-02" }} - {{ .Params.author }}</p>
{{ .Content }}
<ul>{{ range .Params.tags }}
<li><a href="{{ "tags/" | relURL }}{{ . | urlize }}/">{{ . }}</a></li>
{{ end }}</ul>
</article></main>
</body>
</html>
"""
HUGO_LIST = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ .Title }} - {{ site.Title }}</title></head>
<body>
<main>
<h1>{{ .Title }}</h1>
{{ $pages := .Pages }}{{ if .IsHome }}{{ $pages = site.RegularPages }}{{ end }}
<ul>
{{ range $pages.ByDate.Reverse }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>
{{ end }}</ul>
</main>
</body>
</html>
"""

_STRIP = re.compile(r"[ \t]?<<[a-z][^\n]*?>>")


def strip_annotations(text: str) -> str:
    return _STRIP.sub("", text)


def write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def remove_stale(directory: str, pattern: re.Pattern[str], keep: set[str]) -> None:
    for name in os.listdir(directory):
        if pattern.fullmatch(name) and name not in keep:
            os.remove(os.path.join(directory, name))


def article_name(i: int, total: int) -> str:
    return f"a-{i:0{max(5, len(str(total)))}d}.md"


def generate(
    out: str,
    articles: int,
    seed: int = 1,
    words: int = 1000,
    sources: int = 50,
    strip: bool = False,
) -> list[str]:
    """Write the site (or, with strip, the Hugo site); return the article paths written."""
    if sources < 1:
        raise ValueError("need at least one source")
    srcs = make_sources(sources, seed)
    if strip:
        art_dir = os.path.join(out, "content", "posts")
        os.makedirs(os.path.join(out, "layouts", "_default"), exist_ok=True)
        write(os.path.join(out, "config.toml"), HUGO_CONFIG)
        write(os.path.join(out, "layouts", "_default", "single.html"), HUGO_SINGLE)
        write(os.path.join(out, "layouts", "_default", "list.html"), HUGO_LIST)
    else:
        art_dir = os.path.join(out, "content", "articles")
        src_dir = os.path.join(out, "content", "sources")
        os.makedirs(src_dir, exist_ok=True)
        write(os.path.join(out, "site.toml"), site_toml())
        for sid, text in zip(srcs.ids, srcs.texts, strict=True):
            write(os.path.join(src_dir, sid + ".md"), text)
        remove_stale(src_dir, re.compile(r"\d+\.md"), {s + ".md" for s in srcs.ids})
    os.makedirs(art_dir, exist_ok=True)
    paths, names = [], set()
    for i in range(1, articles + 1):
        text = make_article(i, seed, words, srcs)
        name = article_name(i, articles)
        path = os.path.join(art_dir, name)
        write(path, strip_annotations(text) if strip else text)
        paths.append(path)
        names.add(name)
    remove_stale(art_dir, re.compile(r"a-\d+\.md"), names)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output directory (created; generated files are replaced)")
    parser.add_argument("--articles", type=int, required=True, help="number of articles")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words", type=int, default=1000, help="approximate words per article")
    parser.add_argument("--sources", type=int, default=50, help="number of source files")
    parser.add_argument(
        "--strip",
        action="store_true",
        help="write a Hugo site with the annotations removed instead",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    generate(args.out, args.articles, args.seed, args.words, args.sources, args.strip)
    what = "hugo site" if args.strip else "site"
    print(
        f"wrote {what} with {args.articles} articles to {args.out} in {time.perf_counter() - start:.2f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
