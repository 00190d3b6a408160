"""The static files: the built-in ones and the site's `static/` folder, which of their files are
published (and which are left out), their key, and their copy into the output."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.cache import digest
from sitegen.site import resolved
from sitegen.walk import walk

if TYPE_CHECKING:  # for an annotation only: publish imports this module (static_files)
    from sitegen.publish import Publisher

# What a static folder may hold that is not the site's: version control, the Finder's notes.
NOT_COPIED = frozenset({".git", ".hg", ".svn", ".DS_Store"})


def builtin_static() -> Path:
    return Path(__file__).parent / "static"


def static_files(source: Path, *, inside: Path) -> tuple[list[Path], list[str]]:
    """The files under `source` to publish, dotfiles too (`.well-known/`), but not
    version-control folders; a link is followed only to a file inside `inside`.  Also what is
    left out (links leading elsewhere or to folders, pipes and the like), relative to
    `source`, for the user to hear of."""
    files: list[Path] = []
    left_out: list[str] = []
    base = inside.resolve()
    for dirpath, dirnames, filenames in walk(source, followlinks=False):
        # no Path per folder: each is as long as the folder is deep, and static/ may be deep
        linked = sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
        left_out += [Path(dirpath, d).relative_to(source).as_posix() for d in linked]
        dirnames[:] = sorted(d for d in dirnames if d not in NOT_COPIED and d not in linked)
        for name in sorted(filenames):
            if name in NOT_COPIED:
                continue
            src = Path(dirpath, name)
            real = resolved(src) if src.is_symlink() else None
            linked_out = src.is_symlink() and (real is None or not real.is_relative_to(base))
            # out of the site, in a loop, or no file at all: a pipe or device could block for ever
            if linked_out or not src.is_file():
                left_out.append(src.relative_to(source).as_posix())
                continue
            files.append(src)
    return files, left_out


def static_key_of(root: Path) -> str:
    stats = []
    for top in (builtin_static(), root / "static"):
        if not top.is_dir():
            continue
        # Path.rglob("*")'s files and order (by parts), links to folders not followed, but
        # without its recursion, and with strings: a Path is slow to make a thousand folders deep
        found = (os.path.join(folder, name) for folder, _, files in walk(top) for name in files)
        for path in sorted(found, key=lambda p: p.split(os.sep)):
            try:
                st = os.stat(path)
            except OSError:  # deleted since it was listed (or a link to nothing): not published
                continue
            if stat.S_ISREG(st.st_mode):
                # as articles are stamped (`inputs.file_stamp`): a copy that keeps size and mtime
                # (`cp -p`, `rsync -a`, `tar x`) still changes the inode or the ctime
                stats.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    return digest(*stats)


def publish_static(publisher: Publisher, root: Path) -> None:
    publisher.copy_tree(builtin_static(), "static", inside=builtin_static())
    if (root / "static").is_dir():
        # the site's own static files win over the built-in ones of the same name
        publisher.copy_tree(root / "static", "static", inside=root)
