"""Worker processes: the collector settings they run with, and the parent's own while it builds."""

from __future__ import annotations

import gc
import signal

from sitegen import workers


def _collector_state() -> tuple[tuple[int, int, int], int, object]:
    return gc.get_threshold(), gc.get_freeze_count(), signal.getsignal(signal.SIGINT)


def test_workers_freeze_what_they_inherit_and_collect_less_often() -> None:
    with workers.pool(1) as pool:
        thresholds, frozen, sigint = pool.apply(_collector_state)
    assert thresholds == workers.THRESHOLDS
    assert frozen > 0
    assert sigint == signal.SIG_IGN  # Ctrl-C is the parent's to handle


def test_fewer_collections_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with workers.fewer_collections():
        assert gc.get_threshold() == workers.THRESHOLDS
    assert gc.get_threshold() == before
    try:
        with workers.fewer_collections():
            raise KeyError("interrupted")
    except KeyError:
        pass
    assert gc.get_threshold() == before
