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
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from functools import cache, partial
from pathlib import Path

from sitegen import __version__
from sitegen.annotations import Annotation, parse_annotation
from sitegen.article import ArticleMeta, parse_article
from sitegen.cache import CACHE_DIR, Cache, CacheData, digest
from sitegen.checks import CheckResult, check_annotation, duplicate_slug_diagnostics
from sitegen.checks.attribution import where
from sitegen.checks.context import FactDef, SiteFacts, SiteView, names_what_config_lacks
from sitegen.diagnostics import Diagnostic, Span, error, sorted_diagnostics
from sitegen.grammar import grammar_text, parser, use_cache_dir
from sitegen.render import RenderContext, Rendered, has_own_stylesheet, make_context, render_article
from sitegen.site import Site, decode_text, load_site, not_utf8, read_bytes, read_text
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


# A fact definition as an outcome keeps it, in the outcome's own file: (name, value, percent,
# raw, line, column, end line, end column), the value as Decimal's exact text.  A big site's
# outcomes hold tens of thousands (a bench site, 3.4 an article), and as FactDefs, a Decimal
# and a Span each, they were two fifths of the time its cache took to unpickle.
PackedFact = tuple[str, str, bool, str, int, int, int, int]


def pack_fact(fact: FactDef) -> PackedFact:
    s = fact.span
    return (fact.name, str(fact.value), fact.percent, fact.raw, s.line, s.column, s.end_line, s.end_column)


def unpack_fact(path: str, packed: PackedFact) -> FactDef:
    name, value, percent, raw, line, column, end_line, end_column = packed
    return FactDef(name, Decimal(value), percent, raw, Span(path, line, column, end_line, end_column))


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
    outcome = Outcome.of(path, text_hash, doc.meta, len(doc.annotations), results, diags)
    if any(seen is None for _, seen in outcome.seen):
        outcome.seen += ((FACT_NAMES, _seen_as(view.facts, FACT_NAMES)),)
    if render_ctx is not None and not outcome.failed:
        try:
            outcome.rendered = render_article(render_ctx, doc, results)
        except TemplateProblem as problem:  # the same template error for every article: deduplicated later
            outcome.diagnostics += (problem.diagnostic,)
    return outcome


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


# ------------------------------------------------------------------ facts

_FACT = re.compile(r"<<fact[ \t][^\n]*?>>")


def scan_facts(path: str, text: str, firsts: dict[str, tuple[str, int]] | None = None) -> tuple[FactDef, ...]:
    """The `<<fact ...>>` definitions a quick look at one file finds, in file order.

    With `firsts` (name -> the earliest (file, line) defining it so far, updated here), only
    the definitions earlier than those: provisional facts take each name's first, and a big
    site repeats its facts tens of thousands of times."""
    found: list[FactDef] = []
    if "<<fact" not in text:
        return ()
    line, counted = 1, 0  # lines counted up to each match from the last: one pass over the text
    for match in _FACT.finditer(text):
        parsed = parse_annotation(match.group())
        if not isinstance(parsed, Annotation):
            continue
        line, counted = line + text.count("\n", counted, match.start()), match.start()
        for arg in parsed.args:
            v = arg.value
            if arg.key and v.type in ("number", "percent") and v.number is not None:
                if firsts is not None:
                    known = firsts.get(arg.key)
                    if known is not None and known <= (path, line):
                        continue
                    firsts[arg.key] = (path, line)
                found.append(FactDef(arg.key, v.number, v.type == "percent", v.raw, Span.point(path, line)))
    return tuple(found)


def real_facts(outcomes: Iterable[Outcome]) -> tuple[SiteFacts, list[Diagnostic]]:
    """First definition in (path, line) order; a later one with another value is SG402."""
    facts = SiteFacts()
    diags: list[Diagnostic] = []
    firsts: dict[str, PackedFact] = {}  # as packed: most repeat the first's value, text for text
    for outcome in sorted(outcomes, key=lambda o: o.path):
        for packed in sorted(outcome.defines, key=lambda d: (d[4], d[5])):  # line, column
            name, value, percent = packed[:3]
            if name not in firsts:
                firsts[name], facts.first[name] = packed, unpack_fact(outcome.path, packed)
                continue
            first = facts.first[name]
            if (value, percent) != firsts[name][1:3] and (Decimal(value), percent) != (
                first.value,
                first.percent,
            ):
                definition = unpack_fact(outcome.path, packed)
                facts.conflicted.add(name)
                diags.append(
                    error(
                        "SG402",
                        definition.span,
                        f"fact `{definition.name}` is {definition.shown()} here, "
                        f"but {first.shown()} at {where(first.span)}",
                        help="a named figure has one value across the site; correct one of the definitions",
                    )
                )
    return facts, diags


# An unknown @fact is reported with the nearest name there is (`did you mean`), and an unknown
# source with the sources there are: an outcome holding either depends on all fact names, or
# all source ids, as well.  These keys name them (no fact name or source id holds a NUL).
FACT_NAMES = "\0fact names"
SOURCE_IDS = "\0source ids"


def _seen_as(facts: SiteFacts, name: str, placed: bool = False) -> tuple | None:
    if name == FACT_NAMES:
        return (digest(*sorted(facts.first)),)
    fact = facts.first.get(name)
    return fact.seen(place=placed) if fact else None


def _agrees(outcome: Outcome, facts: SiteFacts) -> bool:
    return all(_seen_as(facts, name, len(seen or ()) > 2) == seen for name, seen in outcome.seen)


# ----------------------------------------------------------------- the run


def _schema() -> str:
    """The shape of what the cache keeps: a cache written by code with other fields is not read."""
    kept = (Outcome, Entry, Rendered, ArticleMeta, ArticleView, TagView, FactDef, Span, Diagnostic)
    return ";".join(f"{cls.__name__}:{','.join(f.name for f in fields(cls))}" for cls in kept)


@cache
def code_digest() -> str:
    """Every file of the installed package: a changed sitegen (an upgrade from a checkout
    that kept the version number, say) trusts nothing the old one cached."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    parts = (part for p in files for part in (p.relative_to(package).as_posix(), p.read_bytes()))
    return digest(*parts, grammar_text())  # in a checkout, the grammar is beside the package


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


def source_hashes(site: Site) -> dict[str, str]:
    hashes = {sid: digest(site.texts.get(s.path, "")) for sid, s in site.sources.items()}
    hashes[SOURCE_IDS] = digest(*sorted(site.sources))
    return hashes


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


def run(root: Path, options: Options, sink: PageSink | None = None) -> Run:
    if options.use_cache:
        use_cache_dir(root / CACHE_DIR)
    parser()  # analysed once here, so that forked workers share it
    site = load_site(root)
    env = environment_hash(site, options.mode)
    data = Cache(root, options.mode, enabled=options.use_cache).load(env)
    sources = source_hashes(site)
    texts = _Texts(root)
    hashes, candidates, stamps = _unchanged_candidates(site, data, texts, options.jobs)
    provisional = _provisional(site, candidates, texts)

    outcomes: dict[str, Outcome] = {}
    misses: list[str] = []
    for path in hashes:
        entry = candidates.get(path)
        if (
            entry is not None
            and _valid(entry, provisional, sources)
            and options.reusable(entry.outcome, data)
        ):
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
        sorted_diagnostics(_conflicts_named(diags, facts, site.texts)),
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


def _conflicts_named(diags: list[Diagnostic], facts: SiteFacts, texts: dict[str, str]) -> list[Diagnostic]:
    """An error at an annotation that uses a fact defined with two values (SG402) says so, and
    which value it was checked with: the first's, which may be the wrong one."""
    if not facts.conflicted:
        return diags
    return [_conflict_named(d, facts, texts) if d.is_error and d.code != "SG402" else d for d in diags]


def _conflict_named(diag: Diagnostic, facts: SiteFacts, texts: dict[str, str]) -> Diagnostic:
    span, lines = diag.span, texts.get(diag.span.file, "").splitlines()
    if span.line != span.end_line or not 0 < span.line <= len(lines):
        return diag
    written = lines[span.line - 1][span.column - 1 : span.end_column - 1]
    used = [name for name in sorted(facts.conflicted) if re.search(rf"@{re.escape(name)}(?![\w.-])", written)]
    if not used:
        return diag
    first = facts.first[used[0]]
    note = (
        f"`@{first.name}` has conflicting definitions (SG402); this check took {first.shown()}, "
        f"its first, at {where(first.span)}"
    )
    return replace(diag, help=f"{diag.help}; {note}" if diag.help else note)


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
    stamps, texts, ctx = dict(previous.stamps), _Texts(site.root), previous.render_ctx
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
        sorted_diagnostics(_conflicts_named(diags, previous.facts, site.texts)),
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


class _Texts:
    """Article texts, read when needed and not kept: unchanged files are known by their stat,
    and a large site's texts would otherwise all sit in memory at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: dict[str, Diagnostic] = {}
        self.real_dirs: dict[str, bool] = {}
        self.scanned: dict[str, tuple[FactDef, ...]] = {}  # hashed files' facts, as scan_facts sees them

    def get(self, path: str) -> str | None:
        if path in self.problems:
            return None
        text, problem = read_text(self.root, path, real_dirs=self.real_dirs)
        if problem is not None or text is None:
            self.problems[path] = problem or error("SG501", Span.point(path), "cannot read file")
            return None
        return text

    def hash(self, path: str, firsts: dict[str, tuple[str, int]] | None = None) -> str | None:
        """The file's content hash, without decoding more than it takes to know it is UTF-8.

        `firsts`: see `scan_facts`; for files that have no cache entry, which cannot turn out
        unchanged (whose scanned facts `_provisional` would then leave out)."""
        if path in self.problems:
            return None
        data, problem = read_bytes(self.root, path, real_dirs=self.real_dirs)
        text = None
        if data is not None and b"<<fact" in data:
            text, problem = decode_text(path, data)  # the text the fact scan needs
        elif data is not None:
            problem = _utf8_problem(path, data)
        if data is None or problem is not None:
            self.problems[path] = problem or error("SG501", Span.point(path), "cannot read file")
            return None
        if text is not None:
            self.scanned[path] = scan_facts(path, text, firsts)
        return digest(data)

    def hash_all(self, paths: list[str], jobs: int = 1, *, fresh: bool = False) -> dict[str, str | None]:
        """`hash` for each path; for many `fresh` files, shared among up to `jobs` processes.

        `fresh`: files with no cache entry.  `scanned` then keeps just the first definition of
        each name (all that provisional facts take; the real ones come later), of each share."""
        workers = min(jobs, cores(), len(paths) // _READ_IN_PARALLEL) if fresh else 1
        if workers < 2:
            firsts: dict[str, tuple[str, int]] | None = {} if fresh else None
            return {path: self.hash(path, firsts) for path in paths}
        # more shares than workers: one slow share does not hold up the rest
        shares = [paths[i :: workers * 4] for i in range(workers * 4)]
        hashes: dict[str, str | None] = {}
        with workers_pool(workers) as pool:
            for part, problems, firsts in pool.imap(partial(_hash_share, self.root), shares):
                hashes.update(part)
                self.problems.update(problems)
                for definition in firsts:
                    file = definition.span.file
                    self.scanned[file] = (*self.scanned.get(file, ()), definition)
        return hashes


# Below this many unread files per process, forking to read them costs more than it saves.
_READ_IN_PARALLEL = 1000


@reported
def _hash_share(
    root: Path, paths: list[str]
) -> tuple[dict[str, str | None], dict[str, Diagnostic], list[FactDef]]:
    # Thousands of facts would cost more to send back than to find: only each name's first goes.
    texts = _Texts(root)
    firsts: dict[str, tuple[str, int]] = {}
    hashes = {path: texts.hash(path, firsts) for path in paths}
    first: dict[str, FactDef] = {}
    for definition in sorted(
        (d for defs in texts.scanned.values() for d in defs), key=lambda d: (d.span.file, d.span.line)
    ):
        first.setdefault(definition.name, definition)
    return hashes, texts.problems, list(first.values())


def _utf8_problem(path: str, data: bytes) -> Diagnostic | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_utf8(path, exc)
    return None


def file_stamp(path: Path | str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _unchanged_candidates(
    site: Site, data: CacheData, texts: _Texts, jobs: int = 1
) -> tuple[dict[str, str], dict[str, Entry], dict[str, tuple[int, int, int, int] | None]]:
    """Each readable article's text hash, the cache entries whose text is the same, and each stat."""
    hashes: dict[str, str] = {}
    candidates: dict[str, Entry] = {}
    stamps: dict[str, tuple[int, int, int, int] | None] = {}
    root = str(site.root)
    unknown: list[str] = []
    for path in site.article_paths:
        entry = data.entries.get(path)
        stamp = stamps[path] = file_stamp(os.path.join(root, path))
        if entry is not None and stamp is not None and entry.stamp == stamp:
            hashes[path] = entry.outcome.text_hash
            candidates[path] = entry
        else:
            unknown.append(path)
    new = [path for path in unknown if path not in data.entries]  # no entry to match: read in parallel
    read = texts.hash_all(new, jobs, fresh=True)
    read.update(texts.hash_all([path for path in unknown if path in data.entries]))
    for path, text_hash in read.items():
        if text_hash is None:
            continue
        hashes[path] = text_hash
        entry = data.entries.get(path)
        if entry is not None and entry.outcome.text_hash == text_hash:
            candidates[path] = entry
    return {p: hashes[p] for p in site.article_paths if p in hashes}, candidates, stamps


def _provisional(site: Site, candidates: dict[str, Entry], texts: _Texts) -> SiteFacts:
    """Facts of unchanged articles as they were; of changed ones as a quick scan sees them."""
    scanned = [d for p, defs in texts.scanned.items() if p not in candidates for d in defs]
    facts = SiteFacts()
    ordered = sorted(
        [
            *((d.span.file, d.span.line, d.name, d) for d in scanned),
            *((p, f[4], f[0], f) for p, e in candidates.items() for f in e.outcome.defines),
        ],
        key=lambda item: (item[0], item[1]),
    )
    for path, _, name, definition in ordered:
        if name not in facts.first:  # a FactDef made for each name's first only
            is_made = isinstance(definition, FactDef)
            facts.first[name] = definition if is_made else unpack_fact(path, definition)
    return facts


def _valid(entry: Entry, facts: SiteFacts, sources: dict[str, str]) -> bool:
    if any(sources.get(sid) != seen for sid, seen in entry.sources.items()):
        return False
    return _agrees(entry.outcome, facts)


def _emit(outcome: Outcome, sink: PageSink | None) -> Outcome:
    """Hand a rendered page to the sink and keep only the small metadata in memory."""
    if outcome.rendered is not None and sink is not None:
        sink(outcome)
    if outcome.rendered is not None:
        outcome.rendered.html = b""  # its own: each render makes a new Rendered
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
    texts: _Texts,
    hashes: dict[str, str],
    options: Options,
    sink: PageSink | None,
) -> set[str]:
    """Check again, with the real facts, every article that saw a provisional value."""
    view = SiteView(site.config, site.sources, facts)
    ctx = None
    again: set[str] = set()
    for path, outcome in list(outcomes.items()):
        if not _agrees(outcome, facts):
            if ctx is None and options.render:
                ctx = make_context(site)
            text = texts.get(path) or ""
            outcomes[path] = _emit(process_article(path, text, hashes[path], view, ctx), sink)
            again.add(path)
    return again
