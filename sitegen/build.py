"""A build: load → parse → check → render → publish, incremental and parallel (the `sitegen build`
verb that runs it from the command line is in cli_build.py)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sitegen import noop
from sitegen.cache import CACHE_DIR, Cache, CacheData, digest
from sitegen.diagnostics import Diagnostic, Summary, exit_status, sorted_diagnostics, summarize
from sitegen.engine import Options, Outcome, Run, run, run_changed, save_cache
from sitegen.inputs import source_hashes
from sitegen.pipeline import Checked
from sitegen.prune import holds_only
from sitegen.publish import Publisher, PublishError
from sitegen.render import SitePage, checks_pages, make_context, site_inputs, site_pages
from sitegen.site import Site, read_text
from sitegen.static_files import publish_static, static_files, static_key_of
from sitegen.template_checks import template_problems
from sitegen.templating import TemplateProblem
from sitegen.workers import fewer_collections


@dataclass
class BuildResult:
    checked: Checked
    diagnostics: list[Diagnostic]
    published: bool = False
    pages: int = 0
    articles: int = 0
    rendered: int = 0  # articles parsed, checked and rendered this time (the rest came from the cache)
    unchanged: bool = False  # nothing changed: the output was left exactly as it was

    @property
    def summary(self) -> Summary:
        """The counts of every diagnostic, a template's found while publishing included."""
        counted = self.checked.summary
        return summarize(self.diagnostics, counted.articles, counted.annotations)


def page_of(outcome: Outcome) -> str:
    return f"articles/{outcome.meta.slug}/index.html"


def build_site(
    root: Path,
    out: Path,
    *,
    strict: bool = False,
    drafts: bool = False,
    progress: Callable[[int, int], None] | None = None,
    jobs: int = 1,
    use_cache: bool = True,
    mode: str = "build",
    watching: bool = False,
    quick: bool = True,
    previous: Run | None = None,
    changed: set[str] | None = None,
    preview: Callable[[dict[str, bytes]], None] | None = None,
) -> BuildResult:
    """Build into `out` atomically; nothing in `out` changes unless the whole build succeeds.

    `previous` (the run of the last build that published) and `changed` (the only article
    files changed since) let `watch` read just those files again; see `engine.run_changed`.
    `preview` is handed the edited articles' new pages of such a quick run once they are
    known to be published (no error), before the site-wide pages are made.
    """

    def published(outcome: Outcome) -> bool:
        return drafts or not outcome.meta.draft

    static_key = static_key_of(root)
    _say_what_static_leaves_out(root)
    # `quick`: first see whether anything changed at all (watch knows when something did)
    same, site = _unchanged(root, out, mode, use_cache, drafts, static_key, strict) if quick else (None, None)
    spares = root / CACHE_DIR if use_cache else None
    if same is not None:
        Publisher(out, spares=spares).clear_leftovers()  # SPEC §6: removed by the next build, this one too
        return same
    out_path = str(out.absolute())
    # A build's collector settings (see below); `watch` keeps the defaults between its article
    # phases, as it holds the last run while building the next, and collects after each build.
    collections = contextlib.nullcontext() if watching else fewer_collections()
    with Publisher(out, spares=spares, trusted=watching) as publisher, collections:

        def reusable(outcome: Outcome, data: CacheData) -> bool:
            if outcome.failed or not published(outcome):
                return True
            page = page_of(outcome)
            stamp = data.manifest.get(page) if data.out == out_path else None
            # the page published must be this outcome's own: one rendered by a build that then
            # failed is in the cache but was never published
            rendered = outcome.rendered
            return (
                stamp is not None
                and rendered is not None
                and stamp.sha == rendered.page_sha
                and publisher.has(page, stamp)
            )

        options = Options(
            render=True,
            jobs=jobs,
            use_cache=use_cache,
            mode=mode,
            reusable=reusable,
            progress=progress,
            defer_saves=watching,
            freeze_kept=not watching,
        )

        fresh: dict[str, bytes] = {}  # the edited articles' pages, for `preview`

        def sink(outcome: Outcome) -> None:
            if published(outcome) and outcome.rendered is not None:
                publisher.write(page_of(outcome), outcome.rendered.html, outcome.rendered.page_sha)
                if preview is not None and changed and outcome.path in changed:
                    fresh[outcome.path] = outcome.rendered.html

        result = _quick_run(previous, changed, options, sink, out) or run(root, options, sink, site)
        if not watching:
            # Every article's outcome is kept to the end: a full collection, which the rest of a
            # big build would run a few times, walked them all (~0.3 s each at 10,000 articles).
            # `watch` collects and freezes after each build instead, so that nothing it drops is
            # kept out of the collector's reach.
            gc.freeze()
        # a quick run publishes the same articles as its base (no file came or went, no draft flag moved)
        previous_count = previous.articles if previous is not None and result.touched else 0
        checked = Checked(result.site, result.outcomes, result.diagnostics, result)
        build = BuildResult(checked, list(result.diagnostics), rendered=result.processed)
        if exit_status(result.diagnostics, strict=strict) != 0:
            # a template that does not compile fails the run as it fails `check`, even when no
            # page was rendered with it because every article using it has an error of its own
            build.diagnostics = _with_template_problems(root, build.diagnostics)
            _show_templates(result.site, build.diagnostics)
            save_cache(root, options, result.cache)
            noop.forget(root, mode, use_cache)
            return build
        _preview(preview, result, fresh)
        plan = _planned_pages(result, previous, drafts, published, watching)
        result.pages = plan.pages
        if _nothing_to_do(result, root, out, plan.pages):
            build.published, build.unchanged = True, True
            build.pages = len(result.cache.manifest)
            build.articles = sum(1 for o in result.outcomes if published(o))
            result.published, result.articles = True, build.articles
            _snapshot(root, out, mode, use_cache, drafts, static_key, result, build, watching)
            return build
        try:
            _finish(publisher, result, root, out, plan, published, static_key)
        except TemplateProblem as problem:
            build.diagnostics = sorted_diagnostics([*build.diagnostics, *problem.diagnostics])
            _show_templates(result.site, build.diagnostics)
            return build
        _commit(publisher, result.cache, out, lambda: save_cache(root, options, result.cache))
    build.published, build.pages = True, len(publisher.stamps)
    build.articles = sum(1 for o in result.outcomes if published(o)) if not result.touched else previous_count
    result.published, result.articles = True, build.articles  # a base for quick runs: its pages are out
    _snapshot(root, out, mode, use_cache, drafts, static_key, result, build, watching)
    return build


def _commit(publisher: Publisher, data: CacheData, out: Path, save: Callable[[], None]) -> None:
    """Publish, and keep in the cache what went out; the tree that came back is the next spare."""
    publisher.commit()
    old_manifest, old_folders = None, None
    if data.out == str(out.absolute()):
        old_manifest, old_folders = data.manifest, data.folders
    data.manifest, data.folders, data.out = publisher.stamps, publisher.folders, str(out.absolute())
    data.generation = uuid.uuid4().hex
    save()
    publisher.settle(old_manifest, old_folders)


def _with_template_problems(root: Path, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    known = set(diagnostics)
    return sorted_diagnostics([*diagnostics, *(d for d in template_problems(root) if d not in known)])


def _show_templates(site: Site, diagnostics: list[Diagnostic]) -> None:
    """The site's templates that template errors point into, so that their lines are shown."""
    named = {d.span.file for d in diagnostics if d.code == "SG902"}
    for file in sorted(f for f in named if f.startswith("templates/")):
        if file not in site.texts:
            text, _ = read_text(site.root, file)
            if text is not None:
                site.texts[file] = text


def _preview(show: Callable[[dict[str, bytes]], None] | None, result: Run, fresh: dict[str, bytes]) -> None:
    """Hand a quick run's edited pages that differ from the ones last published to `show`."""
    if show is None or not result.touched:
        return
    pages = {}
    for outcome in result.outcomes:
        old, html = result.touched.get(outcome.path), fresh.get(outcome.path)
        if old is None or html is None or outcome.rendered is None:
            continue
        if old.rendered is None or old.rendered.page_sha != outcome.rendered.page_sha:
            pages[page_of(outcome)] = html
    if pages:
        show(pages)


def _unchanged(
    root: Path,
    out: Path,
    mode: str,
    use_cache: bool,
    drafts: bool,
    static_key: str,
    strict: bool,
) -> tuple[BuildResult | None, Site | None]:
    """A no-op rebuild answered from the snapshot of the last one, or None to build; and the
    site as loaded to find out, for the build to go on with."""
    if not use_cache:
        return None, None
    snapshot, site = noop.check(root, mode, use_cache, out=out, drafts=drafts, static_key=static_key)
    if snapshot is None or site is None or exit_status(snapshot.diagnostics, strict=strict) != 0:
        return None, site
    for file in {d.span.file for d in snapshot.diagnostics} - set(site.texts):
        text, _ = read_text(root, file)
        if text is not None:
            site.texts[file] = text  # to show the source lines of the warnings again
    articles, annotations, published = snapshot.counts
    checked = Checked(site, [], list(snapshot.diagnostics), counts=(articles, annotations))
    same = BuildResult(
        checked,
        list(snapshot.diagnostics),
        published=True,
        pages=len(snapshot.manifest),
        articles=published,
        unchanged=True,
    )
    return same, site


def _snapshot(
    root: Path,
    out: Path,
    mode: str,
    use_cache: bool,
    drafts: bool,
    static_key: str,
    result: Run,
    build: BuildResult,
    defer: bool,
) -> None:
    site = result.site
    snapshot = noop.Snapshot(
        env=result.cache.env,
        drafts=drafts,
        out=str(out.absolute()),
        static_key=static_key,
        articles={path: result.stamps.get(path) for path in site.article_paths},
        sources=source_hashes(site),
        manifest=dict(result.cache.manifest),
        folders=dict(result.cache.folders),
        diagnostics=list(result.diagnostics),
        counts=(len(result.outcomes), sum(o.annotations for o in result.outcomes), build.articles),
    )
    noop.save(root, mode, use_cache, snapshot, defer=defer)


def _finish(
    publisher: Publisher,
    result: Run,
    root: Path,
    out: Path,
    plan: Plan,
    published: Callable[[Outcome], bool],
    static_key: str,
) -> None:
    """`static_key`: the static files' key taken before the build read anything; a file saved
    while they are copied then reads as changed next time, and is copied again."""
    data = result.cache
    same_output = data.out == str(out.absolute())
    if result.touched and same_output:
        # a quick run: every other article's page is the one published last time (_quick_run)
        fresh = {page_of(o) for o in result.touched.values()}
        carried = {r: s for r, s in data.manifest.items() if r.startswith("articles/") and r not in fresh}
        missing = publisher.reuse_all(carried)
    else:
        missing = []
        for outcome in result.outcomes:
            if outcome.path in result.reused_paths and published(outcome):
                stamp = data.manifest.get(page_of(outcome))
                if not (same_output and stamp and publisher.reuse(page_of(outcome), stamp)):
                    missing.append(page_of(outcome))
    if missing:
        raise PublishError(f"{missing[0]} vanished from {out} during the build")
    _site_pages(publisher, result, plan, same_output)
    if data.templates_ok != data.env:  # the env covers every template: they compiled under it before
        unused = template_problems(root, site_only=True)  # one no page uses yet fails as in `check`
        if unused:
            raise TemplateProblem(*unused)
        data.templates_ok = data.env
    publish_static(publisher, root)
    data.static_key = static_key


def _quick_run(
    previous: Run | None,
    changed: set[str] | None,
    options: Options,
    sink: Callable[[Outcome], None],
    out: Path,
) -> Run | None:
    """engine.run_changed, when the last published output holds every other article's own page."""
    if previous is None or changed is None or previous.cache.out != str(out.absolute()):
        return None
    if not previous.published:
        return None  # its pages may not be the ones published (see `reusable`)
    last = Cache(previous.site.root, options.mode, enabled=options.use_cache).generation()
    if last is None or last != previous.cache.generation:
        return None  # another build published since: its output is not the one `previous` made
    return run_changed(previous, changed, options, sink)


@dataclass
class Plan:
    """The site-wide pages a build publishes, and the key of all they are made from."""

    pages: list[SitePage]
    inputs: str
    # set when `pages` are the ones last published, taken on trust from their inputs' key:
    # the full plan, to work out if one of them cannot be kept as it is
    replan: Callable[[], list[SitePage]] | None = None


def _planned_pages(
    result: Run,
    previous: Run | None,
    drafts: bool,
    published: Callable[[Outcome], bool],
    watching: bool,
) -> Plan:
    shown = [o.rendered for o in result.outcomes if published(o) and o.rendered is not None]
    if result.render_ctx is None:
        result.render_ctx = make_context(result.site)
    ctx = result.render_ctx
    base_key = digest(result.cache.env, str(drafts))
    # `watch` keeps its last plan in memory instead (and would only slow its rebuilds with this)
    inputs = "" if watching else site_inputs(shown, base_key, source_hashes(result.site))
    same = _same_site_pages(result, previous) if previous is not None and previous.pages else None
    if same == "all":
        return Plan(previous.pages, inputs)  # type: ignore[union-attr]
    if same == "checks":
        redone = {p.rel: p for p in checks_pages(ctx, shown, base_key)}
        return Plan([redone.get(p.rel, p) for p in previous.pages], inputs)  # type: ignore[union-attr]
    data = result.cache
    if inputs and data.page_keys and data.page_inputs == inputs:
        # As last published (an edit that no site-wide page shows): keying every page again
        # took 0.16 s at 10,000 articles.
        kept = [SitePage(rel, key, _never_made) for rel, key in data.page_keys.items()]
        return Plan(kept, inputs, lambda: site_pages(ctx, shown, base_key))
    return Plan(site_pages(ctx, shown, base_key), inputs)


def _never_made() -> bytes:
    raise RuntimeError("a page taken on trust was made without planning it")  # _site_pages replans first


def _same_site_pages(result: Run, previous: Run) -> str | None:
    """After a quick run: "all" site-wide pages are as planned last time, all but the "checks"
    pages, or None (plan them all again)."""
    if not result.touched:
        return None if result.changed else "all"
    current = {o.path: o for o in result.outcomes}
    rows_changed = False
    for path, old in result.touched.items():
        new, was = current[path].rendered, old.rendered
        if new is None or was is None:
            return None
        if (new.listing, new.cited, new.excerpt) != (was.listing, was.cited, was.excerpt):
            return None
        rows_changed = rows_changed or new.rows_key != was.rows_key
    return "checks" if rows_changed else "all"


def _nothing_to_do(result: Run, root: Path, out: Path, pages: list[SitePage]) -> bool:
    """True when the last output is exactly what this build would publish (a no-op rebuild)."""
    data = result.cache
    if result.changed or data.out != str(out.absolute()) or not data.manifest:
        return False
    if data.static_key != static_key_of(root) or data.page_keys != {p.rel: p.key for p in pages}:
        return False
    if not all(stamp.matches(out / rel) for rel, stamp in data.manifest.items()):
        return False
    return holds_only(out, data.manifest, data.folders)  # nothing put there by hand, nothing missing


def _site_pages(publisher: Publisher, result: Run, plan: Plan, same_output: bool) -> None:
    """Index, sources, tags, checks, feed and sitemap: each page is rendered again only if its key changed.

    In this process: forked workers took more time (and twice the CPU) at 10,000 articles, as
    rendering touches every article's objects, copying the parent's memory into each worker,
    and the checks page and checks.json (50 MB) came back through a pipe."""
    data = result.cache
    pages = plan.pages
    todo = _to_make(publisher, data, pages, same_output)
    if todo and plan.replan is not None:  # one of the pages taken on trust cannot be kept after all
        pages = result.pages = plan.replan()
        todo = _to_make(publisher, data, pages, same_output)
    for page in todo:
        publisher.write(page.rel, page.make())
    data.page_keys = {p.rel: p.key for p in pages}
    data.page_inputs = plan.inputs


def _to_make(
    publisher: Publisher, data: CacheData, pages: list[SitePage], same_output: bool
) -> list[SitePage]:
    """The pages that cannot be kept as last published (the others are kept, in the spare)."""
    todo = []
    for page in pages:
        stamp = data.manifest.get(page.rel)
        reused = same_output and stamp is not None and data.page_keys.get(page.rel) == page.key
        if not (reused and stamp is not None and publisher.reuse(page.rel, stamp)):
            todo.append(page)
    return todo


def _say_what_static_leaves_out(root: Path) -> None:
    """Said by every build, also one that finds nothing to do: a cold build would say it."""
    if (root / "static").is_dir():
        for left_out in static_files(root / "static", inside=root)[1]:
            linked = os.path.islink(root / "static" / left_out)
            why = "a link to a folder or out of the site" if linked else "not a regular file"
            print(f"sitegen: static/{left_out} not copied: {why}", file=sys.stderr)
