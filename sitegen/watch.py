"""`sitegen watch`: build, serve, and rebuild on every change (SPEC §7).

The rebuild loop runs in the main thread over `watchfiles.watch`, whose debouncing turns
an editor's atomic save, its temp files and a burst of saves into one batch and so one
rebuild.  The HTTP server (sitegen.serve) runs in a daemon thread.  Nothing in a rebuild
may end the loop: diagnostics and internal errors alike are reported and the last good
site stays served.  SIGINT and SIGTERM set an event that stops everything within a second.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

import watchfiles

from sitegen.build import BuildResult, build_site
from sitegen.cache import Cache
from sitegen.cli_build import default_jobs
from sitegen.diagnostics import format_summary_line, format_text
from sitegen.engine import Run
from sitegen.inputs import file_stamp
from sitegen.overlay import overlay_html
from sitegen.publish import PublishError, check_out_dir
from sitegen.serve import Hub, LiveServer
from sitegen.site import ARTICLES_DIR, list_markdown
from sitegen.watch_inputs import SiteFilter, folders_moved, identity, input_folders, other_inputs

DEBOUNCE_MS = 1_600  # longest a batch of changes is collected before rebuilding
# A batch ends after this long without a new change to its set of (change, path): an editor's
# save takes a few ms.  The same file saved again and again (a burst) does not grow the set,
# so such a burst is several batches, each built with what is on disk by then.
STEP_MS = 15
FLUSH_AFTER_S = 10.0  # quiet seconds before the cache the builds put off is written


class _Stopped(BaseException):
    """Raised by the signal handler to abandon a build in progress (publishing stays atomic)."""


class Session:
    def __init__(self, root: Path, out: Path, drafts: bool, hub: Hub) -> None:
        self.root, self.out, self.drafts, self.hub = root, out, drafts, hub
        self.stop = threading.Event()
        self.building = False
        self.pid = os.getpid()
        self.jobs = default_jobs()
        self.color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
        # The run of the last build that published, and the article files changed since: an
        # edit to articles alone is rebuilt from them (build_site's `previous` and `changed`).
        self.base: Run | None = None
        self.pending: set[str] = set()
        # every input file (relative path) -> its stat, as the last build read it; None before
        # the first build (a site with no input file at all reads as {}, and a site.toml added
        # to it is then a change like any other)
        self.seen: dict[str, tuple[int, int, int, int] | None] | None = None
        self.built_at = time.monotonic()
        self.published_once = False  # some build of this watch published: there is a site to serve

    def on_signal(self, signum: int, frame: object) -> None:
        if os.getpid() != self.pid:  # a build worker forked from us: the watcher decides, not it
            if signum == signal.SIGTERM:  # Pool.terminate(): die as if no handler were installed
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        self.stop.set()
        if self.building:
            raise _Stopped

    def loop(self) -> None:
        """Rebuild on every batch of changes until stopped, whatever happens to the site directory."""
        watch_filter = SiteFilter(self.root, self.out)
        watched, gone, polling = identity(self.root), False, False
        while not self.stop.is_set():
            now = identity(self.root)
            if now is None:  # deleted or moved away: wait for it, never recreate it
                if not gone:
                    _say(f"the site directory {self.root} is gone; waiting for it to come back")
                gone = True
                self.stop.wait(0.5)
                continue
            if gone or now != watched:
                _say(f"the site directory {self.root} is back; watching it again")
                watched, gone = now, False
                self.rebuild(set())
            try:
                catch_up = True  # anything saved before the watcher started is picked up by this one
                folders = input_folders(self.root)
                for changes in watchfiles.watch(
                    # Only the input folders: the output and the cache inside the site see
                    # thousands of directories move at each publish, and inotify's queue
                    # would overflow with their events (site.toml: the quiet-second check).
                    *(folders or [self.root.resolve()]),
                    watch_filter=watch_filter,
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=self.stop,
                    rust_timeout=1_000,
                    yield_on_timeout=True,  # a chance to notice that the directory itself went away
                    raise_interrupt=False,
                    force_polling=polling,
                    recursive=bool(folders),
                ):
                    if self.stop.is_set() or identity(self.root) != watched:
                        break
                    current = input_folders(self.root)
                    if current != folders:  # one came or went: watch again
                        _say(folders_moved(folders, current, self.root.resolve()))
                        self.rebuild(set())
                        break
                    self._on_batch(changes, catch_up)
                    catch_up = False
            except Exception as exc:  # e.g. the OS's limit on watches: poll instead
                _say(f"watching failed ({type(exc).__name__}: {exc}); polling for changes instead")
                polling = True
                if not self.stop.wait(1.0):
                    self.rebuild(set())

    def _on_batch(self, changes: set[tuple[watchfiles.Change, str]], catch_up: bool) -> None:
        # A quiet second (and the watcher's start) compares the inputs' stats with what the
        # last build read: a save the OS did not report is built anyway.
        if not changes:
            changes = self._missed_changes()
        catch_up = catch_up and self.seen is None  # no build to compare with: run one
        # a build that could not publish (not a diagnostic) is tried again each second
        retry = not changes and bool(self.hub.snapshot().get("internal"))
        if changes or catch_up or retry:
            self.rebuild(changes, quiet_if_unchanged=not changes)
        elif time.monotonic() - self.built_at > FLUSH_AFTER_S:
            # Quiet for a while: write the cache the builds put off (a second or more on
            # a big site, which an edit arriving meanwhile would have to wait for).
            Cache.flush_deferred()

    def rebuild(
        self, changes: set[tuple[watchfiles.Change, str]] | None, *, quiet_if_unchanged: bool = False
    ) -> dict:
        started = time.perf_counter()
        try:
            return self._rebuild(changes, quiet_if_unchanged=quiet_if_unchanged)
        except Exception as exc:  # in reporting, not in the build: the watcher carries on all the same
            self.base = None
            internal = f"internal error after a rebuild: {type(exc).__name__}: {exc}"
            return self._failed(internal, [], time.perf_counter() - started, quiet_if_unchanged)
        finally:
            self.hub.end_preview()  # whatever ended the build: the output serves every page again
            # Once the pages are out: what this build left behind is collected, and what the
            # builds keep between them (a big site's outcomes, millions of objects) is moved
            # out of the collector's way, as a full pass over it costs more than a quick rebuild.
            gc.collect()
            gc.freeze()

    def _rebuild(
        self, changes: set[tuple[watchfiles.Change, str]] | None, *, quiet_if_unchanged: bool = False
    ) -> dict:
        changed = self._describe(changes)
        if changed:
            _say(", ".join(changed))
        if not self.root.is_dir():  # publishing would create it again
            return self.hub.snapshot()
        started = time.perf_counter()
        self.building = True
        inputs = other_inputs(self.root)  # before the build reads them (articles: the run's stamps)
        # A catch-up or retry (no reported change) runs in full, to find what no event reported.
        edited = self._articles_only(changes) if changes else set()
        if edited and self._others_changed(inputs):
            edited = None  # site.toml (no events) saved with the articles: the quick run would miss it
        if edited is None:
            self.base = None
        else:
            self.pending |= edited
        try:
            result = build_site(
                # Built exactly as `sitegen build` builds (same output, same cache); the server adds
                # the live-reload script to each page as it serves it.
                self.root,
                self.out,
                drafts=self.drafts,
                jobs=self.jobs,
                watching=True,
                quick=changes is not None and not changes,  # at start, a full run: the base of quick ones
                previous=self.base,
                changed=set(self.pending) if self.base is not None and changes else None,
                preview=self._preview,
            )
        except Exception as exc:  # the loop outlives anything a rebuild can throw
            self.base = None
            if isinstance(exc, (OSError, PublishError)):
                internal = f"cannot publish to {self.out}: {exc}"
            else:
                internal = f"internal error during rebuild: {type(exc).__name__}: {exc}"
            return self._failed(internal, changed, time.perf_counter() - started, quiet_if_unchanged)
        finally:
            self.building = False
            self.built_at = time.monotonic()
        self._remember(result, inputs)
        seconds = time.perf_counter() - started
        if self._nothing_new(result, inputs, quiet_if_unchanged):
            return self.hub.snapshot()
        checked = result.checked
        texts = checked.site.texts
        if result.diagnostics:
            sys.stderr.write(format_text(result.diagnostics, texts, color=self.color))
        summary = format_summary_line(result.summary, seconds)
        new_output = result.published and not getattr(result, "unchanged", False)
        if result.published:
            done = "rebuilt" if self.published_once else "built"
            self.published_once = True
            _say(f"{done}: {summary}" + ("" if new_output else " (output unchanged)"))
        else:
            _say(f"build failed: {summary}; {self._serving()}")
        html = "" if result.published else overlay_html(result.diagnostics, texts, self.root)
        return self.hub.record(
            result.published,
            new_output=new_output,
            internal=None,
            changed=changed,
            diagnostics=[d.to_json() for d in result.diagnostics],
            seconds=round(seconds, 3),
            html=html,
        )

    def _failed(self, internal: str, changed: list[str], seconds: float, quiet_if_unchanged: bool) -> dict:
        """A rebuild that ended in an exception, told to the terminal and to every open page."""
        internal = " ".join(internal.split())
        if quiet_if_unchanged and self.hub.snapshot().get("internal") == internal:
            return self.hub.snapshot()  # the same trouble as already reported
        _say(f"{internal}; {self._serving()}")
        return self.hub.record(
            False,
            new_output=False,
            diagnostics=[],
            internal=internal,
            changed=changed,
            seconds=round(seconds, 3),
            html=overlay_html([], {}, self.root, internal),
        )

    def _serving(self) -> str:
        if self.published_once or (self.out / "index.html").is_file():
            return "still serving the last good site"
        return "no site to serve until a build succeeds"

    def _remember(self, result: BuildResult, inputs: dict[str, tuple[int, int, int, int] | None]) -> None:
        run = result.checked.run
        if run is not None:
            self.seen = {**inputs, **run.stamps}  # the inputs as this build read them
        if result.published and run is not None:
            self.base, self.pending = run, set()

    def _nothing_new(
        self,
        result: BuildResult,
        inputs: dict[str, tuple[int, int, int, int] | None],
        quiet_if_unchanged: bool,
    ) -> bool:
        """Whether a build has nothing to tell the terminal and the pages."""
        if quiet_if_unchanged and result.published and result.unchanged:
            return True  # a catch-up check that found nothing new
        if not result.published and self._changed_while_building(result, inputs):
            # An editor still saving (a burst, a file caught empty between truncate and write):
            # what this build found is already out of date, and the next build comes at once.
            _say("changed again while building; building again")
            return True
        previous = self.hub.snapshot()
        same_failure = not previous.get("ok", True) and previous.get("diagnostics") == [
            d.to_json() for d in result.diagnostics
        ]
        return quiet_if_unchanged and not result.published and same_failure  # failing as already reported

    def _changed_while_building(
        self, result: BuildResult, inputs: dict[str, tuple[int, int, int, int] | None]
    ) -> bool:
        """Whether an input a failed build read has changed since it read it."""
        run = result.checked.run
        read = {**inputs, **(run.stamps if run is not None else {})}
        return any(file_stamp(self.root / rel) != stamp for rel, stamp in read.items())

    def _others_changed(self, inputs: dict[str, tuple[int, int, int, int] | None]) -> bool:
        """Whether any input but the articles differs from what the last build read."""
        if self.seen is None:
            return True
        articles = f"{ARTICLES_DIR}/"
        return {rel: s for rel, s in self.seen.items() if not rel.startswith(articles)} != inputs

    def _missed_changes(self) -> set[tuple[watchfiles.Change, str]]:
        """Inputs saved, added or removed since the last build without an event to say so.

        site.toml and new input folders are not watched for events, and inotify drops events
        when its queue overflows: each quiet second the inputs' stats are compared with the
        ones the last build read, so such a change is built a second late instead of never.
        """
        if self.seen is None:
            return set()
        now = other_inputs(self.root)
        now.update((rel, file_stamp(self.root / rel)) for rel in list_markdown(self.root, ARTICLES_DIR))
        changes = {(watchfiles.Change.added, rel) for rel in now.keys() - self.seen.keys()}
        changes |= {(watchfiles.Change.deleted, rel) for rel in self.seen.keys() - now.keys()}
        edited = {rel for rel in now.keys() & self.seen.keys() if now[rel] != self.seen[rel]}
        changes |= {(watchfiles.Change.modified, rel) for rel in edited}
        base = self.root.resolve()
        return {(kind, str(base / rel)) for kind, rel in changes}

    def _preview(self, pages: dict[str, bytes]) -> None:
        urls = []
        for rel in pages:
            urls.append("/" + rel)
            if rel.endswith("/index.html"):
                urls.append("/" + rel.removesuffix("index.html"))
        self.hub.preview(pages, urls)

    def _articles_only(self, changes: set[tuple[watchfiles.Change, str]] | None) -> set[str] | None:
        """The article files (relative paths) these changes are made of, or None if anything
        else changed: a new or deleted file, a template, a source, site.toml, static/."""
        base = self.root.resolve()
        edited = set()
        for kind, path in changes or ():
            if not Path(path).is_relative_to(base):
                return None
            rel = Path(path).relative_to(base).as_posix()
            article = rel.startswith(f"{ARTICLES_DIR}/") and rel.endswith(".md")
            if kind == watchfiles.Change.deleted or not article:
                return None
            edited.add(rel)
        known = {o.path for o in self.base.outcomes} if self.base is not None else set()
        return edited if edited <= known else None

    def _describe(self, changes: set[tuple[watchfiles.Change, str]] | None) -> list[str]:
        if not changes:
            return []
        base = self.root.resolve()
        kinds: dict[Path, set[watchfiles.Change]] = {}
        for kind, changed in changes:
            kinds.setdefault(Path(changed), set()).add(kind)
        seen = []
        folders = {parent for path in kinds for parent in path.parents}
        for path, what in sorted(kinds.items()):
            exists = path.exists()
            if (not exists and watchfiles.Change.added in what) or path.is_dir() or path in folders:
                continue  # a temporary file that came and went, or a folder (its files are listed)
            shown = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
            seen.append(f"{shown} {'changed' if exists else 'deleted'}")
        listed = seen[:5]
        return listed + ([f"and {len(seen) - 5} more"] if len(seen) > 5 else []) or ["changes"]


def _say(message: str) -> None:
    sys.stderr.write(f"sitegen [{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# ------------------------------------------------------------------ the command


def watch_command(root: Path, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else root / "public"
    refusal = check_out_dir(root, out)
    if refusal:
        print(f"sitegen: refusing to watch: {refusal}", file=sys.stderr)
        return 2
    hub = Hub()
    host = args.host[1:-1] if args.host.startswith("[") and args.host.endswith("]") else args.host  # [::1]
    try:
        server = LiveServer(host, args.port, out, hub)
    except (OSError, OverflowError) as exc:
        busy = isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE
        hint = " (another program uses it: try --port 0 for any free port)" if busy else ""
        print(f"sitegen: cannot listen on {args.host}:{args.port}: {exc}{hint}", file=sys.stderr)
        return 2
    session = Session(root, out, args.drafts, hub)
    previous = _install(session.on_signal)
    # The server's threads wait for the GIL at every socket or file call while a rebuild runs;
    # a shorter switch interval (default 5 ms) lets a previewed page out during the rebuild.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sitegen-serve", daemon=True
    )
    try:
        thread.start()
        print(f"Serving {server.url()} (Ctrl-C to stop)", flush=True)
        session.rebuild(None)
        if not session.stop.is_set():
            session.loop()
    except _Stopped:
        pass
    finally:
        session.building = False
        session.stop.set()
        hub.close()
        server.shutdown()
        server.server_close()
        with contextlib.suppress(_Stopped):  # a second signal: the cache stays as it was
            Cache.flush_deferred()
        _restore(previous)
        sys.setswitchinterval(switch_interval)
    _say("stopped")
    return 0


def _install(handler) -> dict:
    """Handlers for SIGINT and SIGTERM, installed explicitly: a script's `cmd &` starts
    SIGINT out ignored, and Python then leaves it ignored."""
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread (tests calling in-process)
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
