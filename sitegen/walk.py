"""Folder walks that hold up at any depth.

Python 3.11's os.walk, Path.rglob, shutil.rmtree and os.makedirs each recurse once per
folder level, so a site folder nested a thousand deep (templates/s/s/…/f.html) ended a
build in a RecursionError.  These keep their behaviour, with an explicit stack instead.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator

Walk = Iterator[tuple[str, list[str], list[str]]]


def walk(top: str | os.PathLike[str], *, followlinks: bool = False) -> Walk:
    """os.walk(top, followlinks=followlinks), top-down: the same triples in the same order,
    folders that cannot be listed skipped, and `dirs` pruned in place as the caller likes."""
    stack = [os.fspath(top)]
    while stack:
        folder = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue
        yield folder, dirs, files
        # reversed: the stack gives them back in the caller's order, depth first as os.walk does
        for name in reversed(dirs):
            path = os.path.join(folder, name)
            if followlinks or not os.path.islink(path):
                stack.append(path)


def remove_tree(top: str | os.PathLike[str], *, ignore_errors: bool = False) -> None:
    """shutil.rmtree, whose file-descriptor walk no link swapped in meanwhile can lead out of
    the tree; for a tree too deep for it, the same removal with an explicit stack."""
    try:
        shutil.rmtree(top, ignore_errors=ignore_errors)
    except RecursionError:
        _remove_deep_tree(top, ignore_errors=ignore_errors)


def _remove_deep_tree(top: str | os.PathLike[str], *, ignore_errors: bool = False) -> None:
    """A folder and all in it, links removed and never followed."""
    top = os.fspath(top)
    try:
        if os.path.islink(top):
            raise OSError(errno.ENOTDIR, "Cannot remove a tree through a symbolic link", top)
        stack: list[tuple[str, bool]] = [(top, False)]
        while stack:
            folder, emptied = stack.pop()
            if emptied:
                _quietly(os.rmdir, folder, ignore_errors)
                continue
            stack.append((folder, True))  # removed once all pushed after it are gone
            try:
                with os.scandir(folder) as entries:
                    for entry in list(entries):
                        if entry.is_dir(follow_symlinks=False):
                            stack.append((entry.path, False))
                        else:
                            _quietly(os.unlink, entry.path, ignore_errors)
            except OSError:
                if not ignore_errors:
                    raise
    except OSError:
        if not ignore_errors:
            raise


def _quietly(action: Callable[[str], None], path: str, ignore_errors: bool) -> None:
    try:
        action(path)
    except FileNotFoundError:
        pass  # gone meanwhile: what was wanted
    except OSError:
        if not ignore_errors:
            raise


def make_folders(path: str | os.PathLike[str]) -> None:
    """os.makedirs(path, exist_ok=True), with the same errors: FileExistsError where a file
    is in the place of the folder, NotADirectoryError where a file is in its way."""
    path = os.fspath(path)
    missing = []
    head = path
    while head and not os.path.exists(head):
        missing.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not os.path.isdir(folder):  # made meanwhile is fine, as with exist_ok
                raise
    if not os.path.isdir(path):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
