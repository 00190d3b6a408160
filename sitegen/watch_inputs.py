"""What `watch` watches: which changes matter (SiteFilter), the input folders, and the stats of
the inputs besides the articles, to tell a change that no event reported."""

from __future__ import annotations

import os
import re
from pathlib import Path

import watchfiles

from sitegen.inputs import file_stamp
from sitegen.site import ARTICLES_DIR
from sitegen.static_files import NOT_COPIED
from sitegen.templating import site_template_files
from sitegen.walk import walk

WATCHED = ("content", "templates", "static")
_TEMP_NAME = re.compile(r"(~|\.sw[a-p]|\.tmp|\.bak|\.crswap|___jb_\w+___)$|^(4913|#.*#|flycheck_.*)$", re.I)


class SiteFilter:
    """Which changes matter: content/, templates/, static/ and site.toml, minus editors' debris."""

    def __init__(self, root: Path, out: Path) -> None:
        self.root, self.out = root.resolve(), out.resolve()

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        if p == self.out or p.is_relative_to(self.out) or not p.is_relative_to(self.root):
            return False
        parts = p.relative_to(self.root).parts
        if parts == ("site.toml",):
            return True
        if not parts or parts[0] not in WATCHED:
            return False
        return not any(_ignored(name, parts[0]) for name in parts)


def folders_moved(before: list[Path], now: list[Path], base: Path) -> str:
    came = [f"{p.relative_to(base).as_posix()}/ added" for p in now if p not in before]
    went = [f"{p.relative_to(base).as_posix()}/ removed" for p in before if p not in now]
    return ", ".join(came + went)


def input_folders(root: Path) -> list[Path]:
    base = root.resolve()
    return [base / name for name in WATCHED if (base / name).is_dir() and not (base / name).is_symlink()]


def other_inputs(root: Path) -> dict[str, tuple[int, int, int, int] | None]:
    """site.toml and the files under content/ (but the articles), templates/ and static/, by stat."""
    found = {}
    if (root / "site.toml").is_file():
        found["site.toml"] = file_stamp(root / "site.toml")
    for name, path in site_template_files(root):  # through links to folders, as Jinja finds them
        if not any(_ignored(part, "templates") for part in name.split("/")):
            found[f"templates/{name}"] = file_stamp(path)
    for top in ("content", "static"):
        for folder, dirs, files in walk(root / top):
            rel = Path(folder).relative_to(root).as_posix()
            dirs[:] = [d for d in dirs if f"{rel}/{d}" != ARTICLES_DIR and not _ignored(d, top)]
            for name in files:
                if not _ignored(name, top):
                    found[f"{rel}/{name}"] = file_stamp(os.path.join(folder, name))
    return found


def _ignored(name: str, top: str) -> bool:
    """Editors' debris, where a build ignores it too: static/ is published whole, dotfiles
    (`.well-known/`) and `*.bak` included, all but version control (`NOT_COPIED`)."""
    if top == "static":
        return name in NOT_COPIED
    return name.startswith(".") or bool(_TEMP_NAME.search(name))


def identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
