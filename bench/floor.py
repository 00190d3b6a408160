#!/usr/bin/env python3
"""The floor: the least work a Markdown-to-HTML site build can do, for comparison.

    python bench/floor.py SITE_DIR [--out DIR] [--jobs N]

Reads every article of a generated site (SITE_DIR/content/articles/*.md, or
content/posts/*.md of a --strip Hugo site), strips the front matter, renders the
Markdown with markdown-it-py (CommonMark + tables) into a trivial Jinja2 template
and writes OUT/<stem>/index.html.  Annotations are not parsed or checked: they
go through as text.  With --jobs N the files are spread over a multiprocessing
Pool of N workers.  Prints the elapsed seconds (the only line on stdout).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import time
from multiprocessing import Pool

import jinja2
from markdown_it import MarkdownIt

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><article>
<h1>{{ title }}</h1>
{{ body | safe }}
</article></main></body>
</html>
"""
_TITLE = re.compile(r'^title:\s*"?(.*?)"?\s*$', re.MULTILINE)


class _Worker:
    """Per-process state: the parser, the template and the output directory."""

    md: MarkdownIt
    template: jinja2.Template
    out: str


def _init(out: str) -> None:
    _Worker.md = MarkdownIt("commonmark").enable("table")
    _Worker.template = jinja2.Environment(autoescape=True).from_string(TEMPLATE)
    _Worker.out = out


def split_front_matter(text: str) -> tuple[str, str]:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end >= 0:
            return text[4:end], text[end + 5 :]
    return "", text


def render_one(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    front, body = split_front_matter(text)
    match = _TITLE.search(front)
    title = match.group(1) if match else os.path.basename(path)
    html = _Worker.template.render(title=title, body=_Worker.md.render(body))
    directory = os.path.join(_Worker.out, os.path.splitext(os.path.basename(path))[0])
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)
    return len(html)


def article_files(site: str) -> list[str]:
    for sub in ("articles", "posts"):
        files = sorted(glob.glob(os.path.join(site, "content", sub, "*.md")))
        if files:
            return files
    return []


def build(site: str, out: str, jobs: int = 1) -> tuple[int, float]:
    """Render every article; return (files, elapsed seconds)."""
    start = time.perf_counter()
    files = article_files(site)
    os.makedirs(out, exist_ok=True)
    if jobs <= 1:
        _init(out)
        for path in files:
            render_one(path)
    else:
        chunk = max(1, len(files) // (jobs * 8))
        with Pool(jobs, initializer=_init, initargs=(out,)) as pool:
            for _ in pool.imap_unordered(render_one, files, chunksize=chunk):
                pass
    return len(files), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", help="a site written by bench/gen.py")
    parser.add_argument("--out", help="output directory (default: SITE/public-floor)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (0: all CPUs)")
    args = parser.parse_args(argv)
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    out = args.out or os.path.join(args.site, "public-floor")
    count, elapsed = build(args.site, out, jobs)
    if not count:
        print(f"floor: no articles under {args.site}/content", file=sys.stderr)
        return 2
    print(f"{elapsed:.3f}")
    print(
        f"floor: {count} articles, jobs={jobs}, {elapsed:.3f}s ({count / elapsed:.0f} articles/s) -> {out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
