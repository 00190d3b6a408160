"""Worker processes for parallel builds: forked, so they share the loaded site instead of
having it pickled for each; stopped by the parent alone; never outliving it."""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.pool import TERMINATE, Pool
from typing import Any

# Parsing and rendering an article makes many short-lived objects and few reference cycles.
# Python's default, a young collection every 700 allocations (each also visiting the older
# generations' survivors now and then), cost about a tenth of the time per article; with
# 50,000 it is a few hundred collections a build, and cyclic garbage waits a little longer.
THRESHOLDS = (50_000, 20, 100)


def cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()
) -> Iterator[Pool]:
    """A pool of forked workers for a `with` block; left by an exception (Ctrl-C in a build,
    a stop in `watch`), its workers are killed and nothing waits for them."""
    workers_pool = multiprocessing.get_context("fork").Pool(workers, _start, (initializer, initargs))
    try:
        yield workers_pool
    except BaseException:
        _abandon(workers_pool)
        raise
    workers_pool.terminate()  # every task is done: the workers sit idle


def _abandon(workers_pool: Pool) -> None:
    """Kill the workers of a pool interrupted with tasks in flight, without Pool.terminate.

    terminate() waits for the pool's result thread, which then reads what is left in the
    results pipe; a worker killed in the middle of writing a result (a page is ~16 KB, more
    than one write) leaves half a message there, and the thread, and so the build, waited
    for the rest for ever (1 in ~150 interrupted `watch` starts).  The pool's threads are
    daemons and are left to wait; the workers are killed and reaped here."""
    internals = ("_state", "_worker_handler", "_pool", "_terminate")
    if not all(hasattr(workers_pool, name) for name in internals):  # another Python's Pool
        workers_pool.terminate()
        return
    workers_pool._state = TERMINATE  # type: ignore[attr-defined]
    workers_pool._worker_handler._state = TERMINATE  # type: ignore[attr-defined]  # no replacements
    workers_pool._terminate.cancel()  # type: ignore[attr-defined]  # nor a terminate() at exit
    processes = list(workers_pool._pool)  # type: ignore[attr-defined]
    for process in processes:
        if process.exitcode is None:
            process.kill()
    for process in processes:
        process.join(timeout=1.0)


def _start(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what stops, not the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    gc.freeze()  # what the parent had is never garbage here: no collection walks it again
    gc.set_threshold(*THRESHOLDS)
    if initializer is not None:
        initializer(*initargs)


def _die_with_parent() -> None:
    """Linux: a worker is killed when the build that started it is (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """The workers' collector thresholds, for the same work done in this process."""
    old = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


class WorkerFailed(RuntimeError):
    """An exception raised in a worker, as text.  The exception itself could fail to unpickle
    in the parent (one whose constructor takes two arguments does), which kills the pool's
    result thread and leaves the build waiting for ever."""

    def __init__(self, summary: str, trace: str = "") -> None:
        super().__init__(summary, trace)
        self.summary, self.trace = summary, trace

    def __str__(self) -> str:
        return self.summary


def reported(work: Callable[..., Any]) -> Callable[..., Any]:
    """`work`, run in a worker, with any exception it raises sent back as a WorkerFailed."""

    @functools.wraps(work)
    def run(*args: Any) -> Any:
        try:
            return work(*args)
        except Exception as exc:
            raise WorkerFailed(f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None

    return run
