"""The inputs a run reads: article files (stat, content hash, text, each read when needed), the
sources' hashes, and the installed package's own digest."""

from __future__ import annotations

import os
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.cache import CacheData, digest
from sitegen.checks.context import FactDef
from sitegen.diagnostics import Diagnostic, Span, error
from sitegen.facts import SOURCE_IDS, scan_facts
from sitegen.grammar import grammar_text
from sitegen.site import Site, decode_text, not_utf8, read_bytes, read_text
from sitegen.workers import cores, reported
from sitegen.workers import pool as workers_pool

if TYPE_CHECKING:  # for annotations only: engine imports this module
    from sitegen.engine import Entry


class Texts:
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
        unchanged (whose scanned facts `provisional_facts` would then leave out)."""
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
            for part, problems, found in pool.imap(partial(_hash_share, self.root), shares):
                hashes.update(part)
                self.problems.update(problems)
                for definition in found:
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
    texts = Texts(root)
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


def unchanged_candidates(
    site: Site, data: CacheData, texts: Texts, jobs: int = 1
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


def source_hashes(site: Site) -> dict[str, str]:
    hashes = {sid: digest(site.texts.get(s.path, "")) for sid, s in site.sources.items()}
    hashes[SOURCE_IDS] = digest(*sorted(site.sources))
    return hashes


@cache
def code_digest() -> str:
    """Every file of the installed package: a changed sitegen (an upgrade from a checkout
    that kept the version number, say) trusts nothing the old one cached."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    parts = (part for p in files for part in (p.relative_to(package).as_posix(), p.read_bytes()))
    return digest(*parts, grammar_text())  # in a checkout, the grammar is beside the package
