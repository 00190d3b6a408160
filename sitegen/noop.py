"""The no-op fast path: when nothing a build reads has changed and the output is exactly as
published, say so from a small snapshot, without loading the per-article cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sitegen.cache import CACHE_DIR, Cache, FileStamp
from sitegen.diagnostics import Diagnostic
from sitegen.engine import environment_hash
from sitegen.grammar import use_cache_dir
from sitegen.inputs import file_stamp, source_hashes
from sitegen.prune import FolderStamp, holds_only
from sitegen.site import Site, load_site


@dataclass
class Snapshot:
    env: str
    drafts: bool
    out: str
    static_key: str
    articles: dict[str, tuple | None]  # article path -> its file's stamp
    sources: dict[str, str]
    manifest: dict[str, FileStamp]
    folders: dict[str, FolderStamp]  # the stamps of the output's folders as published (prune.py)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    counts: tuple[int, int, int] = (0, 0, 0)  # articles, annotations, articles published


def _store(root: Path, mode: str, enabled: bool) -> Cache:
    return Cache(root, f"{mode}.noop", enabled=enabled)


def save(root: Path, mode: str, enabled: bool, snapshot: Snapshot, *, defer: bool = False) -> None:
    _store(root, mode, enabled).save(snapshot, defer=defer)


def forget(root: Path, mode: str, enabled: bool) -> None:
    """A build that failed or changed things leaves no snapshot that could vouch for the output."""
    _store(root, mode, enabled).forget()


def check(
    root: Path, mode: str, enabled: bool, *, out: Path, drafts: bool, static_key: str
) -> tuple[Snapshot | None, Site | None]:
    """The snapshot if the site and its output are exactly as it describes them, else None."""
    use_cache_dir(root / CACHE_DIR)  # the rules in site.toml are parsed with the cached grammar
    snapshot = _store(root, mode, enabled).read()
    if not isinstance(snapshot, Snapshot) or snapshot.drafts != drafts or snapshot.out != str(out.absolute()):
        return None, None
    if snapshot.static_key != static_key:
        return None, None
    site = load_site(root)
    if site.diagnostics:  # a bad or duplicate source id, a file not UTF-8: said by a full run
        return None, site
    if site.article_paths != sorted(snapshot.articles) or environment_hash(site, mode) != snapshot.env:
        return None, site
    if any(file_stamp(root / path) != stamp or stamp is None for path, stamp in snapshot.articles.items()):
        return None, site
    if source_hashes(site) != snapshot.sources:
        return None, site
    if not all(stamp.matches(out / rel) for rel, stamp in snapshot.manifest.items()):
        return None, site
    if not holds_only(out, snapshot.manifest, snapshot.folders):
        return None, site
    return snapshot, site
