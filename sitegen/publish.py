"""Atomic publishing: build beside the old output, then swap in one system call (SPEC §6).

At every instant the output path holds the complete old site or the complete new one.
The swap is Linux `renameat2(RENAME_EXCHANGE)`; where the file system lacks it we fall
back to two renames and say so (`Publisher._two_renames`).  Leftovers of a killed build
are removed by the next one.

The tree the swap takes out is not deleted: it is kept as the *spare*, in the site's
private cache folder, and the next build brings it up to date instead of writing a whole
new tree.  A one-article edit then touches a handful of files, whatever the size of the
site.  The spare is trusted only as far as its record: every file kept from it must still
have the size, mtime and inode it had when it was published, and files nobody published
are removed before it goes live.  A spare being brought up to date carries a `.building`
name, so one left by a killed build is recognised and removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import sys
import uuid
from pathlib import Path

from sitegen.cache import CACHE_DIR, Cache, FileStamp, digest, digest_pieces
from sitegen.grammar import private_dir
from sitegen.prune import FolderStamp, prune_tree, stamp_folders
from sitegen.site import resolved
from sitegen.static_files import static_files
from sitegen.walk import make_folders, remove_tree

TMP_MARK = ".sitegen-tmp-"
OLD_MARK = ".sitegen-old-"
_warned_two_renames = False
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _stamp(path: Path | str, sha: str) -> FileStamp:
    st = os.stat(path)
    return FileStamp(sha, st.st_size, st.st_mtime_ns, st.st_ino)


class PublishError(Exception):
    pass


def check_out_dir(root: Path, out: Path) -> str | None:
    """Why an --out may not be used, or None. Output must never cover the site's own files."""
    site, target = root.resolve(), resolved(out)
    if target is None:
        return f"--out {out} is a link in a loop"
    if target == site:
        return "--out is the site directory itself"
    for own in ("content", "templates", "static", "site.toml", CACHE_DIR):
        mine = site / own
        if mine.is_relative_to(target):
            return f"--out {out} contains the site's {own}"
        if target.is_relative_to(mine):
            return f"--out {out} is inside the site's {own}/"
    if target.exists() and not target.is_dir():
        return f"--out {out} exists and is not a directory"
    for above in Path(
        os.path.abspath(out)
    ).parents:  # no folder can be made under a file, nor a link to nothing
        if above.is_dir():
            return None
        if above.is_symlink():
            return f"--out {out} cannot be made: {above} is a link to nothing"
        if above.exists():
            return f"--out {out} cannot be made: {above} is a file, not a directory"
    return None


def _exchange(a: Path, b: Path) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


class Publisher:
    """`with Publisher(out) as p: p.write(...); p.commit()` — nothing changes unless commit runs.

    With `spares` (a private folder on the same file system as `out`) the tree being built
    is the spare kept there, brought up to date; its record says what it held when it was
    last live.  After `commit`, `settle()` keeps the tree that went out as the next spare.
    `trusted` skips looking for files the record does not know about, for a long-running
    `watch` that keeps the only copy of that record in memory.
    """

    def __init__(self, out: Path, *, spares: Path | None = None, trusted: bool = False) -> None:
        self.out = out.absolute()
        if self.out.is_symlink() and self.out.is_dir():
            # `public -> /srv/www`: the site goes where the link points, and the link stays
            self.out = self.out.resolve()
        self.parent = self.out.parent
        self.spare: Path | None = None
        if spares is not None and _usable(spares) and _same_device(spares, self.parent):
            self.spare = spares / f"spare-{digest(str(self.out))[:16]}"
            self.tmp = self.spare.with_name(self.spare.name + BUILDING)
            self._record = Cache(spares.parent, self.spare.name)
            _retire_spares(spares, self.spare.name)
        else:
            self.tmp = self._beside_output()
        self.base: dict[str, FileStamp] = {}
        self._was: dict[str, FolderStamp] = {}  # the spare's folders as last published (prune.py)
        self._held: list[str] = []  # the files its record says it held then
        self.folders: dict[str, FolderStamp] = {}  # the stamps of the folders published, after commit
        self.trusted = self.defer = trusted
        self._lock_fd: int | None = None
        self._committed = False
        self._swapped_out = False  # the old output now sits at self.tmp, waiting for settle()
        self._fresh = False  # the tree was made empty by this build: all it holds, it published
        self._dirs: set[str] = set()
        self._real_folders: set[str] = {""}  # folders of the tree known to be no links (`_spot`)
        self._links: dict[str, set[str]] = {}  # folder -> the links in it, as listed (`_links_in`)
        self._intact_files: set[str] = set()
        self.stamps: dict[str, FileStamp] = {}  # what was published, for the next build's manifest

    def __enter__(self) -> Publisher:
        make_folders(self.parent)
        self._lock()
        self._remove_leftovers()
        if self.spare is not None:
            try:
                self._take_spare()
                return self
            except OSError:
                # not ours to use (left by a build as root, a file in its place): the site is
                # built beside the output instead, as without a cache, only slower
                self.spare, self.base, self.tmp = None, {}, self._beside_output()
        self.trusted = False
        self.tmp.mkdir()
        self._fresh = True
        return self

    def clear_leftovers(self) -> None:
        """Remove what killed builds left, unless a build is at work now (whose trees they may
        be): for a build that finds nothing to publish and so never enters."""
        try:
            fd = os.open(self.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._remove_leftovers()
            if self.spare is not None and (self.tmp.exists() or self.tmp.is_symlink()):
                _remove(self.tmp)  # the spare a killed build was bringing up to date
        except OSError:
            pass  # another build holds the lock, or a leftover will not go: the next build tries again
        finally:
            os.close(fd)  # and with it the lock

    def _beside_output(self) -> Path:
        return self.parent / f".{self.out.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _take_spare(self) -> None:
        """Make the spare the tree being built (the .building name, till done), or start one."""
        assert self.spare is not None
        if self.tmp.exists() or self.tmp.is_symlink():
            _remove(self.tmp)  # a spare a killed build was bringing up to date
        if self.spare.is_dir() and not self.spare.is_symlink():
            if os.stat(self.spare).st_uid != os.geteuid():
                raise PermissionError(errno.EACCES, "a spare of another user's", str(self.spare))
            files, self._was = _spare_record(self._record.read())
            self.base = dict(files or {})  # changed as files are replaced
            self._held = list(self.base)
            self.trusted = self.trusted and self._record.from_memory and files is not None
            os.rename(self.spare, self.tmp)  # a killed build leaves it under the .building name
            return
        if self.spare.exists() or self.spare.is_symlink():
            _remove(self.spare)  # a file or a link where the spare goes: none of ours
        self.trusted = False
        self.tmp.mkdir()
        self._fresh = True

    def __exit__(self, *exc_info: object) -> None:
        try:
            if not self._committed and self.spare is not None:
                # What a failed build wrote is recorded, so the spare stays useful.
                try:
                    os.rename(self.tmp, self.spare)
                except OSError:
                    remove_tree(self.tmp, ignore_errors=True)
                    return
                self._record.save(({**self.base, **self.stamps}, {}), defer=self.defer)
            elif not self._committed:
                remove_tree(self.tmp, ignore_errors=True)
        finally:
            self._unlock()

    def _lock(self) -> None:
        # The lock is on the parent directory itself, so that no lock file is left beside the output.
        fd = os.open(self.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"sitegen: another build is publishing into {self.parent}; waiting for it…", file=sys.stderr
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _remove_leftovers(self) -> None:
        prefix = f".{self.out.name}"
        olds = sorted(
            (e for e in self.parent.iterdir() if e.name.startswith(prefix + OLD_MARK)),
            key=lambda e: e.lstat().st_mtime_ns,
        )
        if olds and not (self.out.exists() or self.out.is_symlink()):
            # a build killed between the two renames of `_two_renames`: the old site comes back
            os.rename(olds.pop(), self.out)
        for entry in self.parent.iterdir():
            if entry.name.startswith(prefix + TMP_MARK) or entry in olds:
                remove_tree(entry, ignore_errors=True)

    def path(self, rel: str) -> Path:
        """Where a relative output path goes; anything that would leave the output is refused."""
        return Path(self._spot(rel))

    def _spot(self, rel: str) -> str:
        if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
            raise PublishError(f"refusing to write {rel!r}")
        if any(p in ("", ".", "..") for p in rel.split("/")):
            raise PublishError(f"refusing to write {rel!r}")
        folder = rel.rpartition("/")[0]
        if folder not in self._real_folders:
            self._no_links_on(folder)
        return os.path.join(self.tmp, rel)

    def _no_links_on(self, folder: str) -> None:
        """Remove the links on the way to `folder` in the tree being built.  A link put into the
        output by hand (`public/articles -> /srv/x`) comes back in the spare, and what a build
        wrote under it would go where it points, outside the output; the folder is made anew
        instead.  Each folder is looked at once a build; a tree made by this build has none."""
        parts = folder.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            if prefix in self._real_folders:
                continue
            if not self._fresh and parts[end - 1] in self._links_in("/".join(parts[: end - 1])):
                os.unlink(os.path.join(self.tmp, prefix))
            self._real_folders.add(prefix)

    def _links_in(self, folder: str) -> set[str]:
        """The names of the links in a folder of the tree being built, from one listing: an
        `lstat` per page folder of a big site cost more than all the rest of an edit's checks."""
        links = self._links.get(folder)
        if links is None:
            links = set()
            with contextlib.suppress(OSError), os.scandir(os.path.join(self.tmp, folder)) as entries:
                links = {entry.name for entry in entries if entry.is_symlink()}
            self._links[folder] = links
        return links

    def _kept(self, rel: str, sha: str) -> bool:
        """The spare already holds exactly this content at rel, as it was published."""
        old = self.base.get(rel)
        if old is None or old.sha != sha or not (self.trusted or self._intact(rel, old)):
            return False
        self.stamps[rel] = old
        return True

    def _intact(self, rel: str, old: FileStamp) -> bool:
        """The spare's file is as its record says (each file is looked at once per build)."""
        if rel in self._intact_files:
            return True
        if old.matches(self._spot(rel)):
            self._intact_files.add(rel)
            return True
        return False

    def has(self, rel: str, published: FileStamp) -> bool:
        """Can `reuse` supply this page as it was published (from the spare or the current output)?"""
        old = self.base.get(rel)
        if old is not None and old.sha == published.sha and (self.trusted or self._intact(rel, old)):
            return True
        self._spot(rel)  # the same refusal as for writing
        return published.matches(os.path.join(self.out, rel))

    def _make_room(self, target: str) -> None:
        # strings, not Paths: this runs for every page of a build
        folder = os.path.dirname(target)
        if folder not in self._dirs:
            self._dirs.add(folder)
            if self._new_folder(folder):
                return  # nothing can be in a folder just made
        if os.path.lexists(target):
            if os.path.isdir(target) and not os.path.islink(target):
                remove_tree(target)
            else:
                os.unlink(target)

    def _new_folder(self, folder: str) -> bool:
        """Make sure folder exists; True if it was made now."""
        try:
            os.mkdir(folder)  # most pages: a folder of their own, in one that exists
            return True
        except (FileExistsError, FileNotFoundError, NotADirectoryError):
            pass
        try:
            make_folders(folder)
        except (FileExistsError, NotADirectoryError):
            _clear_way(self.tmp, Path(folder))  # a file of the spare where a folder now goes
            make_folders(folder)
        return False

    def _forget(self, rel: str) -> None:
        # The spare's own file at rel is about to be replaced: its record no longer describes
        # what is there, and a later write of the old content to rel (a page checked again, a
        # site file over a built-in one) must not be taken as kept.
        self._intact_files.discard(rel)
        self.base.pop(rel, None)

    def write(self, rel: str, data: bytes | list[bytes], sha: str | None = None) -> None:
        """Publish data (or its pieces, in order) at rel; `sha`, if given, is its `digest_pieces`."""
        pieces = [data] if isinstance(data, bytes) else data
        sha = sha or digest_pieces(pieces)
        if self._kept(rel, sha):
            return
        target = self._spot(rel)
        self._forget(rel)
        self._make_room(target)
        with open(target, "xb") as handle:
            handle.writelines(pieces)
        self.stamps[rel] = _stamp(target, sha)

    def reuse(self, rel: str, old: FileStamp) -> bool:
        """An unchanged page: kept in the spare, or hard-linked from the current output.

        False if the current output does not hold it as published."""
        if self._kept(rel, old.sha):
            return True
        target = self._spot(rel)
        source = self.out / rel
        if self.out.is_symlink() or not old.matches(source):
            return False
        self._forget(rel)
        self._make_room(target)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        self.stamps[rel] = _stamp(target, old.sha)
        return True

    def reuse_all(self, published: dict[str, FileStamp]) -> list[str]:
        """`reuse` for many pages at once; the ones that could not be supplied."""
        if not self.trusted:
            return [rel for rel, stamp in published.items() if not self.reuse(rel, stamp)]
        base, stale = self.base, []
        for rel, stamp in published.items():
            # the spare's record holds the very stamps published before: identity settles most
            if base.get(rel) is stamp or base.get(rel) == stamp:
                self.stamps[rel] = stamp
            else:
                stale.append(rel)
        return [rel for rel in stale if not self.reuse(rel, published[rel])]

    def copy_tree(self, source: Path, rel: str, *, inside: Path) -> None:
        """Copy the files `static_files` finds under `source` to `rel`."""
        for src in static_files(source, inside=inside)[0]:
            self.write("/".join([rel, *src.relative_to(source).parts]), src.read_bytes())

    def _prune(self) -> dict[str, FolderStamp]:
        """Remove from the tree being built whatever this build did not publish; the stamps of
        its folders, for the next build that takes it as a spare ({}: not known)."""
        if self._fresh:  # nothing to look for, and its folders are all known
            return stamp_folders(os.fspath(self.tmp), self.stamps)
        if self.trusted:
            for rel in set(self.base) - set(self.stamps):
                _remove(self.path(rel))
                _remove_empty_parents(self.tmp, self.path(rel).parent)
            return {}
        return prune_tree(os.fspath(self.tmp), self.stamps, self._was, self._held)

    def commit(self) -> None:
        self.folders = self._prune()
        if self.out.is_dir() and not self.out.is_symlink():
            if _exchange(self.tmp, self.out):
                self._swapped_out = self.spare is not None
            else:
                self.tmp = self._two_renames()
            if not self._swapped_out:
                remove_tree(self.tmp, ignore_errors=True)
        else:
            if self.out.is_symlink():
                os.unlink(self.out)
            os.rename(self.tmp, self.out)
        self._committed = True

    def _two_renames(self) -> Path:
        """The swap where the file system has no atomic exchange (SPEC §6 asks for one): for a
        moment the output path holds nothing.  Said once a process; a new site that cannot be
        moved in puts the old one back, and one killed in between is put back by the next
        build (`_remove_leftovers`).  Returns where the old site went."""
        global _warned_two_renames
        if not _warned_two_renames:
            _warned_two_renames = True
            print(
                f"sitegen: warning: the file system of {self.parent} cannot swap folders atomically;"
                " publishing with two renames, so for a moment the output is missing",
                file=sys.stderr,
            )
        old = self.parent / f".{self.out.name}{OLD_MARK}{os.getpid()}"
        os.rename(self.out, old)
        try:
            os.rename(self.tmp, self.out)
        except OSError:
            os.rename(old, self.out)
            raise
        return old

    def settle(
        self, old_manifest: dict[str, FileStamp] | None, old_folders: dict[str, FolderStamp] | None = None
    ) -> None:
        """Keep the tree the swap took out as the next spare; `old_manifest` is what it held,
        None if that is not known (the cache described another output): then the next build
        looks at every file of it rather than trust a record.  `old_folders`: the stamps of its
        folders when it was published, if known."""
        if self._swapped_out and self.spare is not None:
            self._swapped_out = False
            try:
                os.rename(self.tmp, self.spare)
            except OSError:  # the site is out all the same; the next build writes a whole tree
                remove_tree(self.tmp, ignore_errors=True)
                return
            record = (dict(old_manifest), dict(old_folders or {})) if old_manifest is not None else None
            self._record.save(record, defer=self.defer)
        elif self.defer and self.spare is not None and not self.spare.exists():
            # The first output of a `watch`: a spare made now, of links, keeps the first edit quick.
            try:
                _mirror(self.out, self.tmp, self.stamps)
                os.rename(self.tmp, self.spare)
            except OSError:
                remove_tree(self.tmp, ignore_errors=True)  # then the first edit makes it
                return
            self._record.save((dict(self.stamps), {}), defer=True)


BUILDING = ".building"
OTHER_SPARES = 2  # kept besides this output's: a preview folder or two, an output moved away


def _last_used(spares: Path, name: str) -> int:
    """When a spare was last kept: its record is written each time, its folder is not."""
    for path in (spares / f"{name}.pickle", spares / name):
        with contextlib.suppress(OSError):
            return os.stat(path).st_mtime_ns
    return 0


def _retire_spares(spares: Path, own: str) -> None:
    """Remove the spares of all but the outputs built into most lately.  Each is a whole copy
    of a site (hundreds of MB for a big one), and one whose output was deleted or moved, or
    was a one-off preview, would otherwise be kept for ever."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(spares):
            name = entry.name
            building = name.endswith(BUILDING)  # another build's, bringing it up to date now
            spare = name.startswith("spare-") and entry.is_dir(follow_symlinks=False)
            if spare and name != own and not building:
                found.append((_last_used(spares, name), name))
    for _, name in sorted(found, reverse=True)[OTHER_SPARES:]:
        remove_tree(spares / name, ignore_errors=True)
        for record in (f"{name}.pickle", f"{name}.delta.pickle"):
            with contextlib.suppress(OSError):
                os.unlink(spares / record)


def _mirror(tree: Path, into: Path, stamps: dict[str, FileStamp]) -> None:
    """Hard links to every published file of tree, under into (a .building name till done)."""
    made: set[str] = set()
    for rel in stamps:
        folder = os.path.dirname(os.path.join(into, rel))
        if folder not in made:
            make_folders(folder)
            made.add(folder)
        os.link(os.path.join(tree, rel), os.path.join(into, rel))


def _usable(folder: Path) -> bool:
    """A private folder of this user's to keep a spare in (one left by a build as root is not)."""
    return private_dir(folder) and os.access(folder, os.W_OK | os.X_OK)


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        remove_tree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _clear_way(top: Path, folder: Path) -> None:
    for step in reversed([folder, *folder.parents]):
        if step.is_relative_to(top) and step != top and (step.is_symlink() or step.is_file()):
            os.unlink(step)
            return


def _remove_empty_parents(top: Path, folder: Path) -> None:
    while folder != top and folder.is_relative_to(top):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent


def _spare_record(record: object) -> tuple[dict[str, FileStamp] | None, dict[str, FolderStamp]]:
    """A spare's record: the files it held as published and its folders' stamps, as far as known."""
    if isinstance(record, tuple) and len(record) == 2 and isinstance(record[0], dict):
        return record[0], record[1] if isinstance(record[1], dict) else {}
    return None, {}  # none (`settle` without a manifest), or unreadable: nothing in the spare is trusted
