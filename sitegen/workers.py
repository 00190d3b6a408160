"""Worker processes for parallel builds: forked, so they share the loaded site instead of
having it pickled for each; stopped by the parent alone; never outliving it."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.pool import Pool


def pool(workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> Pool:
    return multiprocessing.get_context("fork").Pool(workers, _start, (initializer, initargs))


def _start(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what stops, not the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    if initializer is not None:
        initializer(*initargs)


def _die_with_parent() -> None:
    """Linux: a worker is killed when the build that started it is (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
