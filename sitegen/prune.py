"""Bringing a spare tree down to what a build published, and stamping its folders so that the
next build that takes the same tree need not list them all again.

A folder's entries change only with its stamp (inode, mtime, ctime): any file or folder
made, removed or renamed in it sets its ctime, which no one can set back.  A folder whose
stamp is as it was when the tree was last published therefore holds just what it held then,
and what to remove from it is known without a listing.  Listing the 10,000 folders of a big
site's tree added up to half a second to a one-article edit (1.3-1.9 s against 1.2-1.3 s with
the stamps), most likely when the system had let the folders' blocks drop out of its cache.

A coarse file-system clock can give a change the very ctime of the one before it, if it
comes within the same tick: a folder changed that close to when the stamps were taken is
listed next time however its stamp reads (`_RACY_NS`, as git treats a "racily clean" file).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping

from sitegen.walk import remove_tree

FolderStamp = tuple[int, int, int]  # inode, mtime_ns, ctime_ns

# Changes within this long of the newest one the stamps saw may share a tick with it (2 s on
# FAT, a few milliseconds on most others): those folders are listed again.
_RACY_NS = 3_000_000_000


def folder_stamp(path: str) -> FolderStamp | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns) if stat.S_ISDIR(st.st_mode) else None


def stamp_folders(top: str, files: Iterable[str]) -> dict[str, FolderStamp]:
    """The stamps of the folders holding `files` under top (top's own is never kept: it is
    renamed in and out of place), or {} if one of them cannot be stamped."""
    stamps = {}
    for rel in _folders_of(files):
        found = folder_stamp(os.path.join(top, rel))
        if found is None:
            return {}
        stamps[rel] = found
    return stamps


def _folders_of(files: Iterable[str]) -> set[str]:
    folders: set[str] = set()
    for rel in files:
        parent = posixpath.dirname(rel)
        while parent and parent not in folders:
            folders.add(parent)
            parent = posixpath.dirname(parent)
    return folders


def _settled_before(was: Mapping[str, FolderStamp]) -> int:
    """A stamp whose ctime is older than this vouches for its folder (see `_RACY_NS`)."""
    return max((s[2] for s in was.values()), default=0) - _RACY_NS


def _index(held: Iterable[str], was: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each recorded folder's files and folders, by name."""
    recorded: dict[str, tuple[list[str], list[str]]] = {}
    for names, which in ((held, 0), (was, 1)):
        for rel in names:
            folder, _, name = rel.rpartition("/")
            entries = recorded.get(folder)
            if entries is None:
                entries = recorded[folder] = ([], [])
            entries[which].append(name)
    return recorded


class _Walk:
    def __init__(
        self, top: str, keep: Mapping[str, object], was: Mapping[str, FolderStamp], held: Iterable[str]
    ) -> None:
        self.keep = keep
        self.was = was
        self.settled_before = _settled_before(was)
        self.recorded = _index(held, was)  # folder -> its files, its folders
        self.order: list[tuple[str, str, str | None]] = []  # (path, rel, parent path): parents first
        self.kept: dict[str, bool] = {}  # path -> holds something kept
        self.stamps: dict[str, FolderStamp | None] = {}
        self.touched: set[str] = set()  # paths of folders something was removed from
        self.todo: list[tuple[str, str, str | None]] = [(top, "", None)]

    def run(self) -> dict[str, FolderStamp]:
        while self.todo:  # strings, not Paths: a Path per folder costs more than the work
            folder, rel, parent = self.todo.pop()
            found = folder_stamp(folder) if rel else None
            if rel and found is None:  # a recorded folder gone, or a link in its place: never followed
                with contextlib.suppress(OSError):
                    os.unlink(folder)
                self.touched.add(str(parent))
                continue
            self.order.append((folder, rel, parent))
            self.kept[folder] = False
            old = self.was.get(rel)
            if found is not None and found == old and old[2] < self.settled_before:
                self._known(folder, rel)
            else:
                self._listed(folder, rel)
            self.stamps[rel] = found
        self._remove_empty()
        return self._final_stamps()

    def _known(self, folder: str, rel: str) -> None:
        """A folder as it was published: its entries are the ones recorded."""
        files, folders = self.recorded.get(rel, ([], []))
        for name in files:
            if f"{rel}/{name}" in self.keep:
                self.kept[folder] = True
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{folder}/{name}")
                self.touched.add(folder)
        for name in folders:
            self.todo.append((f"{folder}/{name}", f"{rel}/{name}", folder))

    def _listed(self, folder: str, rel: str) -> None:
        with os.scandir(folder) as entries:
            for entry in list(entries):
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    self.todo.append((entry.path, name, folder))
                elif name in self.keep:
                    self.kept[folder] = True
                else:
                    os.unlink(entry.path)
                    self.touched.add(folder)

    def _remove_empty(self) -> None:
        for folder, rel, parent in reversed(self.order):
            if parent is None:
                continue
            if self.kept[folder]:
                self.kept[parent] = True
            else:
                try:
                    os.rmdir(folder)
                except OSError:  # not empty after all (changed meanwhile): nothing in it was published
                    remove_tree(folder, ignore_errors=True)
                self.touched.add(parent)
                del self.stamps[rel]

    def _final_stamps(self) -> dict[str, FolderStamp]:
        for folder, rel, _ in self.order:
            if folder in self.touched and rel in self.stamps:
                self.stamps[rel] = folder_stamp(folder)
        self.stamps.pop("", None)
        stamps = {rel: s for rel, s in self.stamps.items() if s is not None}
        return stamps if len(stamps) == len(self.stamps) else {}


def prune_tree(
    top: str,
    keep: Mapping[str, object],
    was: Mapping[str, FolderStamp] | None = None,
    held: Iterable[str] = (),
) -> dict[str, FolderStamp]:
    """Delete what `keep` does not name under top, and the folders that leaves empty; return
    the stamps of the folders left ({} if one could not be stamped).

    `was` and `held`: the stamps of the tree's folders and the files it held when it was last
    published.  A folder whose stamp is still the same is not listed (see the module's doc)."""
    return _Walk(top, keep, was or {}, held if was else ()).run()


def holds_only(
    out: str | os.PathLike[str], published: Mapping[str, object], was: Mapping[str, FolderStamp]
) -> bool:
    """Whether `out` holds as many files as were published and nothing else: no folder and no
    link to one that no published file is in (anything put there by hand is to be replaced).
    The files themselves are compared by their stamps, elsewhere.  `was`: the stamps of the
    folders as published; a folder whose stamp is the same holds what it held then."""
    folders = _folders_of(published)
    settled_before, recorded = _settled_before(was), _index(published, was)
    present = 0
    todo = [(os.fspath(out), "")]
    while todo:
        path, rel = todo.pop()
        if rel and rel not in folders:
            return False
        old = was.get(rel)
        if rel and old is not None and old[2] < settled_before and folder_stamp(path) == old:
            files, subfolders = recorded.get(rel, ([], []))
            present += len(files)
            todo += [(f"{path}/{name}", f"{rel}/{name}") for name in subfolders]
            continue
        try:  # scandir's entry types come with the listing: no stat per folder of a big site
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append((entry.path, f"{rel}/{entry.name}" if rel else entry.name))
                    elif entry.is_symlink() and entry.is_dir():
                        return False
                    else:
                        present += 1
        except OSError:  # gone or unreadable meanwhile: not as published
            return False
    return present == len(published)
