"""Sentences and the numbers in them, for the prose-agreement check (SPEC §3, SG401)."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

# SPEC §3's abbreviations: titles and "No." capitalised, as written before a name or a number
# ("the answer was no." ends a sentence); vs., e.g. and i.e. in any case.
TITLES = frozenset({"mr", "mrs", "ms", "dr", "gen", "lt", "col", "maj", "st", "no"})
ABBREVIATIONS = frozenset({"vs", "e.g", "i.e"})
# SPEC §3's `.`, `!` and `?`, and the full stops and question marks of the scripts whose
# digits are read (Urdu's ۔ and ؟, Devanagari's ।): else the sentence before ran on, and its
# figures stood in for the ones this sentence gets wrong.
_END = re.compile(r"[.!?\u06d4\u061f\u0964]+(?=\s)")
_CLOSING = frozenset(""".!?\u06d4\u061f\u0964"'”’)]""")
# A number starts at a digit with no digit, comma or point before it when it is written in
# thousands (59,764, or ۵۹٬۷۶۴); otherwise any run of digits, but not one a letter runs into:
# a bill's name, HR61, states no 61.  Starting with \d lets `re` skip ahead to digits.
_NUMBER = re.compile(
    r"(?<![^\W_])\d(?:(?<![\d,.\u066c\u066b]\d)\d{0,2}(?:[,\u066c]\d{3})+(?:[.\u066b]\d+)?|\d*(?:[.\u066b]\d+)?)"
)
WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]  # fmt: skip
# A number word, not part of a longer word; in a hyphenated compound it counts ("a five-member
# bench" states 5, as "the 342-member assembly" states 342), but for the tens and units of a
# number past twenty: "twenty-one" is neither 20 nor 1 (and not read at all: SPEC §3).
_WORD = re.compile(r"(?<!\w)(" + "|".join(WORDS) + r")(?!\w)", re.IGNORECASE)
_HYPHENS = "-\u2010\u2011"
# Compounds whose number words state no count: the tens and units of a number past twenty
# (twenty-one), and a number word before an ordinal, a fraction or a larger number word
# (twenty-first, two-thirds, one-hundred-member).  Their spans are left out.
_NOT_COUNTS = re.compile(
    rf"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[{_HYPHENS}]"
    rf"(?:one|two|three|four|five|six|seven|eight|nine)(?!\w)"
    rf"|\b(?:{'|'.join(WORDS)})[{_HYPHENS}]"
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|half|halves|quarters?"
    r"|hundred|thousand|million|billion|(?:thirds?|fourths?|fifths?|sixths?|sevenths?|eighths?"
    r"|ninths?|tenths?))(?!\w)",
    re.IGNORECASE,
)


def last_sentence(text: str) -> str:
    """The sentence that text before an annotation ends with.

    A marker right after a full stop belongs to the sentence that stop ended, so the
    closing punctuation (and quotes) before the marker are not a boundary.
    """
    end = len(text)
    while end and (text[end - 1] in _CLOSING or text[end - 1].isspace()):
        end -= 1
    body = text[:end]
    start = 0
    for match in reversed(list(_END.finditer(body))):  # the last boundary is all that counts
        if not _is_abbreviation(body, match.start()):
            start = match.end()
            break
    return body[start:].strip()


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"'“‘":
        word_start -= 1
    word = text[word_start:dot]
    if word.lower() in ABBREVIATIONS or (word[:1].isupper() and word.lower() in TITLES):
        return True
    # a single capital letter: initials and acronyms written with stops (M.Q.M.)
    return dot >= 1 and text[dot - 1].isupper() and (dot == 1 or not text[dot - 2].isalpha())


def numbers_in(sentence: str) -> list[Decimal]:
    """The numbers a sentence states, as digits or as the words zero to twenty, in order."""
    found: list[tuple[int, Decimal]] = [(m.start(), _value(m.group())) for m in _NUMBER.finditer(sentence)]
    found += _words_in(sentence)
    return [value for _, value in sorted(found, key=lambda pair: pair[0])]


def _words_in(sentence: str) -> list[tuple[int, Decimal]]:
    """(offset, value) of each number word, but those of compounds that state no count."""
    hyphened = any(h in sentence for h in _HYPHENS)
    tens = [m.span() for m in _NOT_COUNTS.finditer(sentence)] if hyphened else []
    return [
        (m.start(), Decimal(WORDS.index(m.group().lower())))
        for m in _WORD.finditer(sentence)
        if not any(start <= m.start() < end for start, end in tens) and not _no_one(sentence, m)
    ]


# "no one voted against" states no count of one (it is the pronoun, as "nobody" is)
_NO_BEFORE = re.compile(rf"(?<!\w)no[{_HYPHENS}\s]+\Z", re.IGNORECASE)


def _no_one(sentence: str, match: re.Match[str]) -> bool:
    return match.group().lower() == "one" and _NO_BEFORE.search(sentence, 0, match.start()) is not None


@functools.lru_cache(maxsize=8192)  # prose repeats its numbers; a Decimal costs more than the lookup
def _value(digits: str) -> Decimal:
    # Arabic script's thousands separator and decimal point (٬ ٫) read as `,` and `.` do
    return Decimal(digits.replace(",", "").replace("\u066c", "").replace("\u066b", "."))


def missing_figures(sentence: str, figures: list[Decimal]) -> list[Decimal]:
    present = {_value(m.group()) for m in _NUMBER.finditer(sentence)}
    if not present.issuperset(map(abs, figures)):  # numbers in words only when digits do not cover them
        present.update(value for _, value in _words_in(sentence))
    missing: list[Decimal] = []
    for figure in figures:
        # numbers are read without a sign: "-5", "a fall of 5" and "down 5" all state change=-5
        if abs(figure) not in present and figure not in missing:
            missing.append(figure)
    return missing


def show_number(value: Decimal) -> str:
    """A Decimal as a reader writes it: no exponent, no trailing zeros after the point."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_TAG = re.compile(r"<[^>]*>")
# A marker's or a footnote reference's number is no part of the prose: left in, "178" and
# marker 1 would read "1781" (the white space before a marker goes with it).
_MARKER = re.compile(r'\s*<sup class="(?:fc|footnote-ref)\b[^"]*"><a [^>]*>[^<]*</a></sup>')


def plain_excerpt(html: str, limit: int = 280) -> str:
    """The first paragraph of rendered HTML as plain text, cut at a word, for feeds and lists."""
    import html as html_lib

    start = html.find("<p>")
    end = html.find("</p>", start)
    if start < 0 or end < 0:
        return ""
    paragraph = _MARKER.sub("", html[start + 3 : end])
    text = " ".join(html_lib.unescape(_TAG.sub("", paragraph)).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
