"""Worker processes: the collector settings they run with, and the parent's own while it builds."""

from __future__ import annotations

import gc
import signal

import pytest

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


class _TwoArgumentError(Exception):
    """Cannot be unpickled (pickle calls it with one argument): sent across a pool's pipe as
    it is, it kills the pool's result thread and the pool waits for ever."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(first)
        self.second = second


@workers.reported
def _fails(_job: object) -> None:
    raise _TwoArgumentError("broken", "article")


def test_an_exception_in_a_worker_comes_back_as_text_not_a_hang() -> None:
    signal.alarm(60)  # a hang fails the test instead of the suite
    try:
        with workers.pool(2) as pool, pytest.raises(workers.WorkerFailed) as failure:
            pool.map(_fails, [("content/articles/a.md", "hash")])
    finally:
        signal.alarm(0)
    assert str(failure.value) == "_TwoArgumentError: broken"
    assert "Traceback" in failure.value.trace and "_fails" in failure.value.trace


def test_an_internal_error_in_a_build_worker_is_reported_and_the_build_ends(
    fixture_site, tmp_path, monkeypatch, capsys
) -> None:
    from conftest import write_files

    import sitegen.engine
    from sitegen.cli import main

    article = "---\ntitle: A{}\ndate: 2021-03-06\n---\nText.\n"
    write_files(fixture_site, {f"content/articles/a{i:02}.md": article.format(i) for i in range(40)})

    def broken(*_args: object, **_kw: object) -> None:
        raise _TwoArgumentError("broken", "article")

    monkeypatch.setattr(sitegen.engine, "process_article", broken)  # the forked workers inherit it
    signal.alarm(120)
    try:
        code = main(["build", str(fixture_site), "--out", str(tmp_path / "out"), "--jobs", "2"])
    finally:
        signal.alarm(0)
    assert code == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "_TwoArgumentError: broken" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _slow(_job: object) -> int:
    import time

    time.sleep(0.2)
    return 1


def test_a_pool_left_with_a_half_written_result_stops_at_once() -> None:
    # What a worker killed in the middle of writing a result leaves in the results pipe: a
    # length and a few bytes of the message.  Pool.terminate() waited for the rest for ever.
    import os
    import struct
    import time

    signal.alarm(60)  # a hang fails the test instead of the suite
    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt), workers.pool(2) as pool:
            results = pool.imap_unordered(_slow, range(8))
            next(results)
            os.write(pool._outqueue._writer.fileno(), struct.pack("!i", 100_000) + b"half")
            processes = list(pool._pool)
            raise KeyboardInterrupt
        assert time.monotonic() - started < 5
        assert all(p.exitcode is not None for p in processes)  # killed and reaped
    finally:
        signal.alarm(0)
