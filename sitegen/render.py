"""The render stage: an article's page from its checked document, and the site-wide pages."""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import os
import pickle
import types
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup

from sitegen import __version__
from sitegen.article import Document
from sitegen.cache import digest
from sitegen.checks import CheckResult
from sitegen.htmlrender import render_body
from sitegen.prose import plain_excerpt
from sitegen.site import Site, Source
from sitegen.templating import TemplateProblem, environment, render_template
from sitegen.views import (
    ArticleView,
    TagView,
    article_view,
    date_text,
    json_ld,
    newest_first,
    note_view,
    url_path,
)

CHECK_FIELDS = ("article", "file", "line", "column", "kind", "status", "summary", "number")


class CheckRow(dict):
    """One row of the checks page: a dict whose keys also read as attributes.  Jinja2 tries
    `c.kind` as an attribute first; on a plain dict every field cost a raised and caught
    AttributeError, which made the rows as dear to render as the article itself.  The
    fields are properties (below), found by the first look-up with no exception at all;
    `__getattr__` is for any other key."""

    __slots__ = ()

    def __getattr__(self, name: str) -> object:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


for _name in CHECK_FIELDS:
    setattr(CheckRow, _name, property(operator.itemgetter(_name)))
del _name


# What only the site-wide pages read of a Rendered: kept pickled, as one blob, until one of
# them is read.  A rebuild after an edit that no list shows reads none of them, and loading
# them took a third of the time of loading a big site's cache.
_PAGES_ONLY = ("view", "items", "checks_rows", "checks_json")


@dataclass
class Rendered:
    """One article after rendering: its page and what the site-wide pages need from it."""

    view: ArticleView
    html: bytes
    check_count: int = 0
    cited: list[str] = field(default_factory=list)
    excerpt: str = ""
    # this article's rows of the checks page, rendered with it; compressed, as every article's
    # rows stay in memory (and in the cache) until the checks page is made
    checks_rows: bytes = field(default_factory=bytes)  # (a factory: no class attribute, see _PAGES_ONLY)
    rows_key: str = ""  # a key of its rows and its checks.json entries: of what the checks pages show of it
    listing: str = ""  # a key of what the index, tag and source pages show of it
    # its entries of checks.json, compressed like the rows: a big site's cache stays small and quick
    checks_json: bytes = field(default_factory=bytes)
    page_sha: str = ""  # the digest of html: the page published for this outcome, and no other
    # its entries on the site-wide lists (index_item.html, tag_item.html), made when first needed:
    # a rebuild after one edit renders one entry, not ten thousand
    items: dict[str, str] = field(default_factory=dict)

    def rows_html(self) -> str:
        return zlib.decompress(self.checks_rows).decode("utf-8") if self.checks_rows else ""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if "_packed" not in state:  # (one still packed as it was read is written back as it is)
            pages_only = tuple(state.pop(name) for name in _PAGES_ONLY)
            state["_packed"] = pickle.dumps(pages_only, protocol=pickle.HIGHEST_PROTOCOL)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def unpack(self) -> None:
        """Make the packed fields objects again now, if they are packed."""
        if "_packed" in self.__dict__:
            getattr(self, _PAGES_ONLY[0])

    def __getattr__(self, name: str) -> object:
        # Python calls this only for an attribute the instance lacks: the packed ones, once
        packed = self.__dict__.pop("_packed", None) if name in _PAGES_ONLY else None
        if packed is None:
            raise AttributeError(name)
        self.__dict__.update(zip(_PAGES_ONLY, pickle.loads(packed), strict=True))
        return self.__dict__[name]


@dataclass(frozen=True)
class RenderContext:
    site: Site
    env: jinja2.Environment
    stylesheet: bool = False  # the site has its own static/site.css (looked up once, not per page)

    def common(self, depth: int, canonical: str | None) -> dict:
        config = self.site.config
        site = SiteValues(
            **{
                **config.own,
                "title": config.title,
                "base_url": config.base_url,
                "language": config.language,
                "stylesheet": self.stylesheet,
            }
        )
        return {"site": site, "root": "../" * depth, "canonical": canonical, "live_reload": _LIVE_RELOAD}


class SiteValues(types.SimpleNamespace):
    """Templates' `site`: `site.copy` is [site]'s own `copy = "..."`, where in a dict Jinja2
    would find the dict's copy method first (and print its address)."""


def has_own_stylesheet(site: Site) -> bool:
    """Every page links static/site.css when the site has one (a part of every page's key)."""
    return (site.root / "static" / "site.css").is_file()


def make_context(site: Site) -> RenderContext:
    return RenderContext(site, environment(site.root), has_own_stylesheet(site))


# Templates place `live_reload` where a page loads its scripts; the files never hold one:
# `watch` adds its script to each page as it serves it (sitegen.serve).
_LIVE_RELOAD = Markup("")


def render_article(ctx: RenderContext, doc: Document, results: Sequence[CheckResult]) -> Rendered:
    body = render_body(doc.tokens, doc.env, doc.annotations, results)
    view = article_view(doc, results)
    sources = ctx.site.sources
    notes = [note_view(n, sources) for n in body.notes]
    cited = list(dict.fromkeys(s for r in results for s in r.sources))
    canonical = f"{ctx.site.config.base_url}articles/{url_path(view.slug)}/"
    html = render_template(
        ctx.env,
        ctx.site.root,
        "article.html",
        rendering=doc.path,
        **ctx.common(2, canonical),
        article=view,
        body=body.html,
        notes=notes,
        json_ld=json_ld(ctx.site, view, sources, cited, doc.meta.tags),
    )
    checks = [
        (
            view.slug,
            doc.path,
            n.result.span.line,
            n.result.span.column,
            n.result.kind,
            n.result.status,
            n.result.summary,
            n.number,
        )
        for n in body.notes
        if n.result is not None
    ]
    rows = render_template(
        ctx.env,
        ctx.site.root,
        "checks_rows.html",
        rendering=doc.path,
        **ctx.common(1, None),
        article=view,
        checks=[CheckRow(zip(CHECK_FIELDS, c, strict=True)) for c in checks],
    )
    packed = zlib.compress(rows.encode("utf-8"), 1)
    entries = _json_entries(checks)
    excerpt = plain_excerpt(str(body.html))
    html_bytes = html.encode("utf-8")
    return Rendered(
        view,
        html_bytes,
        check_count=len(checks),
        cited=cited,
        excerpt=excerpt,
        checks_rows=packed,
        # the rows and the JSON entries both: the entries also say where each check is, which
        # the rows do not show (moving an annotation to another line changes checks.json only)
        rows_key=digest(rows, entries),
        listing=listing_key(view),
        page_sha=digest(html_bytes),
        checks_json=zlib.compress(entries.encode("utf-8"), 1),
        items=_list_entries(ctx, view),
    )


def _json_entries(checks: list[tuple]) -> str:
    """The checks as they stand in the list of checks.json: exactly json.dumps's text at indent=1,
    two levels deep (written out here, as json's indenting encoder is slow pure Python)."""
    string = _JSON_STRING.encode
    entries = []
    for check in checks:
        fields = ",\n".join(
            f'   "{name}": {_json_value(value, string)}'
            for name, value in zip(CHECK_FIELDS[:7], check[:7], strict=True)
        )
        entries.append(f"  {{\n{fields}\n  }}")
    return ",\n".join(entries)


def _json_value(value: object, string: Callable[[str], str]) -> str:
    if isinstance(value, str):
        return string(value)
    if type(value) is int:  # what json.dumps writes for an int, without its encoder machinery
        return str(value)
    return json.dumps(value)


_JSON_STRING = json.JSONEncoder(ensure_ascii=False)


def listing_key(a: ArticleView) -> str:
    # every field a site's own list templates could show, not only those the built-in ones do
    return digest(repr((a.slug, a.title, a.date_iso, a.author, a.summary, a.checks, a.tags, a.draft, a.path)))


@dataclass(frozen=True)
class SitePage:
    """A site-wide page: where it goes, a key of everything it is made from, and how to make it."""

    rel: str
    key: str
    make: Callable[[], bytes | list[bytes]]  # the page, or its pieces in order


def site_pages(ctx: RenderContext, rendered: Sequence[Rendered], base_key: str) -> list[SitePage]:
    """Index, sources, tags, checks, feed and sitemap; each is rendered only if its key changed."""
    articles = newest_first([r.view for r in rendered])
    by_slug = {r.view.slug: r for r in rendered}
    listing = {r.view.slug: r.listing for r in rendered}

    def key(*parts: str) -> str:
        return digest(base_key, *parts)

    pages = [
        SitePage(
            "index.html",
            key("index", *listing.values()),
            lambda: _page(
                ctx, "index.html", 0, "", articles=articles, items=_items(ctx, articles, by_slug, 0)
            ),
        )
    ]
    pages += _source_pages(ctx, articles, by_slug, listing, key)
    pages += _tag_pages(ctx, articles, by_slug, listing, key)
    pages += _checks_pages(ctx, articles, by_slug, key)
    feed = articles[:50]
    pages.append(
        SitePage(
            "feed.xml",
            key(
                "feed", _epoch_date().isoformat(), *(listing[a.slug] + by_slug[a.slug].excerpt for a in feed)
            ),
            lambda: _feed(ctx, articles, by_slug),
        )
    )
    # what _sitemap reads: the slugs, dates and tags, in order (a new title is not a new sitemap)
    sitemap_key = key(
        "sitemap",
        *(f"{a.slug} {a.date_iso} {' '.join(t.slug for t in a.tags)}" for a in articles),
        *sorted(ctx.site.sources),
    )
    pages.append(SitePage("sitemap.xml", sitemap_key, lambda: _sitemap(ctx, articles)))
    return pages


def site_inputs(rendered: Sequence[Rendered], base_key: str, sources: dict[str, str]) -> str:
    """One key of everything `site_pages` reads: the same key, the same pages and page keys.

    The articles shown, in order, by what the pages show of each (its list key covers every
    field of its view, `rows_key` its checks-page rows and checks.json entries), the
    sources by content (`sources`: id -> hash), and `base_key` (templates, site.toml,
    version, drafts shown or not) and the feed's epoch date.  A seventh of the time of the
    pages' own keys at 10,000 articles: it neither sorts nor groups."""
    parts = [base_key, _epoch_date().isoformat(), repr(sorted(sources.items()))]
    for r in rendered:
        parts += (r.listing, r.rows_key, r.excerpt, repr(r.cited))
    return digest(*parts)


def checks_pages(ctx: RenderContext, rendered: Sequence[Rendered], base_key: str) -> list[SitePage]:
    """Only the checks page and checks.json, as `site_pages` plans them (for a rebuild where
    nothing but some article's checks changed)."""
    articles = newest_first([r.view for r in rendered])
    by_slug = {r.view.slug: r for r in rendered}
    return _checks_pages(ctx, articles, by_slug, lambda *parts: digest(base_key, *parts))


def _checks_pages(
    ctx: RenderContext, articles: list[ArticleView], by_slug: dict[str, Rendered], key: Callable[..., str]
) -> list[SitePage]:
    sections = [(a, by_slug[a.slug]) for a in articles]
    checks_key = key("checks", *(r.listing + r.rows_key for _, r in sections))
    return [
        SitePage("checks/index.html", checks_key, lambda: _checks_page(ctx, sections)),
        SitePage("checks.json", checks_key, lambda: _checks_json(sections)),
    ]


_ROWS = "\x00sitegen-rows\x00"  # where the rows go: no template or content can hold a NUL


def _checks_page(ctx: RenderContext, sections: list[tuple[ArticleView, Rendered]]) -> list[bytes]:
    """The page in pieces: a big site's rows are never all in memory as one string."""
    count = sum(r.check_count for _, r in sections)
    values = {"check_count": count, "article_count": len(sections)}
    shell = _page(ctx, "checks.html", 1, "checks/", rows=Markup(_ROWS), **values)
    head, found, tail = shell.partition(_ROWS.encode())
    if not found or _ROWS.encode() in tail:  # a site's template that uses the rows otherwise
        rows = Markup("".join(r.rows_html() for _, r in sections))
        return [_page(ctx, "checks.html", 1, "checks/", rows=rows, **values)]
    return [head, *(zlib.decompress(r.checks_rows) for _, r in sections if r.checks_rows), tail]


def _checks_json(sections: list[tuple[ArticleView, Rendered]]) -> list[bytes]:
    # the same text as json.dumps({"checks": [...]}, ensure_ascii=False, indent=1), in pieces
    entries = (zlib.decompress(r.checks_json) for _, r in sections if r.check_count)
    first = next(entries, None)
    if first is None:
        return [b'{\n "checks": []\n}\n']
    return [b'{\n "checks": [\n', first, *(b",\n" + e for e in entries), b"\n ]\n}\n"]


def _page(ctx: RenderContext, template: str, depth: int, path: str, **values) -> bytes:
    canonical = ctx.site.config.base_url + path
    page = f"{path}index.html" if path.endswith("/") or not path else path
    return render_template(
        ctx.env, ctx.site.root, template, rendering=page, **ctx.common(depth, canonical), **values
    ).encode()


def _source_pages(
    ctx: RenderContext,
    articles: list[ArticleView],
    by_slug: dict[str, Rendered],
    listing: dict[str, str],
    key: Callable[..., str],
) -> list[SitePage]:
    pages = []
    citing_by_source: dict[str, list[ArticleView]] = {}
    for article in articles:
        for sid in dict.fromkeys(by_slug[article.slug].cited):
            citing_by_source.setdefault(sid, []).append(article)
    for source in sorted(ctx.site.sources.values(), key=lambda s: s.id):
        citing = citing_by_source.get(source.id, [])
        view = _source_view(source)
        make = functools.partial(_source_page, ctx, view, citing, by_slug)
        pages.append(
            SitePage(
                f"sources/{source.id}/index.html",
                key("source", repr(view), *(listing[a.slug] for a in citing)),
                make,
            )
        )
    return pages


def _source_page(
    ctx: RenderContext, view: dict, citing: list[ArticleView], by_slug: dict[str, Rendered]
) -> bytes:
    # the citing articles' entries are the ones tag pages list (tag_item.html, two folders deep)
    items = _items(ctx, citing, by_slug, 2)
    return _page(
        ctx, "source.html", 2, f"sources/{url_path(view['id'])}/", source=view, citing=citing, items=items
    )


def _source_view(s: Source) -> dict:
    paragraphs = [" ".join(p.split()) for p in s.text.split("\n\n") if p.strip()]
    return {
        "id": s.id,
        "title": s.title,
        "publisher": s.publisher,
        "author": s.author,
        "url": s.url,
        "date_iso": s.date.isoformat() if s.date else "",
        "date_text": date_text(s.date),
        "paragraphs": paragraphs,
    }


def _items(
    ctx: RenderContext, articles: list[ArticleView], by_slug: dict[str, Rendered], depth: int
) -> list[Markup]:
    """Each article's entry on a list page `depth` folders deep, rendered once and kept."""
    name = LIST_ITEMS[depth]
    items = []
    for article in articles:
        kept = by_slug[article.slug].items
        if name not in kept:
            kept[name] = _item(ctx, name, depth, article)
        items.append(Markup(kept[name]))
    return items


LIST_ITEMS = {0: "index_item.html", 2: "tag_item.html"}  # the index is at the top, tag pages two deep


def _item(ctx: RenderContext, name: str, depth: int, article: ArticleView) -> str:
    where = f"the entry of {article.path}"
    return render_template(ctx.env, ctx.site.root, name, rendering=where, a=article, root="../" * depth)


def _list_entries(ctx: RenderContext, view: ArticleView) -> dict[str, str]:
    """The article's entries on the index and tag pages, made with its page: in a parallel
    build that is in a worker, not in the serial tail.  A template error here is left for
    the list pages to report, as they would without this."""
    try:
        return {name: _item(ctx, name, depth, view) for depth, name in LIST_ITEMS.items()}
    except TemplateProblem:
        return {}


def _tag_pages(
    ctx: RenderContext,
    articles: list[ArticleView],
    by_slug: dict[str, Rendered],
    listing: dict[str, str],
    key: Callable[..., str],
) -> list[SitePage]:
    tags: dict[str, TagView] = {}
    members: dict[str, list[ArticleView]] = {}
    for article in articles:
        for tag in article.tags:
            tags.setdefault(tag.slug, tag)
            members.setdefault(tag.slug, []).append(article)
    pages = []
    for slug in sorted(tags):
        make = functools.partial(_tag_page, ctx, slug, tags[slug], members[slug], by_slug)
        pages.append(
            SitePage(
                f"tags/{slug}/index.html",
                key("tag", repr(tags[slug]), *(listing[a.slug] for a in members[slug])),
                make,
            )
        )
    return pages


def _tag_page(
    ctx: RenderContext, slug: str, tag: TagView, articles: list[ArticleView], by_slug: dict[str, Rendered]
) -> bytes:
    items = _items(ctx, articles, by_slug, 2)
    return _page(ctx, "tag.html", 2, f"tags/{url_path(slug)}/", tag=tag, articles=articles, items=items)


def _timestamp(day: dt.date | None) -> str:
    return f"{(day or dt.date(1970, 1, 1)).isoformat()}T00:00:00Z"


def _feed(ctx: RenderContext, articles: list[ArticleView], by_slug: dict[str, Rendered]) -> bytes:
    base = ctx.site.config.base_url
    entries = [
        {
            "title": a.title,
            "url": f"{base}articles/{url_path(a.slug)}/",
            "timestamp": _timestamp(a.date),
            "author": a.author,
            "summary": a.summary or by_slug[a.slug].excerpt,
            "tags": a.tags,
        }
        for a in articles[:50]
    ]
    updated = _timestamp(max((a.date for a in articles if a.date), default=_epoch_date()))
    return render_template(
        ctx.env,
        ctx.site.root,
        "feed.xml",
        **ctx.common(0, None),
        articles=entries,
        updated=updated,
        version=__version__,
    ).encode()


def _epoch_date() -> dt.date:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date(1970, 1, 1)


def _sitemap(ctx: RenderContext, articles: list[ArticleView]) -> bytes:
    base = ctx.site.config.base_url
    urls = [{"loc": base, "lastmod": articles[0].date_iso if articles else None}]
    urls += [{"loc": f"{base}articles/{url_path(a.slug)}/", "lastmod": a.date_iso or None} for a in articles]
    urls += [{"loc": f"{base}sources/{url_path(s)}/", "lastmod": None} for s in sorted(ctx.site.sources)]
    tag_slugs = sorted({t.slug for a in articles for t in a.tags})
    urls += [{"loc": f"{base}tags/{url_path(t)}/", "lastmod": None} for t in tag_slugs]
    urls.append({"loc": f"{base}checks/", "lastmod": None})
    return render_template(ctx.env, ctx.site.root, "sitemap.xml", **ctx.common(0, None), urls=urls).encode()
