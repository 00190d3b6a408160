"""The engine behind check, build and watch: per-article work, in parallel, reused from the cache.

Each article goes through parse → check → render on its own (`process_article`, a pure
function of the article's text and what it depends on).  Site-wide facts are needed
before checking, so a cheap scan of every file's `<<fact ...>>` annotations gives a
provisional table; once every article is parsed, the real table is built and any
article that saw a different value is simply checked again.  Articles whose text and
dependencies did not change come from the cache, and their pages from the last output.
`run_changed` is `watch`'s shortcut: the last run with only some article files read again.
"""

from __future__ import annotations

import copy
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sitegen import __version__
from sitegen.annotations import SyntaxProblem
from sitegen.article import ArticleMeta, parse_article
from sitegen.cache import CACHE_DIR, Cache, CacheData, digest
from sitegen.checks import CheckResult, check_annotation, duplicate_slug_diagnostics
from sitegen.checks.context import FactDef, SiteFacts, SiteView, names_what_config_lacks
from sitegen.diagnostics import Diagnostic, Span, sorted_diagnostics
from sitegen.facts import (
    FACT_NAMES,
    SOURCE_IDS,
    PackedFact,
    agreement,
    conflicts_named,
    pack_fact,
    provisional_facts,
    real_facts,
    seen_as,
)
from sitegen.grammar import parser, use_cache_dir
from sitegen.inputs import Texts, code_digest, file_stamp, source_hashes, unchanged_candidates
from sitegen.placing import Placed
from sitegen.render import RenderContext, Rendered, has_own_stylesheet, make_context, render_article
from sitegen.site import Site, load_site, read_text
from sitegen.templating import TemplateProblem, merged_pages, site_template_files
from sitegen.views import ArticleView, TagView
from sitegen.workers import cores, fewer_collections, reported
from sitegen.workers import pool as workers_pool


@dataclass
class Outcome:
    """What one article produced; small enough to keep for every article of a large site."""

    path: str
    text_hash: str
    meta: ArticleMeta
    annotations: int
    diagnostics: tuple[Diagnostic, ...]  # the article's own (front matter, annotations)
    defines: tuple[PackedFact, ...] = ()  # the facts it defines (see `pack_fact`)
    seen: tuple[tuple[str, tuple | None], ...] = ()  # the @facts it used, as it saw them
    cites: tuple[str, ...] = ()  # the sources its claims name
    rendered: Rendered | None = None

    @classmethod
    def of(
        cls,
        path: str,
        text_hash: str,
        meta: ArticleMeta,
        annotations: int,
        results: Sequence[CheckResult],
        diagnostics: tuple[Diagnostic, ...],
    ) -> Outcome:
        """Only what later stages need is kept of the check results: big sites keep this for every article."""
        return cls(
            path,
            text_hash,
            meta,
            annotations,
            diagnostics,
            defines=tuple(pack_fact(f) for r in results for f in r.facts),
            seen=_merged_seen(results),
            cites=tuple(sorted({s for r in results for s in r.sources})),
        )

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def sources_seen(self) -> set[str]:
        return set(self.cites)


def _merged_seen(results: Sequence[CheckResult]) -> tuple[tuple[str, tuple | None], ...]:
    """Each fact as the article's checks saw it; with its place where any message named that."""
    merged: dict[str, tuple | None] = {}
    for result in results:
        for name, seen in result.facts_seen:
            if name not in merged or len(seen or ()) > len(merged[name] or ()):
                merged[name] = seen
    return tuple(sorted(merged.items()))


@dataclass
class Entry:
    """A cached outcome and the state of everything it depended on."""

    outcome: Outcome
    sources: dict[str, str | None]  # source id -> hash of its file (None: it did not exist)
    stamp: tuple[int, int, int, int] | None = None  # the article file's size, mtime, ctime, inode


@dataclass
class Run:
    site: Site
    outcomes: list[Outcome]
    diagnostics: list[Diagnostic]
    cache: CacheData
    reused: int = 0
    processed: int = 0
    facts: SiteFacts = field(default_factory=SiteFacts)
    reused_paths: set[str] = field(default_factory=set)
    changed: bool = True  # False: every article came from the cache and none disappeared
    stamps: dict[str, tuple[int, int, int, int] | None] = field(default_factory=dict)  # article -> stat
    shared: list[Diagnostic] = field(default_factory=list)  # the diagnostics of no one article
    render_ctx: RenderContext | None = None  # kept for the next run of a `watch`
    pages: list = field(default_factory=list)  # the site-wide pages the build planned from this run
    touched: dict[str, Outcome] = field(default_factory=dict)  # run_changed: the old outcomes replaced
    published: bool = False  # set by the build that published every page of these outcomes
    articles: int = 0  # how many of them that build published


# ------------------------------------------------------------ per article


def process_article(
    path: str, text: str, text_hash: str, view: SiteView, render_ctx: RenderContext | None
) -> Outcome:
    doc = parse_article(path, text, for_render=render_ctx is not None)
    results = tuple(check_annotation(doc, placed, view) for placed in doc.annotations)
    diags = tuple(doc.diagnostics) + tuple(d for r in results for d in r.diagnostics)
    outcome = Outcome.of(path, text_hash, doc.meta, _counted(doc.annotations), results, diags)
    if any(seen is None for _, seen in outcome.seen):
        outcome.seen += ((FACT_NAMES, seen_as(view.facts, FACT_NAMES)),)
    if render_ctx is not None and not outcome.failed:
        try:
            outcome.rendered = render_article(render_ctx, doc, results)
        except TemplateProblem as problem:  # the same template error for every article: deduplicated later
            outcome.diagnostics += (problem.diagnostic,)
    return outcome


def _counted(placed: Sequence[Placed]) -> int:
    """The annotations the summary counts: those that parsed, and those begun as one (`<<` and
    a letter, `<<Seats`) that did not; `a << b` is an SG101 all the same, but no annotation."""
    return sum(1 for p in placed if not isinstance(p.parsed, SyntaxProblem) or p.raw[2:3].isalpha())


_WORKER: dict = {}


def _init_worker(view: SiteView, site: Site, render: bool) -> None:
    _WORKER["view"] = view
    _WORKER["root"] = site.root
    _WORKER["dirs"] = {}
    _WORKER["ctx"] = make_context(site) if render else None


@reported
def _work(job: tuple[str, str]) -> Outcome:
    path, text_hash = job
    text = _read(_WORKER["root"], path, _WORKER["dirs"])
    return process_article(path, text, text_hash, _WORKER["view"], _WORKER["ctx"])


def _read(root: Path, path: str, real_dirs: dict[str, bool]) -> str:
    # a file that became unreadable since it was hashed: checked as empty, found next time
    text, _ = read_text(root, path, real_dirs=real_dirs)
    return text or ""


# ----------------------------------------------------------------- the run


def _schema() -> str:
    """The shape of what the cache keeps: a cache written by code with other fields is not read."""
    kept = (Outcome, Entry, Rendered, ArticleMeta, ArticleView, TagView, FactDef, Span, Diagnostic)
    return ";".join(f"{cls.__name__}:{','.join(f.name for f in fields(cls))}" for cls in kept)


def environment_hash(site: Site, mode: str) -> str:
    """Everything every article's result depends on besides its own text, facts and sources."""
    # SOURCE_DATE_EPOCH dates an empty site's feed: a new value is a new build
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    stylesheet = str(has_own_stylesheet(site))
    parts = [__version__, code_digest(), _schema(), mode, site.config.text, epoch, stylesheet]
    builtin = Path(__file__).parent / "templates"
    own = [(p.relative_to(builtin).as_posix(), p) for p in sorted(builtin.rglob("*")) if p.is_file()]
    for whose, files in (("built-in", own), ("site", site_template_files(site.root))):
        parts.append(whose)
        for name, path in files:  # by path: Jinja finds `partials/x.html` by its folder, and through links
            parts += [name, path.read_bytes().decode("utf-8", "replace")]
    return digest(*parts)


PageSink = Callable[[Outcome], None]


@dataclass
class Options:
    render: bool = False
    jobs: int = 1
    use_cache: bool = False
    mode: str = "check"
    # may a cached outcome be used as it is? (a build also needs its page in the last output)
    reusable: Callable[[Outcome, CacheData], bool] = lambda outcome, data: True
    progress: Callable[[int, int], None] | None = None
    defer_saves: bool = False  # `watch`: the cache is written when idle, not after every build
    # a one-off build or check (not `watch`): what the article phase keeps is frozen as it goes
    freeze_kept: bool = False


def run(root: Path, options: Options, sink: PageSink | None = None, site: Site | None = None) -> Run:
    """Check (and render) every article of the site at root; `site`, if given, is the site as
    just loaded from root (by the look for a no-op build), not read again."""
    if options.use_cache:
        use_cache_dir(root / CACHE_DIR)
    parser()  # analysed once here, so that forked workers share it
    if site is None:
        site = load_site(root)
    env = environment_hash(site, options.mode)
    data = Cache(root, options.mode, enabled=options.use_cache).load(env)
    sources = source_hashes(site)
    texts = Texts(root)
    hashes, candidates, stamps = unchanged_candidates(site, data, texts, options.jobs)
    provisional = provisional_facts(site, candidates, texts)

    outcomes: dict[str, Outcome] = {}
    misses: list[str] = []
    agrees = agreement(provisional)
    for path in hashes:
        entry = candidates.get(path)
        if entry is not None and _valid(entry, agrees, sources) and options.reusable(entry.outcome, data):
            outcomes[path] = entry.outcome
        else:
            misses.append(path)
    view = SiteView(site.config, site.sources, provisional)
    jobs = [(path, hashes[path]) for path in misses]  # each worker reads its own files
    for done, outcome in enumerate(_process_all(jobs, view, site, options), 1):
        outcomes[outcome.path] = _emit(outcome, sink)
        if options.progress is not None:
            options.progress(done, len(jobs))

    facts, fact_diags = real_facts(outcomes.values())
    rechecked = _recheck(outcomes, facts, site, texts, hashes, options, sink)

    ordered = [outcomes[p] for p in sorted(outcomes)]
    shared = [*site.diagnostics, *texts.problems.values(), *fact_diags]
    shared += duplicate_slug_diagnostics([(o.path, o.meta) for o in ordered])
    diags = shared + _articles_diagnostics(ordered, site)
    changed = bool(misses or rechecked or set(data.entries) != set(outcomes))
    data.entries = {o.path: _entry(o, candidates.get(o.path), sources, stamps.get(o.path)) for o in ordered}
    for file in {d.span.file for d in diags}:  # texts only where a diagnostic shows a source line
        text = texts.get(file) if file in hashes else None
        if text is not None:
            site.texts[file] = text
    reused = set(outcomes) - set(misses) - rechecked
    return Run(
        site,
        ordered,
        sorted_diagnostics(conflicts_named(diags, facts, site.texts)),
        data,
        len(reused),
        len(misses) + len(rechecked),
        facts,
        reused,
        changed,
        stamps,
        shared,
    )


def _articles_diagnostics(outcomes: list[Outcome], site: Site) -> list[Diagnostic]:
    """The articles' own diagnostics; while site.toml has errors (SG901, which fail the build
    anyway) without "unknown body" or "unknown rule": a body or rule it fails to define would
    be unknown at every use, hundreds of errors listed ahead of the one that explains them."""
    diags = merged_pages(d for o in outcomes for d in o.diagnostics)  # a template's error on every page: once
    if any(d.code == "SG901" for d in site.diagnostics):
        diags = [d for d in diags if not names_what_config_lacks(d)]
    return diags


def run_changed(previous: Run, paths: set[str], options: Options, sink: PageSink | None = None) -> Run | None:
    """`watch`'s quick run: the last run with only these article files read again.

    Only for edits that cannot reach another article: the file existed and still does, and
    its slug, draft flag and fact definitions are as they were (the caller makes sure nothing
    but these files changed).  Anything else answers None, and the caller runs in full.
    """
    old = {o.path: o for o in previous.outcomes}
    if not paths <= old.keys() or any(d.span.file in paths for d in previous.shared):
        return None
    # its own texts: the run it starts from is kept as the base of the next, even if this fails
    site = replace(previous.site, texts=dict(previous.site.texts))
    data = copy.copy(previous.cache)
    stamps, texts, ctx = dict(previous.stamps), Texts(site.root), previous.render_ctx
    if options.render and ctx is None:
        ctx = make_context(site)
    view = SiteView(site.config, site.sources, previous.facts)
    fresh: dict[str, Outcome] = {}
    for path in sorted(paths):
        stamps[path] = file_stamp(os.path.join(site.root, path))
        text_hash, text = texts.hash(path), texts.get(path)
        if text_hash is None or text is None:
            return None
        if text_hash == old[path].text_hash:
            continue
        outcome = process_article(path, text, text_hash, view, ctx)
        if (outcome.meta.slug, outcome.meta.draft, outcome.defines) != (
            old[path].meta.slug,
            old[path].meta.draft,
            old[path].defines,
        ):
            return None
        fresh[path] = outcome
        if outcome.diagnostics:
            site.texts[path] = text
    for outcome in fresh.values():
        _emit(outcome, sink)
    ordered = [fresh.get(o.path, o) for o in previous.outcomes]
    sources = source_hashes(site)
    entries = data.entries
    for path in paths:
        entries[path] = _entry(fresh.get(path, old[path]), entries.get(path), sources, stamps[path])
    diags = previous.shared + _articles_diagnostics(ordered, site)
    return Run(
        site,
        ordered,
        sorted_diagnostics(conflicts_named(diags, previous.facts, site.texts)),
        data,
        reused=len(ordered) - len(fresh),
        processed=len(fresh),
        facts=previous.facts,
        reused_paths=set(old) - fresh.keys(),
        changed=bool(fresh),
        stamps=stamps,
        shared=previous.shared,
        render_ctx=ctx,
        touched={p: old[p] for p in fresh},
    )


def _entry(
    outcome: Outcome, old: Entry | None, sources: dict[str, str], stamp: tuple[int, int, int, int] | None
) -> Entry:
    # The stamp is the one taken before the file was read: a save during the build is seen next time.
    if old is not None and old.outcome is outcome and old.stamp == stamp:
        return old
    depends = {s: sources.get(s) for s in outcome.sources_seen()}
    if None in depends.values():  # it cites a source there is not
        depends[SOURCE_IDS] = sources.get(SOURCE_IDS)
    return Entry(outcome, depends, stamp)


def save_cache(root: Path, options: Options, data: CacheData) -> None:
    Cache(root, options.mode, enabled=options.use_cache).save(data, defer=options.defer_saves)


def _valid(entry: Entry, agrees: Callable[[Outcome], bool], sources: dict[str, str]) -> bool:
    if any(sources.get(sid) != seen for sid, seen in entry.sources.items()):
        return False
    return agrees(entry.outcome)


def _emit(outcome: Outcome, sink: PageSink | None) -> Outcome:
    """Hand a rendered page to the sink and keep only the small metadata in memory."""
    if outcome.rendered is not None and sink is not None:
        sink(outcome)
    if outcome.rendered is not None:
        outcome.rendered.html = b""  # its own: each render makes a new Rendered
        # One from a worker came through a pipe, packed; the site-wide pages read them all.
        # Unpacked as it comes, its blob is freed before the next one arrives: unpacked at
        # the end, 10,000 of them left the heap 24 MB larger at its peak.
        outcome.rendered.unpack()
    return outcome


def _process_all(
    jobs: list[tuple[str, str]], view: SiteView, site: Site, options: Options
) -> Iterator[Outcome]:
    workers = max(1, min(options.jobs, cores(), len(jobs) // 8 or 1))
    # here too: the articles' objects (or their outcomes, coming back from the workers) are many
    with fewer_collections():
        if workers == 1:
            yield from _kept_frozen(_serially(jobs, view, site, options), options.freeze_kept)
            return
        with workers_pool(workers, _init_worker, (view, site, options.render)) as pool:
            outcomes = pool.imap_unordered(_work, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 8))))
            yield from _kept_frozen(outcomes, options.freeze_kept)


def _serially(jobs: list[tuple[str, str]], view: SiteView, site: Site, options: Options) -> Iterator[Outcome]:
    real_dirs: dict[str, bool] = {}
    ctx = make_context(site) if options.render else None
    for path, text_hash in jobs:
        yield process_article(path, _read(site.root, path, real_dirs), text_hash, view, ctx)


# Outcomes kept by the caller between two freezes: fewer than a young collection's threshold.
_FREEZE_EVERY = 64


def _kept_frozen(outcomes: Iterator[Outcome], freeze: bool) -> Iterator[Outcome]:
    """The outcomes; with `freeze`, what the caller has kept of them is frozen every so often.

    Each young collection of a big build walked every outcome kept since the last one (~0.4 s
    of collections at 10,000 articles, for no garbage: an article's objects make no cycles).
    Frozen, they are never walked; they are still freed when nothing refers to them.  Not for
    `watch`, which runs all day: a reference cycle frozen here would never be collected."""
    for count, outcome in enumerate(outcomes, 1):
        yield outcome  # the caller keeps it before asking for the next
        if freeze and count % _FREEZE_EVERY == 0:
            gc.freeze()


def _recheck(
    outcomes: dict[str, Outcome],
    facts: SiteFacts,
    site: Site,
    texts: Texts,
    hashes: dict[str, str],
    options: Options,
    sink: PageSink | None,
) -> set[str]:
    """Check again, with the real facts, every article that saw a provisional value."""
    view = SiteView(site.config, site.sources, facts)
    ctx = None
    again: set[str] = set()
    agrees = agreement(facts)
    for path, outcome in list(outcomes.items()):
        if not agrees(outcome):
            if ctx is None and options.render:
                ctx = make_context(site)
            text = texts.get(path) or ""
            outcomes[path] = _emit(process_article(path, text, hashes[path], view, ctx), sink)
            again.add(path)
    return again
