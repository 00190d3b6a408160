#!/usr/bin/env python3
"""Compare two sitegen checkouts' cold builds, timed in turn so that both see the same machine.

    python bench/interleave.py SITE --old DIR --new DIR [--hugo-site DIR] [--jobs 1,2] [--reps 3]

SITE is a site written by bench/gen.py (the --hugo-site one by `gen.py --strip`); --old and
--new are checkouts of this repository (e.g. a `git worktree`), each run as
`python -m sitegen` with its own directory first on PYTHONPATH.  Each round times the floor,
then for each --jobs the old and the new cold build (taking turns at going first; the
disks are synced before each command), then Hugo; the medians and the ratios
to the floor and to Hugo are printed, with each command's CPU time (user + system, its
workers included) and the new ÷ old ratio of both.  On a shared machine whose speed drifts by more than
a change is worth, this says more than two runs of bench/run.py an hour apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Timing(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the command and every process it waited for


def timed(cmd: list[str], extra_env: dict[str, str] | None = None) -> Timing:
    # the last command's pages are written back (and the last output's deletion done) first:
    # otherwise that work lands in whichever build runs next
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**ENV, **(extra_env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def cold_build(site: Path, checkout: Path, jobs: str) -> Timing:
    shutil.rmtree(site / ".sitegen-cache", ignore_errors=True)
    shutil.rmtree(site / "public", ignore_errors=True)
    cmd = [sys.executable, "-m", "sitegen", "build", str(site), "--jobs", jobs]
    return timed(cmd, {"PYTHONPATH": str(checkout)})


def one_round(args: argparse.Namespace, scratch: Path, times: dict[str, list[Timing]], number: int) -> None:
    floor_out = scratch / "floor"
    shutil.rmtree(floor_out, ignore_errors=True)
    floor_cmd = [sys.executable, str(BENCH / "floor.py"), str(args.site), "--out", str(floor_out)]
    times.setdefault("floor", []).append(timed(floor_cmd))
    # old and new take turns at going first, so that neither always follows the other
    pair = [("old", args.old), ("new", args.new)]
    for jobs in args.jobs.split(","):
        for name, checkout in pair if number % 2 == 0 else pair[::-1]:
            times.setdefault(f"{name} j{jobs}", []).append(cold_build(args.site, checkout, jobs))
    if args.hugo_site:
        hugo_out = scratch / "hugo"
        shutil.rmtree(hugo_out, ignore_errors=True)
        hugo_cmd = ["hugo", "--source", str(args.hugo_site), "--destination", str(hugo_out), "--quiet"]
        times.setdefault("hugo", []).append(timed(hugo_cmd))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--old", type=Path, required=True, help="checkout of the code before")
    parser.add_argument("--new", type=Path, required=True, help="checkout of the code after")
    parser.add_argument("--hugo-site", type=Path, help="the same articles as a Hugo site")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    times: dict[str, list[Timing]] = {}
    with tempfile.TemporaryDirectory(prefix="sitegen-interleave-") as scratch:
        for number in range(args.reps):
            one_round(args, Path(scratch), times, number)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v[-1].wall:.1f}s" for k, v in times.items()))
    medians = {key: statistics.median(t.wall for t in values) for key, values in times.items()}
    cpu = {key: statistics.median(t.cpu for t in values) for key, values in times.items()}
    for key, value in medians.items():
        line = f"{key:8s} {value:7.2f}s  ÷ floor {value / medians['floor']:.3f}"
        if "hugo" in medians:
            line += f"  ÷ hugo {value / medians['hugo']:.2f}"
        print(f"{line}  cpu {cpu[key]:7.2f}s")
    # CPU time moves less than wall time with a shared machine's load: the change itself
    for jobs in args.jobs.split(","):
        cpu_ratio = cpu[f"new j{jobs}"] / cpu[f"old j{jobs}"]
        wall_ratio = medians[f"new j{jobs}"] / medians[f"old j{jobs}"]
        print(f"--jobs {jobs}: new ÷ old, cpu {cpu_ratio:.3f}, wall {wall_ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
