"""`sitegen build` on the command line: the verb, its progress line and what it prints."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sitegen.build import build_site
from sitegen.cache import CACHE_DIR
from sitegen.diagnostics import Diagnostic, Summary, exit_status, plural, report_failure
from sitegen.publish import PublishError, check_out_dir
from sitegen.workers import cores

Reporter = Callable[[list[Diagnostic], Summary, dict[str, str], str, float | None], None]


class Progress:
    """A single updating line on a terminal; silent otherwise or for small sites."""

    def __init__(self, stream=None, threshold: int = 200) -> None:
        self.stream, self.threshold = stream or sys.stderr, threshold
        self.enabled = self.stream.isatty()
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.threshold or (done % 50 and done != total):
            return
        width = 30
        filled = width * done // total
        elapsed = time.perf_counter() - self.started
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\rprocessing [{bar}] {done}/{total} {elapsed:.1f}s")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def default_jobs() -> int:
    return cores()


def _failure(root: Path, out: Path, exc: Exception) -> str:
    """What stopped a build: a site file it could not read is named as such, not as publishing."""
    name = exc.filename if isinstance(exc, OSError) and isinstance(exc.filename, str) else None
    if name is not None:
        path, site = Path(name).absolute(), root.absolute()
        ours = (out.absolute(), site / CACHE_DIR)
        if path.is_relative_to(site) and not any(path.is_relative_to(p) for p in ours):
            return f"cannot read {path.relative_to(site).as_posix()}: {getattr(exc, 'strerror', None) or exc}"
    return f"cannot publish to {out}: {exc}"


def build_command(root: Path, args: argparse.Namespace, report: Reporter) -> int:
    out = Path(args.out) if args.out else root / "public"
    refusal = check_out_dir(root, out)
    if refusal:
        report_failure(args.format, f"refusing to build: {refusal}")
        return 2
    jobs = args.jobs if args.jobs and args.jobs > 0 else default_jobs()
    started = time.perf_counter()
    try:
        result = build_site(
            root,
            out,
            strict=args.strict,
            drafts=args.drafts,
            progress=Progress(),
            jobs=jobs,
            use_cache=not args.no_cache,
        )
    except (OSError, PublishError) as exc:
        report_failure(args.format, _failure(root, out, exc))
        return 2
    elapsed = time.perf_counter() - started
    checked = result.checked
    report(result.diagnostics, result.summary, checked.site.texts, args.format, elapsed)
    status = exit_status(result.diagnostics, strict=args.strict)
    if result.unchanged:
        articles = plural(result.articles, "article")
        print(f"sitegen: nothing changed; {out} is up to date ({articles}, {elapsed:.2f}s)", file=sys.stderr)
    elif result.published:
        reused = result.articles - min(result.rendered, result.articles)
        print(
            f"sitegen: published {plural(result.articles, 'article')} ({reused} unchanged), "
            f"{plural(result.pages, 'page')}, "
            f"into {out} in {elapsed:.2f}s",
            file=sys.stderr,
        )
    else:
        kept = f"; {out} is unchanged" if out.exists() else ""
        print(f"sitegen: nothing published{kept}", file=sys.stderr)
    return status
