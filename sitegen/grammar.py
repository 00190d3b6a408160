"""The one lark parser for `grammar.lark`: LALR, contextual lexer, positions, cached.

The analysed grammar is cached on disk only inside a site's own `.sitegen-cache/` (never in
a shared temporary directory): lark reads its cache with pickle, so the directory must be
the user's own and writable by nobody else.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from importlib import resources
from pathlib import Path

from lark import Lark

from sitegen import __version__

_CACHE_DIR: list[Path] = []  # where a site asked for the analysed grammar to be kept


def grammar_text() -> str:
    """The grammar shipped in the package; in a source checkout, the one at the repository root."""
    shipped = resources.files("sitegen").joinpath("grammar.lark")
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "grammar.lark").read_text(encoding="utf-8")


def use_cache_dir(folder: Path) -> None:
    """Keep the analysed grammar in `folder` (a site's cache) from the next parser() on."""
    if not _CACHE_DIR and not parser.cache_info().currsize:
        _CACHE_DIR.append(folder)


def private_dir(folder: Path) -> bool:
    """True if `folder` is a real directory owned by this user that nobody else can write to."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    owner_ok = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return stat.S_ISDIR(st.st_mode) and owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _cache_file(text: str) -> str | None:
    if not _CACHE_DIR or not private_dir(_CACHE_DIR[0]):
        return None
    digest = hashlib.sha256(f"{__version__}\0{text}".encode()).hexdigest()[:16]
    return str(_CACHE_DIR[0] / f"grammar-{digest}.lark-cache")


@functools.cache
def parser() -> Lark:
    text = grammar_text()
    options = dict(
        parser="lalr",
        lexer="contextual",
        start=["annotation", "rule_expr"],
        propagate_positions=True,
        maybe_placeholders=False,
    )
    cache = _cache_file(text)
    if cache is not None:
        try:
            return Lark(text, cache=cache, **options)
        except Exception:  # noqa: BLE001 - a broken cache file must never stop a build
            pass
    return Lark(text, **options)
