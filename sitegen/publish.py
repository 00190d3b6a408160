"""Atomic publishing: build beside the old output, then swap in one system call (SPEC §6).

At every instant the output path holds the complete old site or the complete new one.
The swap is Linux `renameat2(RENAME_EXCHANGE)`; where the file system lacks it we fall
back to two renames and say so.  Leftovers of a killed build are removed by the next one.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import sys
import uuid
from pathlib import Path

from sitegen.cache import FileStamp, digest

TMP_MARK = ".sitegen-tmp-"
OLD_MARK = ".sitegen-old-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _stamp(path: Path, sha: str) -> FileStamp:
    st = path.stat()
    return FileStamp(sha, st.st_size, st.st_mtime_ns, st.st_ino)


class PublishError(Exception):
    pass


def check_out_dir(root: Path, out: Path) -> str | None:
    """Why an --out may not be used, or None. Output must never cover the site's own files."""
    site, target = root.resolve(), out.resolve()
    if target == site:
        return "--out is the site directory itself"
    for own in ("content", "templates", "static", "site.toml"):
        mine = site / own
        if mine.is_relative_to(target):
            return f"--out {out} contains the site's {own}"
        if target.is_relative_to(mine):
            return f"--out {out} is inside the site's {own}/"
    if target.exists() and not target.is_dir():
        return f"--out {out} exists and is not a directory"
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
    """`with Publisher(out) as p: p.write(...); p.commit()` — nothing changes unless commit runs."""

    def __init__(self, out: Path) -> None:
        self.out = out.absolute()
        self.parent = self.out.parent
        self.tmp = self.parent / f".{self.out.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd: int | None = None
        self._committed = False
        self.stamps: dict[str, FileStamp] = {}  # what was published, for the next build's manifest

    def __enter__(self) -> Publisher:
        self.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        self._remove_leftovers()
        self.tmp.mkdir()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if not self._committed:
                shutil.rmtree(self.tmp, ignore_errors=True)
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
        for entry in self.parent.iterdir():
            name = entry.name
            if name.startswith(prefix + TMP_MARK) or name.startswith(prefix + OLD_MARK):
                shutil.rmtree(entry, ignore_errors=True)

    def path(self, rel: str) -> Path:
        """Where a relative output path goes; anything that would leave the output is refused."""
        if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
            raise PublishError(f"refusing to write {rel!r}")
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise PublishError(f"refusing to write {rel!r}")
        return self.tmp.joinpath(*parts)

    def write(self, rel: str, data: bytes) -> None:
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a page written again (an article re-checked with the real facts)
            target.unlink()
        with open(target, "xb") as handle:
            handle.write(data)
        self.stamps[rel] = _stamp(target, digest(data))

    def reuse(self, rel: str, old: FileStamp) -> bool:
        """Hard-link an unchanged page from the current output; False if it is not there as published."""
        source = self.out / rel
        if self.out.is_symlink() or not old.matches(source):
            return False
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        self.stamps[rel] = _stamp(target, old.sha)
        return True

    def copy_tree(self, source: Path, rel: str, *, inside: Path) -> int:
        """Copy regular files under `source`; links and anything resolving outside `inside` are skipped."""
        count = 0
        base = inside.resolve()
        for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))
            )
            for name in sorted(filenames):
                src = Path(dirpath) / name
                if name.startswith(".") or src.is_symlink() or not src.resolve().is_relative_to(base):
                    continue
                target_rel = "/".join([rel, *src.relative_to(source).parts])
                data = src.read_bytes()
                self.write(target_rel, data)
                count += 1
        return count

    def commit(self) -> None:
        if self.out.is_dir() and not self.out.is_symlink():
            if not _exchange(self.tmp, self.out):
                old = self.parent / f".{self.out.name}{OLD_MARK}{os.getpid()}"
                os.rename(self.out, old)
                os.rename(self.tmp, self.out)
                self.tmp = old
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            if self.out.is_symlink():
                os.unlink(self.out)
            os.rename(self.tmp, self.out)
        self._committed = True
