"""The persistent build cache under SITE/.sitegen-cache/ (SPEC §8).

One file per mode holds, for each article, what its last check (and render) produced and
what it depended on; the manifest holds what the last published output contained, so
unchanged pages are hard-linked from it instead of being rendered again.  The file carries
a checksum and the sitegen version: a corrupt, foreign or stale cache is ignored, never
trusted, and rewritten after the next successful run.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sitegen import __version__
from sitegen.grammar import private_dir

CACHE_DIR = ".sitegen-cache"
# The format: a new one never reads an old one.  5: keys cover more of what pages show (an
# article's checks.json entries, every field of its list entry, the site's own stylesheet) and
# outcomes citing a missing source or fact depend on the source ids or fact names: no key made
# under 4 is trusted.  6: the key of all the site-wide pages' inputs (CacheData.page_inputs).
# 7: an outcome's fact definitions packed as tuples (facts.PackedFact).  8: the output's folder
# stamps (CacheData.folders, a spare's record and the no-op snapshot hold them; prune.py), a
# Rendered's page-only fields packed, FileStamp a tuple.
_MAGIC = b"sitegen-cache 8\n"


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def digest_pieces(pieces: list[bytes]) -> str:
    """digest(b"".join(pieces)), without joining them."""
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece)
    h.update(b"\0")
    return h.hexdigest()


class FileStamp(NamedTuple):
    """An output file as it was published: its content hash and what stat said.  A tuple: a
    big site's manifest is read and written several times a build, and a tuple class
    unpickles in half the time of a dataclass."""

    sha: str
    size: int
    mtime_ns: int
    inode: int

    def matches(self, path: Path | str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns, st.st_ino) == (self.size, self.mtime_ns, self.inode)


_CHUNK = 256  # entries per pickle in the cache file


@dataclass
class CacheData:
    """What the engine keeps between runs. Copies share entries: runs replace them, never change them."""

    env: str = ""  # hash of everything every article depends on (config, templates, version, mode)
    entries: dict[str, Any] = field(default_factory=dict)  # article path -> engine's entry
    manifest: dict[str, FileStamp] = field(default_factory=dict)  # output path -> stamp
    folders: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # its folders' stamps (prune.py)
    out: str = ""  # the output directory the manifest describes
    page_keys: dict[str, str] = field(default_factory=dict)  # site-wide page -> key of what made it
    static_key: str = ""  # the static files that output was made with
    generation: str = ""  # new with every publish: which output the manifest describes
    page_inputs: str = ""  # a key of all that page_keys were worked out from ("": not known)
    templates_ok: str = ""  # the env under which every site template last compiled (no SG902)

    def __getstate__(self) -> dict[str, Any]:
        # The entries are pickled a few hundred at a time: one pickle of a big site's entries
        # keeps a memo of every object in them (more memory than the entries themselves), and
        # one pickle per entry looks every class up again for each of them.
        state = dict(self.__dict__)
        paths = list(self.entries)
        state["entries"] = [
            (chunk, pickle.dumps([self.entries[p] for p in chunk], protocol=pickle.HIGHEST_PROTOCOL))
            for chunk in (paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK))
        ]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(vars(CacheData()))  # any field the writer did not have: its default
        entries: dict[str, Any] = {}
        for paths, blob in state["entries"]:
            entries.update(zip(paths, pickle.loads(blob), strict=True))
        state["entries"] = entries
        self.__dict__.update(state)

    def __copy__(self) -> CacheData:
        return CacheData(
            self.env,
            dict(self.entries),
            dict(self.manifest),
            dict(self.folders),
            self.out,
            dict(self.page_keys),
            self.static_key,
            self.generation,
            self.page_inputs,
            self.templates_ok,
        )


class Cache:
    """One pickled object in the site's private cache folder, checksummed and versioned.

    A `CacheData` is written as a base file plus a small delta beside it: the entries that
    differ from the base, and everything else.  A one-article edit then writes a few
    kilobytes instead of the whole cache; the base is written again once the delta has
    grown to a tenth of it.  A delta is bound to its base by the base's checksum.
    """

    def __init__(self, root: Path, name: str, *, enabled: bool = True) -> None:
        self.path = root / CACHE_DIR / f"{name}.pickle"
        self.delta = root / CACHE_DIR / f"{name}.delta.pickle"
        self.enabled = enabled
        self.from_memory = False  # the last read came from what this process wrote

    # What this process last wrote, by path: a long-running `watch` need not read it back.
    _written: dict[Path, tuple[tuple | None, Any]] = {}
    # Saves a `watch` put off until it is idle: a big site's cache takes a second to write.
    _pending: dict[Path, Cache] = {}
    # The base file each CacheData delta is written against: its checksum, stat and entries.
    _bases: dict[Path, tuple[bytes, tuple | None, dict[str, Any]]] = {}
    # The generation of the CacheData last read from the files, and their stat when read.
    _seen: dict[Path, tuple[tuple | None, str]] = {}

    def _stat(self) -> tuple | None:
        both: list[tuple[int, int, int] | None] = []
        for path in (self.path, self.delta):
            try:
                st = path.stat()
            except OSError:
                both.append(None)
                continue
            both.append((st.st_size, st.st_mtime_ns, st.st_ino))
        return None if both == [None, None] else tuple(both)

    def read(self) -> Any:
        """The stored object, or None when there is none that can be trusted."""
        if not self.enabled:
            return None
        remembered = self._written.get(self.path)  # this process's own: no file needed yet
        self.from_memory = remembered is not None and remembered[0] == self._stat()
        if remembered is not None and self.from_memory:
            return copy.copy(remembered[1])
        if not private_dir(self.path.parent):
            return None  # pickle is only read from the user's own, private folder
        base_stat = self._stat()
        loaded = _load(self.path)
        if loaded is None:
            return None
        checksum, data = loaded
        if isinstance(data, CacheData):
            Cache._bases[self.path] = (checksum, base_stat[0] if base_stat else None, dict(data.entries))
            _apply_delta(data, checksum, _load(self.delta))
            Cache._seen[self.path] = (base_stat, data.generation)
        return data

    def generation(self) -> str | None:
        """The generation of the stored CacheData (None if there is none), read again only
        if the files changed since this process read or wrote them: a quick `watch` rebuild
        asks, and unpickling a big site's cache to answer would take a second."""
        if not self.enabled:
            return None
        stat = self._stat()
        remembered = self._written.get(self.path)  # what this process wrote (or put off) comes first
        seen = Cache._seen.get(self.path)
        if (remembered is None or remembered[0] != stat) and seen is not None and seen[0] == stat:
            return seen[1] if stat is not None else None
        data = self.read()
        return data.generation if isinstance(data, CacheData) else None

    def load(self, env: str) -> CacheData:
        data = self.read()
        if not isinstance(data, CacheData):
            return CacheData(env=env)
        if data.env != env:
            # the output it describes is still there
            kept = CacheData(env=env, manifest=data.manifest, folders=data.folders, out=data.out)
            kept.generation = data.generation
            return kept
        return data

    def save(self, data: object, *, defer: bool = False) -> None:
        """Write data; with `defer`, only remember it until `flush_deferred` (or the next save)."""
        if not self.enabled:
            return
        if defer:
            self._written[self.path] = (self._stat(), copy.copy(data))
            Cache._pending[self.path] = self
            return
        Cache._pending.pop(self.path, None)
        self._write(data)

    def forget(self) -> None:
        """No stored object any more (and none waiting to be written)."""
        Cache._pending.pop(self.path, None)
        self._written.pop(self.path, None)
        Cache._bases.pop(self.path, None)
        Cache._seen.pop(self.path, None)
        for path in (self.path, self.delta):
            if self.enabled and path.exists():
                with contextlib.suppress(OSError):
                    path.unlink()

    @classmethod
    def flush_deferred(cls) -> None:
        """Write what was put off, unless another process wrote the file in the meantime."""
        for path, cache in list(cls._pending.items()):
            del cls._pending[path]
            stamp, data = cls._written.get(path, (None, None))
            if data is not None and stamp == cache._stat():
                cache._write(data)

    def _write(self, data: object) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            _sweep(self.path.parent)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n")
            delta = self._delta_of(data) if isinstance(data, CacheData) else None
            if delta is not None:
                _store(self.delta, delta)
            else:
                checksum = _store(self.path, data)
                with contextlib.suppress(FileNotFoundError):
                    self.delta.unlink()
                if isinstance(data, CacheData):
                    stat = self._stat()
                    Cache._bases[self.path] = (checksum, stat[0] if stat else None, dict(data.entries))
            stamp = self._stat()
            if stamp is not None:
                self._written[self.path] = (stamp, copy.copy(data))
        except OSError:
            pass  # a read-only site still builds; it just does not get faster

    def _delta_of(self, data: CacheData) -> Delta | None:
        """What data adds to the base file, or None when the base itself should be written."""
        known = Cache._bases.get(self.path)
        stat = self._stat()
        if known is None or stat is None or stat[0] != known[1]:
            return None  # no base, or not the one this process read or wrote
        checksum, _, entries = known
        changed = {p: e for p, e in data.entries.items() if entries.get(p) is not e}
        removed = [p for p in entries if p not in data.entries]
        if len(changed) + len(removed) > max(100, len(entries) // 10):
            return None
        rest = copy.copy(data)
        rest.entries = {}
        return Delta(checksum, changed, removed, rest)


@dataclass
class Delta:
    """A CacheData as the changes to a base file (see Cache)."""

    base: bytes  # the checksum of the base it applies to
    changed: dict[str, Any]
    removed: list[str]
    rest: CacheData  # everything but the entries


def _apply_delta(data: CacheData, checksum: bytes, loaded: tuple[bytes, Any] | None) -> None:
    if loaded is None or not isinstance(loaded[1], Delta) or loaded[1].base != checksum:
        return  # none, or one written against another base: the base alone is still valid
    delta: Delta = loaded[1]
    entries = data.entries
    for path in delta.removed:
        entries.pop(path, None)
    entries.update(delta.changed)
    for name, value in vars(delta.rest).items():  # all but the entries: the delta holds them whole
        if name != "entries":
            setattr(data, name, value)


def _load(path: Path) -> tuple[bytes, Any] | None:
    try:
        blob = path.read_bytes()
        end = blob.index(b"\n\n")
        magic, version, checksum = blob[:end].split(b"\n")
        body = memoryview(blob)[end + 2 :]  # not a copy: a big site's cache is tens of megabytes
        if magic + b"\n" != _MAGIC or version.decode() != __version__:
            return None
        if hashlib.sha256(body).hexdigest().encode() != checksum:
            return None  # torn or edited: start again
        with _no_collection():
            return checksum, pickle.loads(body)
    except Exception:  # noqa: BLE001 - any unreadable cache is simply not used
        return None


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Unpickling a big site's cache makes a million objects, none of them garbage: the
    collector's passes over them took two thirds of the time.  It is off meanwhile, and
    what was made is frozen (kept out of later passes), or the first collection after it
    would scan it all anyway; the objects are still freed when nothing refers to them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_TMP = ".tmp-"
_swept: set[Path] = set()


def _sweep(folder: Path) -> None:
    """Remove the temporary files of writes a killed process never finished (SPEC §6: the
    next build removes an interrupted one's leftovers), once a process; those of a process
    still running, whose pid they carry, are its own to finish."""
    if folder in _swept:
        return
    _swept.add(folder)
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(_TMP) and not _still_writing(entry.name[len(_TMP) :]):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _still_writing(rest: str) -> bool:
    pid = rest.partition("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, say: alive
        return True
    return True


def _store(path: Path, data: object) -> bytes:
    """Write atomically (a reader sees the old file or the new one); the new checksum."""
    body = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    checksum = hashlib.sha256(body).hexdigest().encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_TMP}{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + __version__.encode() + b"\n" + checksum + b"\n\n" + body)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return checksum
