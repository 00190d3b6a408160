"""The views pages are made from: an article, a tag, a source, a note, as templates see them,
and the JSON-LD of an article."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup

from sitegen.article import Document
from sitegen.checks import CheckResult
from sitegen.diagnostics import Diagnostic
from sitegen.htmlrender import Note
from sitegen.site import Site, Source, tag_slug


@functools.lru_cache(maxsize=4096)  # strftime is slow, and a page shows a few dates many times
def date_text(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else "undated"


@dataclass(frozen=True)
class TagView:
    name: str
    slug: str
    href: str


@dataclass(frozen=True)
class ArticleView:
    slug: str
    title: str
    date: dt.date | None
    author: str | None
    summary: str | None
    tags: tuple[TagView, ...]
    draft: bool
    checks: int
    path: str

    @property
    def href(self) -> str:
        return f"articles/{url_path(self.slug)}/index.html"

    @property
    def date_iso(self) -> str:
        return self.date.isoformat() if self.date else ""

    @property
    def date_text(self) -> str:
        return date_text(self.date)


def tag_view(name: str) -> TagView:
    slug = tag_slug(name) or "tag"
    return TagView(name, slug, f"tags/{url_path(slug)}/index.html")


def url_path(slug: str) -> str:
    """A slug as it goes in a URL: percent-encoded UTF-8 where it is not ASCII."""
    return slug if slug.isascii() else quote(slug, safe="-")


def article_view(doc: Document, results: Sequence[CheckResult]) -> ArticleView:
    m = doc.meta
    return ArticleView(
        m.slug,
        m.title,
        m.date,
        m.author,
        m.summary,
        _one_per_page(tag_view(t) for t in m.tags),
        m.draft,
        sum(1 for r in results if r.renders),
        doc.path,
    )


def _one_per_page(tags: Iterable[TagView]) -> tuple[TagView, ...]:
    """Tags sharing a slug share a page (SPEC §6): the article is listed there once, and links
    to it once, under the first of them."""
    first: dict[str, TagView] = {}
    for tag in tags:
        first.setdefault(tag.slug, tag)
    return tuple(first.values())


def newest_first(views: Sequence[ArticleView]) -> list[ArticleView]:
    """Newest first; on the same day (or undated, last) by title without case, then slug."""
    return sorted(views, key=lambda v: (-(v.date or dt.date.min).toordinal(), v.title.lower(), v.slug))


@dataclass(frozen=True)
class SourceRef:
    id: str
    known: bool
    title: str = ""
    publisher: str = ""
    date_iso: str = ""
    date_text: str = ""
    url: str | None = None

    @property
    def href(self) -> str:
        return f"sources/{url_path(self.id)}/index.html"


def source_ref(sources: dict[str, Source], source_id: str) -> SourceRef:
    s = sources.get(source_id)
    if s is None:
        return SourceRef(source_id, False)
    return SourceRef(
        s.id, True, s.title, s.publisher, s.date.isoformat() if s.date else "", date_text(s.date), s.url
    )


@dataclass(frozen=True)
class NoteView:
    number: int
    result: CheckResult | None
    html: Markup | None
    refs: list[str]
    sources: list[SourceRef]
    warnings: list[Diagnostic]
    quoted_from: list[SourceRef] = dataclasses.field(default_factory=list)  # when not all of `sources`

    @property
    def css(self) -> str:
        if self.result is None:
            return "footnote"
        return f"fc-note fc-{self.result.kind} fc-{self.result.status}"


def note_view(note: Note, sources: dict[str, Source]) -> NoteView:
    r = note.result
    refs = [source_ref(sources, s) for s in r.sources] if r else []
    warnings = [d for d in r.diagnostics if not d.is_error] if r else []
    # a quote is credited to the sources that hold it, where others are cited with it
    known = [ref for ref in refs if ref.known]
    quoted_from = [ref for ref in known if r and ref.id in r.quoted_in]
    if len(quoted_from) == len(known):
        quoted_from = []
    return NoteView(note.number, r, note.html, note.refs, refs, warnings, quoted_from)


def json_ld(
    site: Site, view: ArticleView, sources: dict[str, Source], cited: Sequence[str], tags: Sequence[str] = ()
) -> Markup:
    """schema.org NewsArticle; `tags`: the front matter's, all of them as written (two that share
    a tag page are still two keywords)."""
    base = site.config.base_url
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": view.title,
        "datePublished": view.date_iso,
        "url": f"{base}articles/{url_path(view.slug)}/",
        "mainEntityOfPage": f"{base}articles/{url_path(view.slug)}/",
        "publisher": {"@type": "Organization", "name": site.config.title},
        "citation": [_citation(sources[s], base) for s in cited if s in sources],
    }
    if view.author:
        data["author"] = {"@type": "Person", "name": view.author}
    if view.summary:
        data["description"] = view.summary
    keywords = list(tags) or [t.name for t in view.tags]
    if keywords:
        data["keywords"] = keywords
    return safe_json(data)


def _citation(s: Source, base: str) -> dict:
    item = {
        "@type": "CreativeWork",
        "name": s.title,
        "publisher": {"@type": "Organization", "name": s.publisher},
        "url": s.url or f"{base}sources/{url_path(s.id)}/",
    }
    if s.date:
        item["datePublished"] = s.date.isoformat()
    if s.author:
        item["author"] = s.author
    return item


def safe_json(data: object) -> Markup:
    """JSON for a <script> element: nothing in it can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return Markup(text)
