"""Parse one article: front matter, Markdown tokens and its annotations, placed in the file."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from markdown_it.token import Token

from sitegen.diagnostics import Diagnostic, Span, error, warning, written
from sitegen.footnotes import LOST_NOTES, UNDEFINED_NOTES
from sitegen.frontmatter import as_date, as_flag, as_tags, as_text, read_front_matter
from sitegen.markdown import MAX_NESTING, TOO_DEEP, parse
from sitegen.placing import Placed, locate_annotations
from sitegen.site import MAX_SLUG, is_slug, slugify, split_front_matter


@dataclass(frozen=True)
class ArticleMeta:
    title: str
    date: dt.date | None
    slug: str
    tags: tuple[str, ...] = ()
    author: str | None = None
    summary: str | None = None
    draft: bool = False
    slug_span: Span | None = None  # where `slug:` is written, if it is


@dataclass
class Document:
    """An article after the parse stage."""

    path: str
    text: str
    meta: ArticleMeta
    tokens: list[Token]
    env: dict
    annotations: list[Placed]
    diagnostics: list[Diagnostic] = field(default_factory=list)


def parse_article(path: str, text: str, *, for_render: bool = True) -> Document:
    yaml_text, first_line, _ = split_front_matter(text)
    fm, diags = read_front_matter(path, yaml_text, first_line)
    meta = _meta(path, fm, diags)
    if fm.unreadable and meta.date is None:
        meta = replace(meta, date=_date_line(yaml_text or ""))
    env: dict = {}
    tokens = parse(text, env, for_render=for_render)
    lines = text.split("\n")
    placed = locate_annotations(tokens, lines)
    if TOO_DEEP in env:
        diags.append(_too_deep(path, lines, env[TOO_DEEP]))
    if LOST_NOTES in env or UNDEFINED_NOTES in env:
        diags += _note_slips(path, lines, env)
    return Document(path, text, meta, tokens, env, placed, diags)


def _reference_place(lines: list[str], first: int, last: int, reference: str) -> tuple[int, int]:
    """Line and column (0-based) of `[^label]` as text in a block: not escaped, not in a code span."""
    for n in range(first, min(last, len(lines))):
        at = lines[n].find(reference)
        while at >= 0:
            if lines[n][at - 1 : at] != "\\" and lines[n].count("`", 0, at) % 2 == 0:
                return n, at
            at = lines[n].find(reference, at + 1)
    return first, 0


def _note_slips(path: str, lines: list[str], env: dict) -> list[Diagnostic]:
    """SG503: a footnote label written one way where the note is and another where it is
    referred to loses the note, and the figures checked in it, from the page."""
    defined = sorted(label.removeprefix(":") for label in env.get("footnotes", {}).get("refs", {}))
    found = []
    for label, line, from_notes in env.get(LOST_NOTES, ()):
        text = lines[line] if line < len(lines) else ""
        where = "only from notes that are not published" if from_notes else "nowhere in the text"
        found.append(
            warning(
                "SG503",
                Span(path, line + 1, 1, line + 1, max(len(text), 1) + 1),
                f"footnote [^{label}] is referred to {where}: it is not published, and the annotations"
                " in it are not checked",
                help=f"refer to it with [^{label}] after the words it notes, or remove it"
                if not from_notes
                else "refer to the notes that refer to it from the text, or remove them",
            )
        )
    for label, first, last in env.get(UNDEFINED_NOTES, ()):
        reference = f"[^{label}]"
        line, column = _reference_place(lines, first, last, reference)
        close = difflib.get_close_matches(label, defined, n=1, cutoff=0.6)
        found.append(
            warning(
                "SG503",
                Span(path, line + 1, column + 1, line + 1, column + 1 + len(reference)),
                f"no footnote defines [^{label}]: it is printed as written",
                help=f"did you mean [^{close[0]}]?"
                if close
                else f"define it on a line of its own: [^{label}]: ...",
            )
        )
    return found


def _too_deep(path: str, lines: list[str], index: int) -> Diagnostic:
    line = lines[index] if index < len(lines) else ""
    levels = MAX_NESTING - 1  # markdown-it reads a level only while it is below maxNesting
    return error(
        "SG501",
        Span(path, index + 1, 1, index + 1, max(len(line), 1) + 1),
        f"nested too deep: Markdown reads {levels} levels of block quotes and lists, a block quote counting"
        f" one and a list item two ({levels} block quotes, or {levels // 2} lists one in another), and drops"
        " what is deeper, from here on, which would be neither checked nor published",
        "nest lists and block quotes less deeply",
    )


_DATE_LINE = re.compile(r"^date:[ \t]*[\"']?(\d{4}-\d{2}-\d{2})\b", re.MULTILINE)


def _date_line(yaml_text: str) -> dt.date | None:
    """The article's date from a `date:` line of front matter YAML could not read (a typo in
    `tags:`), for the checks alone: the SG501 keeps the article from being published, and its
    figures are checked on their real date, not reported wrong for want of one."""
    found = _DATE_LINE.search(yaml_text)
    try:
        return dt.date.fromisoformat(found.group(1)) if found else None
    except ValueError:
        return None


def _meta(path: str, fm, diags: list[Diagnostic]) -> ArticleMeta:
    required = fm.present
    title = as_text(fm, "title", required=required, diags=diags)
    date = as_date(fm, "date", required=required, diags=diags)
    default_slug = slugify(PurePosixPath(path).stem) or "article"
    slug, given_slug = default_slug, False
    given = fm.values.get("slug")
    if given is not None and not isinstance(given, str):
        given = fm.scalars.get("slug", given)  # `slug: 2021` is the slug 2021, not a number
    if given is not None:
        if isinstance(given, str) and is_slug(given):
            slug, given_slug = unicodedata.normalize("NFC", given), True  # é, or e and an accent: one slug
        else:
            diags.append(
                error(
                    "SG501",
                    fm.span("slug"),
                    f"slug {written(str(given), 60)} must be lowercase letters, digits and hyphens, "
                    f"at most {MAX_SLUG} bytes of them",
                    help=f"for example `slug: {slugify(str(given)) or default_slug}`",
                )
            )
    return ArticleMeta(
        title=title or PurePosixPath(path).stem,
        date=date,
        slug=slug,
        tags=as_tags(fm, diags),
        author=as_text(fm, "author", required=False, diags=diags),
        summary=as_text(fm, "summary", required=False, diags=diags),
        draft=as_flag(fm, "draft", diags),
        slug_span=fm.spans.get("slug") if given_slug else None,
    )
