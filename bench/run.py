#!/usr/bin/env python3
"""Run the whole sitegen benchmark (SPEC §8) on one synthetic site and report it.

    python bench/run.py --articles 10000 [--reps 3] [--seed 1] [--keep DIR] [--json OUT.json]
                        [--skip-watch] [--skip-hugo] [--timeout S] [--watch-edits 5]

Generates the site once with bench/gen.py (and the stripped Hugo variant with --strip),
then times, as subprocesses, the floor (bench/floor.py --jobs 1 and 2), cold full builds
(--jobs 1 and 2), `sitegen check` cold and warm, a no-op rebuild, a one-article edit
rebuild, `sitegen watch` (file write -> new text served over HTTP) and a cold Hugo build.
Prints a table and the targets with pass/fail, and writes every number to a JSON file
(default bench/out/results-<articles>.json).  Exit status: 0 when every measure ran, 1
when one failed (the table says which), 2 when the site could not be generated.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TIME_BIN = "/usr/bin/time"
POLL = 0.005  # seconds between HTTP polls while waiting for an edit to be served
WATCH_EDIT_TIMEOUT = 30.0  # seconds an edit may take to be served
# Commands run as installed: with Python's bytecode cache, whatever the calling shell says.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
EDIT_SENTENCE = "\nThe desk added this sentence for the benchmark's edit rebuild.\n"


# ------------------------------------------------------------------ measuring one command


@dataclass
class Sample:
    seconds: float | None  # wall time, time.perf_counter() around the subprocess
    rss_mb: float | None  # peak RSS of the process tree's largest process
    ok: bool
    error: str = ""
    stdout: str = ""
    stderr_tail: str = ""
    reported_seconds: float | None = None  # what the command itself said it took, if it did


@dataclass
class Measure:
    key: str
    label: str
    cmd: list[str]
    samples: list[Sample] = field(default_factory=list)
    note: str = ""
    skipped: str = ""  # why it was not run

    @property
    def ok(self) -> bool:
        return not self.skipped and bool(self.samples) and all(s.ok for s in self.samples)

    @property
    def error(self) -> str:
        return next((s.error for s in self.samples if not s.ok), "" if self.samples else "not run")

    @property
    def seconds(self) -> float | None:
        values = [s.seconds for s in self.samples if s.seconds is not None]
        return statistics.median(values) if self.ok and values else None

    @property
    def rss_mb(self) -> float | None:
        values = [s.rss_mb for s in self.samples if s.rss_mb is not None]
        return statistics.median(values) if self.ok and values else None

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "cmd": self.cmd,
            "ok": self.ok,
            "skipped": self.skipped or None,
            "error": None if self.ok or self.skipped else self.error,
            "note": self.note or None,
            "median_seconds": self.seconds,
            "median_rss_mb": self.rss_mb,
            "samples": [asdict(s) for s in self.samples],
        }


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class Runner:
    """Runs a command with a timeout, its output in files, and measures wall time and peak RSS.

    Peak RSS comes from `/usr/bin/time -f "%e %M"` when it exists, else from the rusage that
    os.wait4() returns for the child.  Either way it is the largest single process of the
    command's tree (a worker pool's processes are not added up).
    """

    def __init__(self, scratch: Path, timeout: float) -> None:
        self.scratch, self.timeout = scratch, timeout
        self.time_bin = TIME_BIN if os.access(TIME_BIN, os.X_OK) else None
        self.method = "/usr/bin/time -f '%e %M'" if self.time_bin else "os.wait4 rusage"

    def run(self, cmd: list[str], timeout: float | None = None) -> Sample:
        timeout = timeout or self.timeout
        out, err, rss_file = (self.scratch / name for name in ("cmd.out", "cmd.err", "cmd.rss"))
        rss_file.unlink(missing_ok=True)
        full = [self.time_bin, "-f", "%e %M", "-o", str(rss_file), *cmd] if self.time_bin else cmd
        with open(out, "wb") as fo, open(err, "wb") as fe:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(
                    full,
                    stdout=fo,
                    stderr=fe,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    env=CHILD_ENV,
                )
            except OSError as exc:
                return Sample(None, None, False, f"cannot start {cmd[0]}: {exc}")
            try:
                code, rss_kb, timed_out = self._wait(proc, timeout)
            except BaseException:  # e.g. Ctrl-C: the child is in its own session, so end it here
                _kill_group(proc)
                raise
            seconds = time.perf_counter() - start
        if self.time_bin:
            rss_kb = _time_rss(rss_file)
        sample = Sample(
            round(seconds, 4),
            round(rss_kb / 1024, 1) if rss_kb else None,
            code == 0 and not timed_out,
            stdout=out.read_text(encoding="utf-8", errors="replace")[-2000:],
            stderr_tail=_tail(err),
        )
        sample.reported_seconds = _reported(sample.stdout, sample.stderr_tail)
        if timed_out:
            sample.error = f"timed out after {timeout:g}s"
        elif code != 0:
            last = sample.stderr_tail.splitlines()[-1:] or [""]
            sample.error = f"exit {code}: {last[0][:160]}"
        return sample

    def _wait(self, proc: subprocess.Popen, timeout: float) -> tuple[int, int | None, bool]:
        """(exit code, peak RSS in KiB from wait4 or None, timed out)."""
        if self.time_bin:
            try:
                return proc.wait(timeout), None, False
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return proc.wait(), None, True
        box: dict = {}
        waiter = threading.Thread(target=lambda: box.update(r=os.wait4(proc.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(timeout)
        timed_out = waiter.is_alive()
        if timed_out:
            _kill_group(proc)
            waiter.join()
        _, status, usage = box["r"]
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        return proc.returncode, usage.ru_maxrss, timed_out


def _time_rss(path: Path) -> int | None:
    """The %M of `/usr/bin/time -f "%e %M" -o FILE` (its last line; a killed command has two)."""
    try:
        last = path.read_text().strip().splitlines()[-1]
        return int(last.split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _reported(stdout: str, stderr: str) -> float | None:
    """floor.py prints its seconds alone on stdout; sitegen's last line ends `in 1.23s` or `, 1.23s)`."""
    found = re.fullmatch(r"\s*(\d+\.\d+)\s*", stdout) or re.search(r"(?:\bin |, )(\d+\.\d+)s\)?\s*$", stderr)
    return float(found.group(1)) if found else None


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def repeat(
    runner: Runner,
    measure: Measure,
    reps: int,
    before: Callable[[int], None] | None = None,
    after: Callable[[Sample], None] | None = None,
) -> Measure:
    """Run the measure's command `reps` times; stop at the first failure."""
    for i in range(reps):
        if not once(runner, measure, i, reps, before, after):
            break
    return measure


def once(
    runner: Runner,
    measure: Measure,
    i: int,
    reps: int,
    before: Callable[[int], None] | None = None,
    after: Callable[[Sample], None] | None = None,
) -> bool:
    """The measure's `i`-th run of `reps`, unless an earlier one failed; False if it fails."""
    if measure.samples and not measure.ok:
        return False
    if before is not None:
        before(i)
    sample = runner.run(measure.cmd)
    if after is not None and sample.ok:
        after(sample)
    measure.samples.append(sample)
    shown = f"{sample.seconds:.2f}s" if sample.ok and sample.seconds is not None else sample.error
    say(f"{measure.label} [{i + 1}/{reps}] {shown}")
    return sample.ok


# ------------------------------------------------------------------ the bench


@dataclass
class Paths:
    work: Path
    site: Path
    hugo: Path
    out: Path
    floor_out: Path
    watch_out: Path
    hugo_out: Path
    scratch: Path

    @classmethod
    def under(cls, work: Path) -> Paths:
        return cls(
            work,
            work / "site",
            work / "hugo-site",
            work / "public",
            work / "public-floor",
            work / "public-watch",
            work / "public-hugo",
            work / "scratch",
        )


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ext4 without a journal (this machine's disk) skips, when it allocates an inode, the inodes
# freed in the last minute or more (`recently_deleted` in fs/ext4/ialloc.c; longer while their
# inode-table block is not yet written back).  Right after 20,000 files were deleted, writing
# 10,000 pages took 4.5 s instead of 0.8-1.2 s (os.mkdir + open + write + stat), and a cold
# sitegen build deletes its output and its cache's spare copy of that output: twice what the
# floor deletes.  A cold build on CI follows a fresh checkout, not a mass delete, so the bench
# deletes nothing while it measures: old trees are renamed aside, and deleted at the end.


class Trash:
    """Trees renamed aside while the bench runs (instant, no inode freed), deleted at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    def put(self, path: Path) -> None:
        if not (path.exists() or path.is_symlink()):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        try:
            os.rename(path, self.folder / f"{self.count}-{path.name}")
        except OSError:
            rmtree(path)

    def empty(self) -> None:
        rmtree(self.folder)


def sitegen_cmd() -> list[str]:
    beside = Path(sys.executable).parent / "sitegen"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("sitegen")
    return [found] if found else [sys.executable, "-m", "sitegen"]


class Bench:
    def __init__(self, args: argparse.Namespace, paths: Paths, runner: Runner) -> None:
        self.args, self.p, self.runner = args, paths, runner
        self.trash = Trash(paths.work / "trash")
        self.sitegen = sitegen_cmd()
        self.measures: dict[str, Measure] = {}
        self.info: dict = {}
        self.use_hugo = self.want_hugo()

    def add(self, measure: Measure) -> Measure:
        self.measures[measure.key] = measure
        return measure

    def articles(self) -> list[Path]:
        return sorted((self.p.site / "content" / "articles").glob("*.md"))

    # -------------------------------------------------------------- generate

    def generate(self) -> bool:
        gen = [sys.executable, str(BENCH / "gen.py")]
        n, seed = str(self.args.articles), str(self.args.seed)
        jobs = [("site", [*gen, str(self.p.site), "--articles", n, "--seed", seed])]
        if self.use_hugo:
            jobs.append(("hugo site", [*gen, str(self.p.hugo), "--articles", n, "--seed", seed, "--strip"]))
        for what, cmd in jobs:
            sample = self.runner.run(cmd)
            self.info[f"generate {what}"] = asdict(sample)
            if not sample.ok:
                say(f"cannot generate the {what}: {sample.error}")
                return False
            say(f"generated the {what} ({n} articles) in {sample.seconds:.1f}s")
        return True

    def want_hugo(self) -> bool:
        if self.args.skip_hugo:
            return False
        if shutil.which("hugo") is None:
            say("hugo is not on PATH; skipping the Hugo build (install it with `apt-get install hugo`)")
            return False
        return True

    # -------------------------------------------------------------- the measures

    def cold_rounds(self) -> None:
        """The cold measures (floor, check, builds, Hugo) in rounds, each once a round.

        A shared machine's speed drifts over minutes: run one after the other, each measure's
        repetitions met a different machine, and their ratios moved by ±15% from run to run.
        The order moves on by one each round, so that no measure always follows the same one
        (a build inherits the write-back and deletions of the one before it)."""
        steps = [*self.floor_steps(), self.check_step(), *self.build_steps(), *self.hugo_steps()]
        reps = self.args.reps
        for i in range(reps):
            os.sync()  # what the last round wrote is not written back during the next one's measures
            shift = i % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step(i)
        if "build_cold_j2" in self.measures and self.measures["build_cold_j2"].ok:
            # the no-op and edit rebuilds start from a --jobs 2 build's output and cache
            self.runner.run(self.build_cmd(2))

    def floor_steps(self) -> list[Callable[[int], None]]:
        steps = []
        for jobs in (1, 2):
            cmd = [sys.executable, str(BENCH / "floor.py"), str(self.p.site), "--out", str(self.p.floor_out)]
            m = self.add(Measure(f"floor_j{jobs}", f"floor --jobs {jobs}", [*cmd, "--jobs", str(jobs)]))
            steps.append(self.step(m, before=lambda _i: self.trash.put(self.p.floor_out)))
        return steps

    def step(
        self,
        m: Measure,
        before: Callable[[int], None] | None = None,
        after: Callable[[Sample], None] | None = None,
    ) -> Callable[[int], None]:
        return lambda i: once(self.runner, m, i, self.args.reps, before, after) and None

    def cold(self, _i: int = 0) -> None:
        self.trash.put(self.p.site / ".sitegen-cache")
        self.trash.put(self.p.out)

    def build_cmd(self, jobs: int) -> list[str]:
        return [*self.sitegen, "build", str(self.p.site), "--out", str(self.p.out), "--jobs", str(jobs)]

    def check_step(self) -> Callable[[int], None]:
        cmd = [*self.sitegen, "check", str(self.p.site), "--jobs", "2"]
        cold = self.add(Measure("check_cold", "sitegen check, cold", cmd))
        warm = self.add(Measure("check_warm", "sitegen check, warm", cmd))

        def check(i: int) -> None:
            if once(self.runner, cold, i, self.args.reps, before=self.cold):
                once(self.runner, warm, i, self.args.reps)
            elif not warm.samples:
                warm.skipped = "needs a good cold check"

        return check

    def build_steps(self) -> list[Callable[[int], None]]:
        steps = []
        for jobs in (1, 2):
            m = self.add(
                Measure(f"build_cold_j{jobs}", f"cold full build --jobs {jobs}", self.build_cmd(jobs))
            )
            steps.append(self.step(m, before=self.cold))
        return steps

    def noop(self) -> None:
        m = self.add(Measure("noop", "no-op rebuild", self.build_cmd(2)))
        if not self.measures["build_cold_j2"].ok:
            m.skipped = "needs a good cold build"
            return

        def after(sample: Sample) -> None:
            if "nothing changed" not in sample.stderr_tail:
                m.note = "output was republished, not left as it was"

        repeat(self.runner, m, self.args.reps, after=after)

    def edit(self) -> None:
        m = self.add(Measure("edit", "one-article edit rebuild", self.build_cmd(2)))
        files = self.articles()
        if not self.measures["build_cold_j2"].ok or not files:
            m.skipped = "needs a good cold build"
            return
        target = files[len(files) // 2]
        m.note = f"appends a sentence to {target.name}"

        def before(_i: int) -> None:
            with open(target, "a", encoding="utf-8") as f:
                f.write(EDIT_SENTENCE)

        def after(sample: Sample) -> None:
            found = re.search(r"published (\d+) articles? \((\d+) unchanged\)", sample.stderr_tail)
            if found and int(found.group(1)) - int(found.group(2)) != 1:
                m.note += f"; re-rendered {int(found.group(1)) - int(found.group(2))} articles"

        repeat(self.runner, m, self.args.reps, before=before, after=after)

    def hugo_steps(self) -> list[Callable[[int], None]]:
        cmd = ["hugo", "--source", str(self.p.hugo), "--destination", str(self.p.hugo_out), "--quiet"]
        m = self.add(Measure("hugo", "hugo cold build", cmd))
        if not self.use_hugo:
            m.skipped = "--skip-hugo" if self.args.skip_hugo else "hugo not installed (apt-get install hugo)"
            return []
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            version = subprocess.run(["hugo", "version"], capture_output=True, text=True, timeout=30)
            self.info["hugo version"] = version.stdout.strip()

        def before(_i: int) -> None:
            self.trash.put(self.p.hugo_out)
            self.trash.put(self.p.hugo / "resources")

        return [self.step(m, before=before)]

    def watch(self) -> None:
        cmd = [*self.sitegen, "watch", str(self.p.site), "--port", "0", "--out", str(self.p.watch_out)]
        m = self.add(Measure("watch", "watch: save -> served (title)", cmd))
        body = self.add(Measure("watch_body", "watch: save -> served (body)", cmd))
        first = self.add(Measure("watch_first", "watch: start -> first build", cmd))
        if self.args.skip_watch:
            m.skipped = body.skipped = first.skipped = "--skip-watch"
            return
        files = self.articles()
        if len(files) < 2:
            m.skipped = body.skipped = first.skipped = "fewer than two articles"
            return
        self.trash.put(self.p.watch_out)
        session = WatchSession(cmd, self.p.scratch, self.runner.timeout)
        try:
            session.measure(files[0], self.args.watch_edits, m, first)
            if m.ok:
                session.measure_body(files[1], self.args.watch_edits, body)
        finally:
            session.stop()
        if session.rss_mb is not None:
            for s in (*m.samples, *body.samples, *first.samples):
                s.rss_mb = session.rss_mb


# ------------------------------------------------------------------ sitegen watch


def slug_of(path: Path, text: str) -> str:
    given = re.search(r"^slug:\s*[\"']?([a-z0-9-]+)[\"']?\s*$", _front(text), re.MULTILINE)
    if given:
        return given.group(1)
    return re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "article"


def _front(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end >= 0:
            return text[: end + 1]
    return ""


_TITLE = re.compile(r'^(title:\s*")(.*)("\s*)$', re.MULTILINE)
_BUILT = re.compile(r"\] (built:|rebuilt:|build failed|internal error|cannot publish)")


class WatchSession:
    """A `sitegen watch` subprocess, its output in files; every wait is bounded."""

    def __init__(self, cmd: list[str], scratch: Path, build_timeout: float) -> None:
        self.build_timeout = build_timeout
        self.out_path, self.err_path = scratch / "watch.out", scratch / "watch.err"
        self.rss_mb: float | None = None
        self.started = time.perf_counter()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True, env=CHILD_ENV
            )

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def builds(self) -> list[str]:
        return [line for line in self.stderr().splitlines() if _BUILT.search(line)]

    def wait_for(self, predicate: Callable[[], object], timeout: float, pause: float = 0.02) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value or self.proc.poll() is not None:
                return value
            time.sleep(pause)
        return None

    def base_url(self) -> str | None:
        found = re.search(r"Serving (http://\S+/)", self.out_path.read_text(errors="replace"))
        return found.group(1) if found else None

    def start(self) -> tuple[str | None, str]:
        """(the served base URL or None, what went wrong)."""
        base = self.wait_for(self.base_url, 30.0)
        if not base:
            return None, self._why("no `Serving` line within 30s")
        built = self.wait_for(self.builds, self.build_timeout, pause=0.05)
        if not built:
            return None, self._why(f"no first build within {self.build_timeout:.0f}s")
        if "built:" not in built[0]:  # `built:` (older sitegen: `rebuilt:`)
            return None, f"first build failed: {built[0][:160]}"
        return str(base), ""

    def _why(self, what: str) -> str:
        code = self.proc.poll()
        if code is None:
            return what
        last = self.stderr().strip().splitlines()[-1:] or [""]
        return f"watch exited {code}: {last[0][:160]}"

    def measure(self, article: Path, edits: int, m: Measure, first: Measure) -> None:
        base, problem = self.start()
        self.base = base or ""
        first.samples.append(Sample(round(time.perf_counter() - self.started, 4), None, bool(base), problem))
        if not base:
            m.samples.append(Sample(None, None, False, problem))
            say(f"watch: {problem}")
            return
        say(f"watch: serving {base}; first build after {first.samples[0].seconds:.1f}s")
        original = article.read_text(encoding="utf-8")
        url = f"{base}articles/{slug_of(article, original)}/index.html"
        title = _TITLE.search(_front(original))
        if title is None or get(url) is None:
            m.samples.append(Sample(None, None, False, f"cannot find the title or fetch {url}"))
            return
        tries = self.warm_up(article, original, title, url)
        if tries is None:
            m.samples.append(Sample(None, None, False, self._why("the watcher never noticed a warm-up edit")))
            return
        m.note = f"warm-up edit noticed after {tries} write{'s' if tries > 1 else ''}"
        say(f"watch: {m.note}")
        self.timed_edits(
            m, edits, "edit", url, lambda token: self.write_title(article, original, title, token)
        )

    def timed_edits(self, m: Measure, edits: int, what: str, url: str, write: Callable[[str], None]) -> None:
        """`edits` saves, each with a new token written by `write`, timed until `url` serves it."""
        for k in range(edits):
            token = f"bench{what.replace(' ', '')}{k}x{os.getpid()}"
            builds = len(self.builds())
            start = time.perf_counter()
            write(token)
            sample = self.served(url, token, start, builds)
            sample.stderr_tail = "\n".join(self.stderr().strip().splitlines()[-3:])
            m.samples.append(sample)
            say(
                f"watch {what} [{k + 1}/{edits}] "
                + (f"{sample.seconds * 1000:.0f} ms" if sample.ok else sample.error)
            )
            if not sample.ok:
                return

    def warm_up(self, article: Path, original: str, title: re.Match, url: str) -> int | None:
        """An untimed edit, written again until the watcher reports it: the number of writes.

        `sitegen watch` starts watching only after its first build, so a change saved
        during that build or just after it can go unnoticed.
        """
        for attempt in range(1, 21):
            token = f"benchwarmup{attempt}x{os.getpid()}"
            builds, noticed = len(self.builds()), len(self.noticed(article))
            start = time.perf_counter()
            self.write_title(article, original, title, token)
            if self.wait_for(lambda n=noticed: len(self.noticed(article)) > n, 3.0):
                return attempt if self.served(url, token, start, builds).ok else None
            if self.proc.poll() is not None:
                return None
        return None

    def noticed(self, article: Path) -> list[str]:
        """The watcher's lines naming the article (`content/articles/NAME changed`)."""
        return [line for line in self.stderr().splitlines() if article.name in line]

    @staticmethod
    def write_title(article: Path, original: str, title: re.Match, token: str) -> None:
        text = original[: title.end(2)] + f" {token}" + original[title.end(2) :]
        article.write_text(text, encoding="utf-8")

    def measure_body(self, article: Path, edits: int, m: Measure) -> None:
        """Edits to the text of another article: a sentence added at its end, its page polled."""
        original = article.read_text(encoding="utf-8")
        url = f"{self.base}articles/{slug_of(article, original)}/index.html"
        m.note = f"adds a sentence to {article.name}"

        def add_sentence(token: str) -> None:
            article.write_text(original + f"\nThe desk added {token} to the story.\n", encoding="utf-8")

        self.timed_edits(m, edits, "body edit", url, add_sentence)

    def served(self, url: str, token: str, start: float, builds: int) -> Sample:
        """Poll the page until it has the token: the seconds since `start`."""
        deadline = start + WATCH_EDIT_TIMEOUT
        while time.perf_counter() < deadline:
            body = get(url)
            if body is not None and token in body:
                seconds = time.perf_counter() - start
                break
            if self.proc.poll() is not None:
                return Sample(None, None, False, self._why("watch died"))
            time.sleep(POLL)
        else:
            return Sample(None, None, False, f"not served within {WATCH_EDIT_TIMEOUT:.0f}s")
        # let the build that served it finish (its cache is saved after publishing) before the next edit
        self.wait_for(lambda: len(self.builds()) > builds, 30.0)
        time.sleep(0.3)
        return Sample(round(seconds, 4), None, True)

    def stop(self) -> None:
        self.rss_mb = vm_hwm_mb(self.proc.pid)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                say("watch did not stop within 15s of SIGINT; killing it")
                _kill_group(self.proc)
                self.proc.wait()


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError, ValueError):
        return None


def vm_hwm_mb(pid: int) -> float | None:
    """The peak RSS of a running process from /proc (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(found.group(1)) / 1024, 1) if found else None


# ------------------------------------------------------------------ report

ORDER = [
    "floor_j1",
    "floor_j2",
    "build_cold_j1",
    "build_cold_j2",
    "check_cold",
    "check_warm",
    "noop",
    "edit",
    "watch_first",
    "watch",
    "watch_body",
    "hugo",
]
HUGO_RATIO = {"build_cold_j2", "noop"}  # the rows whose target is a ratio to Hugo


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def paired(a: Measure | None, b: Measure | None) -> float | None:
    """The median of each round's own ratio (a's i-th run ÷ b's), which the drift between
    rounds does not move; None unless both ran every round."""
    if a is None or b is None or not (a.ok and b.ok) or len(a.samples) != len(b.samples):
        return None
    ratios = [
        x.seconds / y.seconds for x, y in zip(a.samples, b.samples, strict=True) if x.seconds and y.seconds
    ]
    return statistics.median(ratios) if len(ratios) == len(a.samples) else None


@dataclass
class Target:
    name: str
    value: float | None
    limit: float
    unit: str = ""
    by_round: float | None = None  # for a ratio of two cold measures: see `paired`

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        return "pass" if self.value <= self.limit else "FAIL"


def targets(ms: dict[str, Measure]) -> list[Target]:
    def sec(key: str) -> float | None:
        return ms[key].seconds if key in ms else None

    floor, hugo = sec("floor_j1"), sec("hugo")
    rss = [ms[k].rss_mb for k in ("build_cold_j1", "build_cold_j2") if k in ms and ms[k].rss_mb is not None]
    watch = sec("watch")
    watch_body = sec("watch_body")

    def rounds(key: str, base: str) -> float | None:
        return paired(ms.get(key), ms.get(base))

    return [
        Target(
            "cold full build --jobs 1 / floor",
            ratio(sec("build_cold_j1"), floor),
            1.3,
            by_round=rounds("build_cold_j1", "floor_j1"),
        ),
        Target(
            "cold full build --jobs 2 / floor",
            ratio(sec("build_cold_j2"), floor),
            0.7,
            by_round=rounds("build_cold_j2", "floor_j1"),
        ),
        Target(
            "cold check / floor",
            ratio(sec("check_cold"), floor),
            0.6,
            by_round=rounds("check_cold", "floor_j1"),
        ),
        Target("no-op rebuild / floor", ratio(sec("noop"), floor), 0.05),
        Target("one-article edit rebuild / floor", ratio(sec("edit"), floor), 0.08),
        Target("watch save -> served (title)", watch * 1000 if watch is not None else None, 150, " ms"),
        Target(
            "watch save -> served (body)", watch_body * 1000 if watch_body is not None else None, 150, " ms"
        ),
        Target("peak RSS full build", max(rss) if rss else None, 300, " MB"),
        Target(
            "cold build --jobs 2 / Hugo build",
            ratio(sec("build_cold_j2"), hugo),
            2.0,
            by_round=rounds("build_cold_j2", "hugo"),
        ),
        Target("no-op rebuild / Hugo build", ratio(sec("noop"), hugo), 0.15),
    ]


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table_rows(ms: dict[str, Measure]) -> list[list[str]]:
    floor = ms["floor_j1"].seconds if "floor_j1" in ms else None
    hugo = ms["hugo"].seconds if "hugo" in ms else None
    rows = []
    for key in [k for k in ORDER if k in ms]:
        m = ms[key]
        if m.skipped:
            note = f"skipped: {m.skipped}"
        elif not m.ok:
            note = f"FAILED: {m.error}"
        else:
            note = m.note
        by_hugo = _num(ratio(m.seconds, hugo), ".2f") if key in HUGO_RATIO else ""
        seconds = _num(m.seconds, ".3f" if key == "watch" else ".2f")
        rows.append(
            [m.label, seconds, _num(m.rss_mb, ".0f"), _num(ratio(m.seconds, floor), ".3f"), by_hugo, note]
        )
    return rows


def print_table(head: list[str], rows: list[list[str]], right: set[int]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    print(line(head))
    print(
        "| "
        + " | ".join(("-" * (w - 1) + ":") if i in right else "-" * w for i, w in enumerate(widths))
        + " |"
    )
    for row in rows:
        print(line(row))


def report(bench: Bench, json_path: Path) -> None:
    ms = bench.measures
    args = bench.args
    print()
    print(
        f"sitegen bench: {args.articles} articles, median of {args.reps} (watch: of {args.watch_edits} edits)"
    )
    print()
    head = ["measure", "seconds", "peak RSS MB", "÷ floor j1", "÷ hugo", "note"]
    print_table(head, table_rows(ms), {1, 2, 3, 4})
    print()
    goals = targets(ms)
    rows = [
        [
            t.name,
            _num(t.value, ".0f" if t.unit else ".3f") + (t.unit if t.value is not None else ""),
            f"≤ {t.limit:g}{t.unit}",
            t.status,
            _num(t.by_round, ".3f") if t.by_round is not None else "",
        ]
        for t in goals
    ]
    print_table(["target", "value", "limit", "result", "median of rounds' ratios"], rows, {1, 2, 4})
    print()
    data = {
        "articles": args.articles,
        "reps": args.reps,
        "seed": args.seed,
        "watch_edits": args.watch_edits,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rss_method": bench.runner.method,
        "sitegen": bench.sitegen,
        "info": bench.info,
        "measures": {k: ms[k].to_json() for k in ORDER if k in ms},
        "targets": [{**asdict(t), "status": t.status} for t in goals],
    }
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {json_path}")
    except OSError as exc:
        print(f"cannot write {json_path}: {exc}")


# ------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True, help="articles in the synthetic site")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each measure (median reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", metavar="DIR", help="work in DIR and keep it (default: a temp dir, removed)"
    )
    parser.add_argument("--json", metavar="FILE", help="results file (default: bench/out/results-N.json)")
    parser.add_argument("--skip-watch", action="store_true", help="do not measure `sitegen watch`")
    parser.add_argument("--skip-hugo", action="store_true", help="do not generate and build the Hugo site")
    parser.add_argument("--watch-edits", type=int, default=5, help="edits timed under `sitegen watch`")
    parser.add_argument("--timeout", type=float, help="seconds any one command may take (default: by size)")
    args = parser.parse_args(argv)
    if args.articles < 1 or args.reps < 1 or args.watch_edits < 1:
        parser.error("--articles, --reps and --watch-edits must be at least 1")
    args.timeout = args.timeout or max(300.0, args.articles * 0.15)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.keep).absolute() if args.keep else Path(tempfile.mkdtemp(prefix="sitegen-bench-"))
    paths = Paths.under(work)
    json_path = Path(args.json) if args.json else BENCH / "out" / f"results-{args.articles}.json"
    try:
        paths.scratch.mkdir(parents=True, exist_ok=True)
        bench = Bench(args, paths, Runner(paths.scratch, args.timeout))
        say(f"working in {work}; peak RSS by {bench.runner.method}; timeout {args.timeout:g}s a command")
        if not bench.generate():
            return 2
        for step in (bench.cold_rounds, bench.noop, bench.edit, bench.watch):
            step()
        report(bench, json_path)
        return 0 if all(m.ok or m.skipped for m in bench.measures.values()) else 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if "bench" in locals():
            bench.trash.empty()
        if args.keep:
            say(f"kept {work}")
        else:
            rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
