"""The one lark parser for `grammar.lark`: LALR, contextual lexer, positions, cached on disk."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path

from lark import Lark

from sitegen import __version__


def grammar_text() -> str:
    """The grammar shipped in the package; in a source checkout, the one at the repository root."""
    shipped = resources.files("sitegen").joinpath("grammar.lark")
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "grammar.lark").read_text(encoding="utf-8")


def _cache_path(text: str) -> str | None:
    digest = hashlib.sha256(f"{__version__}\0{text}".encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (os.path.join(base, "sitegen"), os.path.join(tempfile.gettempdir(), "sitegen")):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return os.path.join(folder, f"grammar-{digest}.lark-cache")
    return None


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
    cache = _cache_path(text)
    if cache is not None:
        try:
            return Lark(text, cache=cache, **options)
        except OSError:
            pass  # an unwritable or unreadable cache must never stop a build
    return Lark(text, **options)
