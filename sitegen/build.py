"""`sitegen build`: load → parse → check → render → publish."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.diagnostics import Diagnostic, Summary, exit_status, sorted_diagnostics
from sitegen.pages import TemplateProblem
from sitegen.pipeline import Checked, check_site
from sitegen.publish import Publisher, PublishError, check_out_dir
from sitegen.render import Rendered, builtin_static, make_context, render_article, render_site_pages

Reporter = Callable[[list[Diagnostic], Summary, dict[str, str], str, float | None], None]


@dataclass
class BuildResult:
    checked: Checked
    diagnostics: list[Diagnostic]
    published: bool = False
    pages: int = 0
    articles: int = 0
    extra: list[str] = field(default_factory=list)


def render_pages(
    checked: Checked,
    *,
    drafts: bool,
    live_reload: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, bytes]:
    """Every page of the site; raises TemplateProblem on a template error."""
    ctx = make_context(checked.site, live_reload)
    docs = [d for d in checked.documents if drafts or not d.meta.draft]
    pages: dict[str, bytes] = {}
    rendered: list[Rendered] = []
    for index, doc in enumerate(docs, 1):
        one = render_article(ctx, doc, checked.report.results[doc.path])
        rendered.append(one)
        pages[f"articles/{doc.meta.slug}/index.html"] = one.html
        if progress is not None:
            progress(index, len(docs))
    pages.update(render_site_pages(ctx, rendered))
    return pages


def build_site(
    root: Path,
    out: Path,
    *,
    strict: bool = False,
    drafts: bool = False,
    live_reload: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    checked = check_site(root, for_render=True)
    result = BuildResult(checked, list(checked.diagnostics))
    if exit_status(checked.diagnostics, strict=strict) != 0:
        return result
    try:
        pages = render_pages(checked, drafts=drafts, live_reload=live_reload, progress=progress)
    except TemplateProblem as problem:
        result.diagnostics = sorted_diagnostics([*result.diagnostics, problem.diagnostic])
        return result
    publish(root, out, pages)
    result.published, result.pages = True, len(pages)
    result.articles = sum(1 for p in pages if p.startswith("articles/"))
    return result


def publish(root: Path, out: Path, pages: dict[str, bytes]) -> None:
    with Publisher(out) as publisher:
        publisher.copy_tree(builtin_static(), "static", inside=builtin_static())
        if (root / "static").is_dir():
            # the site's own static files win over the built-in ones of the same name
            _copy_site_static(publisher, root)
        for rel, data in sorted(pages.items()):
            publisher.write(rel, data)
        publisher.commit()


def _copy_site_static(publisher: Publisher, root: Path) -> None:
    import os
    import shutil

    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root / "static", followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            src = Path(dirpath) / name
            if name.startswith(".") or src.is_symlink() or not src.resolve().is_relative_to(base):
                continue
            rel = "/".join(["static", *src.relative_to(root / "static").parts])
            target = publisher.path(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)


class Progress:
    """A single updating line on a terminal; silent otherwise or for small sites."""

    def __init__(self, stream=sys.stderr, threshold: int = 200) -> None:
        self.stream, self.threshold = stream, threshold
        self.enabled = stream.isatty()
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.threshold or (done % 50 and done != total):
            return
        width = 30
        filled = width * done // total
        elapsed = time.perf_counter() - self.started
        self.stream.write(
            f"\rrendering [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {elapsed:.1f}s"
        )
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def build_command(root: Path, args: argparse.Namespace, report: Reporter) -> int:
    out = Path(args.out) if args.out else root / "public"
    refusal = check_out_dir(root, out)
    if refusal:
        print(f"sitegen: refusing to build: {refusal}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        result = build_site(root, out, strict=args.strict, drafts=args.drafts, progress=Progress())
    except (OSError, PublishError) as exc:
        print(f"sitegen: cannot publish to {out}: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    checked = result.checked
    report(result.diagnostics, checked.summary, checked.site.texts, args.format, elapsed)
    status = exit_status(result.diagnostics, strict=args.strict)
    if result.published:
        print(
            f"sitegen: built {result.articles} article pages, {result.pages} pages in all, into {out} "
            f"in {elapsed:.2f}s",
            file=sys.stderr,
        )
    else:
        print(f"sitegen: nothing published; {out} is unchanged", file=sys.stderr)
    return status
