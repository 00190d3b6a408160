"""`sitegen watch` end to end: a real subprocess on a free port, edited files, HTTP and SSE.

Every wait is bounded and the subprocess is always stopped in a `finally`.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FIXTURE_SITE

ARTICLE = """---
title: "First"
date: 2021-03-06
---
Khan's allies hold 178 seats in the 342-member National Assembly <<seats NA=178/342 majority=yes>>.
"""
# A wrong total (SG202) on a line that also holds markup the overlay must escape.
BROKEN = ARTICLE.replace("allies", "<em>allies</em>").replace("178/342", "178/300")
ARTICLE_REL = "content/articles/first.md"
TIMEOUT = 15.0


def _wait(predicate: Callable[[], object], timeout: float = TIMEOUT, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Watch:
    """A running `sitegen watch` on a copy of the fixture site."""

    def __init__(self, site: Path, log: Path, *extra: str, ignore_sigint: bool = False) -> None:
        self.site, self.log = site, log
        self.out_path, self.err_path = log.with_suffix(".out"), log.with_suffix(".err")
        # files, not pipes: the child never blocks on output nobody reads
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sitegen", "watch", str(site), "--port", "0", *extra],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
            )
        self.url = str(_wait(self._serving_url, what="the 'Serving' line"))

    def _serving_url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"sitegen watch exited {self.proc.returncode}: {self.stderr()}")
        for line in log_text(self.out_path).splitlines():
            if line.startswith("Serving http://"):
                return line.split()[1]
        return None

    def stderr(self) -> str:
        return log_text(self.err_path)

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=5) as resp:
                return resp.status, dict(resp.headers), resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode("utf-8")

    def raw_get(self, path: str) -> tuple[int, dict[str, str]]:
        """A request line sent exactly as written (no client-side normalisation of `..`)."""
        host, port = self.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.putrequest("GET", path, skip_accept_encoding=True)
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            return resp.status, dict(resp.getheaders())
        finally:
            conn.close()

    def status(self) -> dict:
        return json.loads(self.get("/__sitegen/status")[2])

    def builds(self) -> int:
        return self.status()["builds"]

    def wait_build(self, after: int, timeout: float = TIMEOUT) -> dict:
        """The status once a rebuild after the `after`-th has finished."""
        _wait(lambda: self.builds() > after, timeout, f"a rebuild after build {after}\n{self.stderr()}")
        return self.status()

    def edit(self, rel: str, text: str) -> int:
        """Write a file as an editor with atomic saves does; returns the build count before."""
        before = self.builds()
        write_atomic(self.site / rel, text)
        return before

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=5)
        finally:
            self.kill()
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def log_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Events:
    """An open `/__sitegen/events` stream, read with a socket timeout."""

    def __init__(self, url: str) -> None:
        self.resp = urllib.request.urlopen(url + "__sitegen/events", timeout=TIMEOUT)
        assert self.resp.headers["Content-Type"] == "text/event-stream"

    def next(self, timeout: float = TIMEOUT, *, previews: bool = False) -> tuple[str, dict]:
        """The next named event (keep-alive comments skipped, and previews unless asked for)."""
        deadline = time.monotonic() + timeout
        name, data = "", ""
        while time.monotonic() < deadline:
            line = self.resp.readline().decode("utf-8")
            if not line:
                raise AssertionError("event stream closed")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line == "" and name == "preview" and not previews:
                name, data = "", ""
            elif line == "" and name:
                return name, json.loads(data)
        raise AssertionError(f"no event within {timeout}s")

    def close(self) -> None:
        self.resp.close()


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(*extra: str, article: str | None = ARTICLE, ignore_sigint: bool = False) -> Watch:
        site = tmp_path / f"site{len(started)}"
        if not site.exists():
            shutil.copytree(FIXTURE_SITE, site)
            if article is not None:
                (site / ARTICLE_REL).parent.mkdir(parents=True, exist_ok=True)
                (site / ARTICLE_REL).write_text(article, encoding="utf-8")
        w = Watch(site, tmp_path / f"watch{len(started)}.log", *extra, ignore_sigint=ignore_sigint)
        started.append(w)
        return w

    try:
        yield start
    finally:
        for w in started:
            w.kill()


def first_build(w: Watch) -> dict:
    return w.wait_build(0)


# ------------------------------------------------------------------ tests


def test_serves_rebuilds_and_sends_reload(watch) -> None:
    w = watch()
    assert first_build(w)["ok"]
    code, headers, body = w.get("/articles/first/")
    assert code == 200 and "178 seats" in body
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    build = w.status()["build"]
    assert f'data-sitegen-build="{build}"' in body  # the live-reload tag, with the current build
    events = Events(w.url)
    try:
        name, hello = events.next()
        assert name == "hello" and hello["build"] == build
        before = w.edit(ARTICLE_REL, ARTICLE.replace("allies hold", "allies now hold"))
        name, preview = events.next(previews=True)  # the edited page first, then the rest
        assert name == "preview" and "/articles/first/" in preview["pages"]
        name, data = events.next()
        assert name == "reload" and data["ok"] and data["build"] == preview["build"] != build
        assert data["builds"] == before + 1
        assert "content/articles/first.md changed" in data["changed"]
    finally:
        events.close()
    assert "allies now hold" in w.get("/articles/first/")[2]
    lines = [line.split("] ", 1)[-1] for line in w.stderr().splitlines()]
    assert lines[0].startswith("built: ") and any(line.startswith("rebuilt: ") for line in lines[1:])
    assert "content/articles/first.md changed" in w.stderr()


def test_failed_build_keeps_last_good_site_and_shows_overlay(watch) -> None:
    w = watch()
    first_build(w)
    events = Events(w.url)
    try:
        assert events.next()[0] == "hello"
        w.edit(ARTICLE_REL, BROKEN)
        name, data = events.next()
        assert name == "failed" and not data["ok"]
        assert [d["code"] for d in data["diagnostics"]] == ["SG202"]
        html = data["html"]
        assert "error[SG202]" in html and "does not match" in html
        assert "content/articles/first.md:5:" in html
        # the source line, escaped: the article's markup and the annotation's brackets
        assert "&lt;em&gt;allies&lt;/em&gt;" in html and "&lt;&lt;seats NA=178/300" in html
        assert "<em>" not in html
        assert w.status() == {**data, "changed": data["changed"]}
        # the last good site is still what is served
        body = w.get("/articles/first/")[2]
        assert "178 seats" in body and "<em>" not in body
        w.edit(ARTICLE_REL, ARTICLE.replace("allies", "partners"))
        name, data = events.next()
        assert name == "reload" and data["ok"] and data["html"] == "" and data["diagnostics"] == []
    finally:
        events.close()
    assert "partners" in w.get("/articles/first/")[2]
    err = w.stderr()
    assert "error[SG202]" in err and "--> content/articles/first.md:5:" in err
    assert "build failed" in err and "still serving the last good site" in err


def test_recovers_from_everything_a_reporter_can_do(watch) -> None:
    w = watch()
    first_build(w)
    site = w.site
    good_toml = (site / "site.toml").read_text(encoding="utf-8")

    def step(change: Callable[[], object], ok: bool, code: str | None = None) -> dict:
        before = w.builds()
        change()
        status = w.wait_build(before)
        codes = [d["code"] for d in status["diagnostics"]]
        assert status["ok"] is ok, (codes, status.get("internal"), w.stderr())
        if code:
            assert code in codes and code in status["html"]
        return status

    # a broken site.toml, then fixed
    step(lambda: write_atomic(site / "site.toml", "[site\ntitle = "), False, "SG901")
    step(lambda: write_atomic(site / "site.toml", good_toml), True)
    # a template syntax error, then the override removed
    step(lambda: write_atomic(site / "templates/base.html", "{% if %}\n"), False, "SG902")
    assert "templates/base.html:1:" in w.status()["html"]
    step(lambda: shutil.rmtree(site / "templates"), True)
    # an article saved half-written (front matter cut off), then completed
    step(lambda: (site / ARTICLE_REL).write_text(ARTICLE[:30], encoding="utf-8"), False, "SG501")
    step(lambda: (site / ARTICLE_REL).write_text(ARTICLE, encoding="utf-8"), True)
    # renamed: the new page appears, the old one is gone
    step(lambda: os.rename(site / ARTICLE_REL, site / "content/articles/renamed.md"), True)
    assert w.get("/articles/renamed/")[0] == 200
    code, _, body = w.get("/articles/first/")
    assert code == 404 and "/__sitegen/live.js" in body  # a 404 page still reloads by itself
    # a new folder of static files
    step(lambda: write_atomic(site / "static/img/note.txt", "hello"), True)
    assert w.get("/static/img/note.txt")[:3:2] == (200, "hello")
    # deleted
    step(lambda: (site / "content/articles/renamed.md").unlink(), True)
    assert w.get("/articles/renamed/")[0] == 404
    assert w.proc.poll() is None


def test_editor_debris_is_ignored_and_a_burst_is_one_rebuild(watch) -> None:
    w = watch()
    first_build(w)
    before = w.builds()
    articles = w.site / "content/articles"
    for name in (".first.md.swp", "first.md~", "4913", ".#first.md", "#first.md#"):
        (articles / name).write_text("junk", encoding="utf-8")
    (w.site / "public/stray.txt").write_text("x", encoding="utf-8")  # the output itself is not watched
    time.sleep(1.0)
    assert w.builds() == before
    for i in range(8):  # a burst of atomic saves
        write_atomic(articles / "first.md", ARTICLE.replace("allies", f"allies{i}"))
    status = w.wait_build(before)
    time.sleep(1.0)
    assert w.builds() == before + 1, w.stderr()
    assert status["ok"] and "allies7" in w.get("/articles/first/")[2]


def test_paths_stay_inside_the_output(watch) -> None:
    w = watch()
    first_build(w)
    (w.site / "secret.txt").write_text("secret", encoding="utf-8")
    for path in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/static/../../secret.txt",
        "/..%2fsecret.txt",
        "/%00",
        "/static/%2e%2e%2f%2e%2e%2fsite.toml",
        "/index.html/",  # served, its relative links would all be broken
        "/articles//first/",
    ):
        code, _ = w.raw_get(path)
        assert code == 404, path
    code, headers = w.raw_get("/articles/first")
    assert code == 301 and headers["Location"] == "/articles/first/"
    code, headers = w.raw_get("//articles/first?x=1")  # not a redirect to the host `articles`
    assert code == 301 and headers["Location"] == "/articles/first/?x=1"
    # to the page's own address, where its relative links work
    for encoded in ("/articles%2Ffirst", "/articles%2Ffirst%2F", "/%61rticles/first"):
        code, headers = w.raw_get(encoded)
        assert code == 301 and headers["Location"] == "/articles/first/", encoded
    assert w.get("/")[0] == 200
    assert w.get("/static/sitegen.css")[1]["Content-Type"].startswith("text/css")
    assert w.get("/feed.xml")[1]["Content-Type"].startswith("application/xml")
    assert w.get("/checks.json")[1]["Content-Type"] == "application/json"
    # a page whose template leaves out {{ live_reload }} gets the tag while served
    demo = "<!DOCTYPE html><title>d</title><body><p>demo</p></body>"
    assert w.wait_build(w.edit("static/demo.html", demo))["ok"]
    code, _, body = w.get("/static/demo.html")
    assert code == 200
    assert 'src="/__sitegen/live.js"' in body and body.index("live.js") < body.index("</body>")
    js = w.get("/__sitegen/live.js")
    assert js[0] == 200 and "EventSource" in js[2]
    worker = w.get("/__sitegen/live-worker.js")
    assert worker[0] == 200 and worker[1]["Content-Type"].startswith("text/javascript")
    request = urllib.request.Request(w.url + "__sitegen/events", method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"


def test_only_this_machines_names_are_answered(watch) -> None:
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 gets nothing."""
    w = watch()
    first_build(w)
    host, port = w.url.removeprefix("http://").rstrip("/").rsplit(":", 1)

    def status_with(name: str) -> int:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.putrequest("GET", "/__sitegen/status", skip_host=True)
            conn.putheader("Host", name)
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    for name in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", f"app.localhost:{port}"):
        assert status_with(name) == 200, name
    for name in (f"evil.example:{port}", "evil.example", f"192.168.1.7:{port}"):
        assert status_with(name) == 403, name


def test_a_site_broken_from_the_start_is_served_once_fixed(watch) -> None:
    w = watch(article=BROKEN)
    status = first_build(w)
    assert not status["ok"] and status["diagnostics"][0]["code"] == "SG202"
    code, _, body = w.get("/")
    assert code == 404 and "last build failed" in body and "/__sitegen/live.js" in body
    assert "no site to serve until a build succeeds" in w.stderr()
    before = w.edit(ARTICLE_REL, ARTICLE)
    assert w.wait_build(before)["ok"]
    assert w.get("/articles/first/")[0] == 200


def test_a_site_toml_added_to_a_site_with_no_input_at_all_is_built(tmp_path: Path) -> None:
    site = tmp_path / "bare"
    (site / ARTICLE_REL).parent.mkdir(parents=True)  # the folders, not one file
    w = Watch(site, tmp_path / "bare.log")
    try:
        status = first_build(w)
        assert not status["ok"] and status["diagnostics"][0]["code"] == "SG901"
        time.sleep(2.5)  # settled: past the watcher's first look, which builds whatever it finds
        before = w.builds()
        shutil.copyfile(FIXTURE_SITE / "site.toml", site / "site.toml")  # as `cp` does, in place
        assert w.wait_build(before)["ok"]  # found by its stat, as the build before read no file
        assert w.get("/")[0] == 200
    finally:
        w.kill()


def test_a_failed_publish_is_one_line_and_the_watcher_survives(watch) -> None:
    w = watch()
    first_build(w)
    shutil.rmtree(w.site / "public")
    (w.site / "public").write_text("in the way", encoding="utf-8")
    status = w.wait_build(w.edit(ARTICLE_REL, ARTICLE.replace("allies", "partners")))
    assert not status["ok"] and status["internal"].startswith("cannot publish to")
    assert "cannot publish to" in status["html"]
    assert "Traceback" not in w.stderr() and "still serving the last good site" in w.stderr()
    (w.site / "public").unlink()
    assert w.wait_build(w.edit(ARTICLE_REL, ARTICLE))["ok"]
    assert w.get("/articles/first/")[0] == 200


def test_the_site_directory_itself_going_away_and_coming_back(watch, tmp_path: Path) -> None:
    w = watch()
    first_build(w)
    before = w.builds()
    away = tmp_path / "away"
    shutil.move(w.site, away)
    _wait(lambda: "is gone" in w.stderr(), what="the 'gone' message")
    time.sleep(0.5)
    assert not w.site.exists() and w.proc.poll() is None and w.builds() == before  # not recreated
    (away / ARTICLE_REL).write_text(ARTICLE.replace("allies", "partners"), encoding="utf-8")
    shutil.move(away, w.site)
    assert w.wait_build(before)["ok"]  # rebuilt on its return, with what changed meanwhile
    assert "partners" in w.get("/articles/first/")[2]


def test_build_output_has_no_live_reload(fixture_site: Path, tmp_path: Path) -> None:
    from sitegen.build import build_site

    (fixture_site / ARTICLE_REL).parent.mkdir(parents=True, exist_ok=True)
    (fixture_site / ARTICLE_REL).write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    assert build_site(fixture_site, out).published
    pages = list(out.rglob("*.html"))
    assert pages and not any("__sitegen" in p.read_text(encoding="utf-8") for p in pages)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stops_cleanly_even_with_sigint_ignored_at_start(watch, sig: int) -> None:
    w = watch(ignore_sigint=True)  # as after `sitegen watch &` in a script
    first_build(w)
    events = Events(w.url)  # an open page must not hold the server up
    try:
        code, seconds = w.stop(sig)
    finally:
        events.close()
    assert code == 0, w.stderr()
    assert seconds < 1.0
    assert "Traceback" not in w.stderr() and "stopped" in w.stderr()


def test_stops_within_a_second_in_the_middle_of_a_build(watch, tmp_path: Path) -> None:
    site = tmp_path / "site0"  # the fixture's first site, made big enough to take a while to build
    shutil.copytree(FIXTURE_SITE, site)
    (site / "content/articles").mkdir(parents=True)
    for i in range(1500):
        (site / f"content/articles/a{i}.md").write_text(ARTICLE.replace("First", f"A{i}"), encoding="utf-8")
    w = watch()
    time.sleep(0.3)
    building = w.builds() == 0
    code, seconds = w.stop(signal.SIGINT)
    assert code == 0 and seconds < 1.0, (seconds, w.stderr())
    assert "Traceback" not in w.stderr()
    # an abandoned build leaves nothing behind
    assert not [p.name for p in site.iterdir() if "sitegen-tmp" in p.name]
    if not building:
        pytest.skip("the build finished before the signal; the mid-build path was not exercised")


def test_refuses_bad_out_and_busy_port(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    run = [sys.executable, "-m", "sitegen", "watch", str(site), "--port", "0"]
    refused = subprocess.run([*run, "--out", str(site)], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "refusing" in refused.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = subprocess.run([*run, "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert taken.returncode == 2 and "cannot listen" in taken.stderr and "Traceback" not in taken.stderr


def test_closed_event_streams_free_their_places_within_seconds(watch) -> None:
    """Tabs opened and closed in a hurry (a crawler, F5 held down) once kept their places among
    the 64 streams until the next keep-alive, 15 s on; a page then got 503 and no live reload."""
    from sitegen.serve import MAX_CLIENTS

    w = watch()
    first_build(w)
    host, port = w.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    request = f"GET /__sitegen/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    streams = []
    for _ in range(MAX_CLIENTS):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(request)
        assert b"200" in sock.recv(64)
        streams.append(sock)
    for sock in streams:
        sock.close()
    time.sleep(2.5)
    events = Events(w.url)  # a 503 would raise here
    try:
        assert events.next()[0] == "hello"
    finally:
        events.close()


# ------------------------------------------------------------------ a real browser

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def _chromium() -> Iterator[object]:
    """A fresh context of Debian's Chromium (its pages share connections, as a user's tabs do)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context()
            context.set_default_timeout(TIMEOUT * 1000)
            yield context
        finally:
            browser.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_browser_reloads_by_itself_and_shows_the_overlay(watch) -> None:
    w = watch()
    first_build(w)
    with _chromium() as context:
        page = context.new_page()
        page.goto(w.url + "articles/first/")
        page.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
        page.evaluate("window.__notReloaded = true")
        w.edit(ARTICLE_REL, ARTICLE.replace("allies hold", "allies still hold"))
        before = w.builds()
        page.wait_for_function("document.body.innerText.includes('allies still hold')")
        assert page.evaluate("window.__notReloaded === undefined")  # a real reload, not a patch
        # shown from the preview or from the output, the page is the build's: it reloads once
        page.evaluate("window.__shown = true")
        w.wait_build(before)
        time.sleep(0.5)
        assert page.evaluate("window.__shown === true")

        w.edit(ARTICLE_REL, BROKEN)
        overlay = page.locator("#sitegen-overlay .sg")
        overlay.wait_for(state="visible")
        text = overlay.inner_text()
        assert "error[SG202]" in text and "content/articles/first.md:5:" in text
        assert "<em>allies</em>" in text  # shown as text, not as markup
        assert "allies still hold" in page.locator("main").inner_text()  # the last good page

        w.edit(ARTICLE_REL, ARTICLE)
        page.wait_for_function("!document.body.innerText.includes('allies still hold')")
        page.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
        assert page.locator("#sitegen-overlay").count() == 0


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_tab_opened_after_a_failed_build_shows_the_overlay_and_escape_closes_it(watch) -> None:
    """The tabs share one stream: a failure it carried once is what every later tab is told.
    The overlay is a modal dialog: it takes the focus, and Escape gives it back."""
    w = watch()
    first_build(w)
    with _chromium() as context:
        first = context.new_page()
        first.goto(w.url + "articles/first/")
        first.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
        w.edit(ARTICLE_REL, BROKEN)
        first.locator("#sitegen-overlay .sg").wait_for(state="visible")
        assert first.evaluate("document.activeElement && document.activeElement.id") == "sitegen-overlay"
        first.keyboard.press("Escape")
        assert first.locator("#sitegen-overlay").count() == 0
        for path in ("", "checks/"):
            late = context.new_page()
            late.goto(w.url + path)
            late.locator("#sitegen-overlay .sg").wait_for(state="visible")
            assert "error[SG202]" in late.locator("#sitegen-overlay .sg").inner_text()
        first.reload()
        first.locator("#sitegen-overlay .sg").wait_for(state="visible")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_seven_tabs_of_one_browser_all_reload_and_links_still_work(watch) -> None:
    """A browser opens six connections to a host: a live stream for each tab once held them
    all, and no tab could reload or follow a link again.  The tabs share one stream now."""
    w = watch()
    first_build(w)
    paths = ["", "articles/first/", "checks/", "sources/001/", "sources/002/", "missing/", "articles/first/"]
    with _chromium() as context:
        pages = []
        for path in paths:
            page = context.new_page()
            page.goto(w.url + path)
            page.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
            pages.append(page)
        for page in pages:
            page.evaluate("window.__notReloaded = true")
        w.edit(ARTICLE_REL, ARTICLE.replace("First", "Retitled"))
        for page in pages:
            page.wait_for_function("window.__notReloaded === undefined")
            page.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
        assert "Retitled" in pages[1].locator("h1").inner_text()
        pages[0].click("text=Checks")
        pages[0].wait_for_url("**/checks/**")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_watch_restarted_on_the_same_port_reloads_each_page_once(tmp_path: Path) -> None:
    """The tabs' shared worker once handed a new page the stopped server's last status, and
    the page, seeing another server's build, reloaded again and again until it reconnected."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    (site / ARTICLE_REL).parent.mkdir(parents=True, exist_ok=True)
    (site / ARTICLE_REL).write_text(ARTICLE, encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    first = Watch(site, tmp_path / "w1.log", "--port", port)
    second = None
    try:
        first_build(first)
        with _chromium() as context:
            context.add_init_script("sessionStorage.loads = String(+(sessionStorage.loads || 0) + 1)")
            old_tab = context.new_page()
            old_tab.goto(first.url)
            old_tab.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
            assert first.stop()[0] == 0
            second = Watch(site, tmp_path / "w2.log", "--port", port)
            first_build(second)
            new_tab = context.new_page()
            new_tab.goto(second.url)
            new_tab.wait_for_function("document.documentElement.dataset.sitegenLive === '1'")
            old_tab.wait_for_function("sessionStorage.loads === '2'")  # once, for the new server
            time.sleep(3)
            assert new_tab.evaluate("sessionStorage.loads") == "1"
            assert old_tab.evaluate("sessionStorage.loads") == "2"
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_a_save_right_after_the_first_build_is_not_lost(tmp_path: Path) -> None:
    site = tmp_path / "busy"
    shutil.copytree(FIXTURE_SITE, site)
    body = "Allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>. " * 30
    for i in range(300):  # enough work that the watcher starts well after the save below
        write_atomic(
            site / f"content/articles/a{i:03}.md", f"---\ntitle: A{i}\ndate: 2021-03-06\n---\n{body}\n"
        )
    w = Watch(site, tmp_path / "busy.log")
    try:
        deadline = time.monotonic() + 60
        while w.builds() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        write_atomic(
            site / "content/articles/a000.md",
            "---\ntitle: Saved early\ndate: 2021-03-06\n---\nSaved early.\n",
        )
        _wait(
            lambda: "Saved early" in w.get("/articles/a000/")[2],
            timeout=30,
            what="the early save to be served",
        )
    finally:
        w.stop()
        w.kill()


def test_a_preview_is_served_ahead_of_its_build_and_takes_its_build_id(tmp_path: Path) -> None:
    from sitegen.serve import Hub, LiveServer

    out = tmp_path / "public"
    (out / "articles" / "a").mkdir(parents=True)
    (out / "articles" / "a" / "index.html").write_bytes(b"<html><body>old a</body></html>")
    (out / "index.html").write_bytes(b"<html><body>old index</body></html>")
    hub = Hub()
    server = LiveServer("127.0.0.1", 0, out, hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def get(path: str) -> str:
        with urllib.request.urlopen(server.url() + path, timeout=TIMEOUT) as resp:
            return resp.read().decode()

    try:
        hub.record(True, new_output=True)
        published = hub.build_id()
        hub.preview({"articles/a/index.html": b"<html><body>new a</body></html>"}, ["/articles/a/"])
        ahead = hub.page("articles/a/index.html")
        assert ahead is not None and ahead[1] != published
        for path in ("articles/a/", "articles/a/index.html"):
            body = get(path)
            assert "new a" in body and f'data-sitegen-build="{ahead[1]}"' in body
        assert f'data-sitegen-build="{published}"' in get("index.html")  # not previewed: as published
        assert hub.snapshot()["build"] == published  # open pages wait for the build
        hub.record(True, new_output=True)
        assert hub.build_id() == ahead[1]  # the previewed page is the build's: it does not reload
        assert "old a" in get("articles/a/") and hub.page("articles/a/index.html") is None
        # a build that fails after its preview: the preview's id is never given to another build
        hub.preview({"articles/a/index.html": b"<html><body>newer a</body></html>"}, ["/articles/a/"])
        failed = hub.page("articles/a/index.html")
        hub.record(False, new_output=False)
        assert hub.page("articles/a/index.html") is None
        hub.record(True, new_output=True)
        assert failed is not None and hub.build_id() not in (ahead[1], failed[1])
    finally:
        server.shutdown()
        server.server_close()


def test_saves_no_event_reported_are_found_by_their_stat(tmp_path: Path) -> None:
    """inotify drops events when its queue overflows (a build's own writes can fill it): the
    watcher's quiet-second check finds edited, added and removed articles by their stat."""
    import watchfiles

    from sitegen.build import build_site
    from sitegen.serve import Hub
    from sitegen.watch import Session
    from sitegen.watch_inputs import other_inputs

    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    article = site / ARTICLE_REL
    article.parent.mkdir(parents=True, exist_ok=True)
    article.write_text(ARTICLE, encoding="utf-8")
    session = Session(site, site / "public", False, Hub())
    assert session._missed_changes() == set()  # nothing built yet: nothing to compare with
    session._remember(build_site(site, site / "public", watching=True, quick=False), other_inputs(site))
    assert session._missed_changes() == set()
    article.write_text(ARTICLE.replace("allies hold", "allies still hold"), encoding="utf-8")
    (site / "content/articles/new.md").write_text(ARTICLE, encoding="utf-8")
    base = site.resolve()
    found = session._missed_changes()
    assert (watchfiles.Change.modified, str(base / ARTICLE_REL)) in found
    assert (watchfiles.Change.added, str(base / "content/articles/new.md")) in found
    session._remember(build_site(site, site / "public", watching=True, quick=False), other_inputs(site))
    assert session._missed_changes() == set()
    article.unlink()
    assert session._missed_changes() == {(watchfiles.Change.deleted, str(base / ARTICLE_REL))}
    (site / "templates").mkdir(exist_ok=True)
    (site / "templates" / "index_item.html").write_text("{{ a.title }}\n", encoding="utf-8")
    (site / "templates" / ".index_item.html.swp").write_text("editor debris", encoding="utf-8")
    with (site / "site.toml").open("a", encoding="utf-8") as config:
        config.write("\n")
    found = session._missed_changes()
    assert (watchfiles.Change.added, str(base / "templates/index_item.html")) in found
    assert (watchfiles.Change.modified, str(base / "site.toml")) in found
    assert not any(".swp" in path for _, path in found)


def _session(tmp_path: Path):
    from sitegen.serve import Hub
    from sitegen.watch import Session

    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    (site / ARTICLE_REL).parent.mkdir(parents=True, exist_ok=True)
    (site / ARTICLE_REL).write_text(ARTICLE, encoding="utf-8")
    session = Session(site, site / "public", False, Hub())
    session.jobs = 1
    assert session.rebuild(None)["ok"]
    return site, session


def test_static_dotfiles_and_backups_are_watched_as_they_are_published(tmp_path: Path) -> None:
    import watchfiles

    from sitegen.watch_inputs import SiteFilter

    site, session = _session(tmp_path)
    accepts = SiteFilter(site, site / "public")
    modified = watchfiles.Change.modified
    for rel in ("static/.well-known/security.txt", "static/.htaccess", "static/logo.png.bak"):
        assert accepts(modified, str(site.resolve() / rel)), rel
    for rel in ("static/.git/HEAD", "static/.DS_Store", "content/articles/.first.md.swp", "templates/x~"):
        assert not accepts(modified, str(site.resolve() / rel)), rel
    (site / "static" / ".well-known").mkdir(parents=True)
    (site / "static" / ".well-known" / "security.txt").write_text("Contact: a\n", encoding="utf-8")
    found = session._missed_changes()  # the quiet-second check sees it too
    assert found == {(watchfiles.Change.added, str(site.resolve() / "static/.well-known/security.txt"))}
    session.rebuild(found)
    assert (site / "public" / "static" / ".well-known" / "security.txt").read_text() == "Contact: a\n"


def test_a_failure_after_the_build_is_reported_and_the_watcher_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Session.loop takes an exception out of rebuild() for a failing watcher and polls from
    # then on: trouble in reporting a build must be told as such, and not escape
    import watchfiles

    import sitegen.watch

    site, session = _session(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("terminal went away")

    monkeypatch.setattr(sitegen.watch, "format_summary_line", broken)
    write_atomic(site / ARTICLE_REL, ARTICLE + "\nMore.\n")
    status = session.rebuild({(watchfiles.Change.modified, str(site.resolve() / ARTICLE_REL))})
    assert not status["ok"] and "terminal went away" in status["internal"]
    monkeypatch.undo()
    write_atomic(site / ARTICLE_REL, ARTICLE + "\nMore still.\n")
    status = session.rebuild({(watchfiles.Change.modified, str(site.resolve() / ARTICLE_REL))})
    assert status["ok"] and status["internal"] is None
    page = site / "public" / "articles" / "first" / "index.html"
    assert "More still." in page.read_text(encoding="utf-8")


def test_site_toml_saved_just_before_an_article_is_not_lost(tmp_path: Path) -> None:
    # site.toml has no events: when the batch holds only the article, the quick, article-only
    # rebuild must not be taken, or the new configuration would never be built
    import watchfiles

    site, session = _session(tmp_path)
    config = site / "site.toml"
    renamed = config.read_text(encoding="utf-8").replace("Fixture Watch", "Renamed")
    config.write_text(renamed, encoding="utf-8")
    write_atomic(site / ARTICLE_REL, ARTICLE + "\nMore.\n")
    status = session.rebuild({(watchfiles.Change.modified, str(site.resolve() / ARTICLE_REL))})
    assert status["ok"]
    assert "<title>Renamed</title>" in (site / "public" / "index.html").read_text(encoding="utf-8")
    assert session._missed_changes() == set()


def test_a_deleted_article_leaves_watch_output_after_a_build_into_another_folder(
    tmp_path: Path,
) -> None:
    # the other build's manifest is not watch's output's: the tree swapped out then is of
    # unknown content, and must be looked at, not trusted as holding nothing
    import watchfiles

    from sitegen.build import build_site

    site, session = _session(tmp_path)
    other = ARTICLE.replace('title: "First"', 'title: "Second"')
    write_atomic(site / "content/articles/second.md", other)
    second = str(site.resolve() / "content/articles/second.md")
    assert session.rebuild({(watchfiles.Change.added, second)})["ok"]
    assert build_site(site, tmp_path / "dist").published
    write_atomic(site / ARTICLE_REL, ARTICLE + "\nMore.\n")
    assert session.rebuild({(watchfiles.Change.modified, str(site.resolve() / ARTICLE_REL))})["ok"]
    (site / "content/articles/second.md").unlink()
    assert session.rebuild({(watchfiles.Change.deleted, second)})["ok"]
    assert sorted(p.name for p in (site / "public" / "articles").iterdir()) == ["first"]


def test_a_failed_build_of_a_file_saved_again_meanwhile_is_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor's save caught half done (the file empty between truncate and write) failed a
    build with errors that were never in the article, and the overlay flashed them."""
    import watchfiles

    import sitegen.watch

    site, session = _session(tmp_path)
    real_build = sitegen.watch.build_site
    fixed = ARTICLE.replace("allies hold", "allies now hold")

    def build_then_saved(*args, **kwargs):
        result = real_build(*args, **kwargs)
        (site / ARTICLE_REL).write_text(fixed, encoding="utf-8")  # the rest of the save lands
        return result

    (site / ARTICLE_REL).write_text("", encoding="utf-8")  # truncated, not yet written
    monkeypatch.setattr(sitegen.watch, "build_site", build_then_saved)
    builds = session.hub.snapshot()["builds"]
    status = session.rebuild({(watchfiles.Change.modified, str(site / ARTICLE_REL))})
    assert status["ok"] and status["builds"] == builds  # nothing recorded, no overlay
    monkeypatch.setattr(sitegen.watch, "build_site", real_build)
    status = session.rebuild({(watchfiles.Change.modified, str(site / ARTICLE_REL))})
    assert status["ok"] and status["builds"] == builds + 1
    assert "allies now hold" in (site / "public" / "articles" / "first" / "index.html").read_text()


def test_connections_made_while_none_is_accepted_wait_in_the_queue(tmp_path: Path) -> None:
    from sitegen.serve import Hub, LiveServer

    server = LiveServer("127.0.0.1", 0, tmp_path, Hub())  # listening, but accepting nothing yet
    clients: list[socket.socket] = []
    try:
        for _ in range(24):  # a few tabs' worth, reloading at once during a rebuild
            # beyond the queue the SYN is dropped and connect waits for its retry, a second on
            clients.append(socket.create_connection(server.server_address[:2], timeout=0.5))
    finally:
        for client in clients:
            client.close()
        server.server_close()
    assert len(clients) == 24
