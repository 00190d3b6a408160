"""The HTTP side of `sitegen watch`: the output served over HTTP, live reload over SSE.

Standard library only: `http.server.ThreadingHTTPServer` in a daemon thread.  Every HTML
page gets `SCRIPT_TAG` as it is served (no file on disk holds it: templates' `live_reload`
is always empty); the script listens on `/__sitegen/events`:
`reload` after a good rebuild, `failed` after a failed one, whose overlay (HTML escaped by
the server) it draws over the last good page.  `/__sitegen/status` is the same as JSON.

While a quick rebuild publishes the site-wide pages, the edited articles' own pages are
already served from memory (`Hub.preview`, event `preview`): the page a reporter is looking
at comes back as soon as it is rendered, the index and list pages a moment later.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import mimetypes
import queue
import select
import socket
import sys
import threading
import uuid
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote

from sitegen.site import resolved

PREFIX = "/__sitegen/"
BUILD_MARK = "__SITEGEN_BUILD__"
#: What the build injects at the end of <body>; the server fills in the current build id.
SCRIPT_TAG = f'<script src="{PREFIX}live.js" data-sitegen-build="{BUILD_MARK}"></script>'
KEEPALIVE_SECONDS = 15.0
GONE_CHECK_SECONDS = 1.0
MAX_CLIENTS = 64
QUEUE_SIZE = 16
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/plain; charset=utf-8",
}


# The scripts a page loads from PREFIX, as package files (sitegen/live/): live.js, which
# SCRIPT_TAG loads, and live-worker.js, the shared worker behind it: one event stream, its
# events passed to every open page, and the last status to each page that joins.
@functools.cache
def script(name: str) -> bytes:
    """A script of sitegen/live/ as it is served, read from the package once."""
    return (resources.files("sitegen") / "live" / name).read_bytes()


class _Client:
    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_SIZE)


class Hub:
    """The latest build status and the open event streams; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: set[_Client] = set()
        self._instance = uuid.uuid4().hex[:6]
        self._generations = 0  # the last generation handed out, to a preview or a build
        self._preview: dict[str, bytes] = {}  # output-relative path -> page, until the build ends
        self._preview_generation = 0
        self._status: dict = {
            "ok": True,
            "build": f"{self._instance}-0",
            "builds": 0,
            "generation": 0,
            "diagnostics": [],
            "html": "",
            "internal": None,
        }

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._status)

    def build_id(self) -> str:
        with self._lock:
            return self._status["build"]

    def record(self, ok: bool, *, new_output: bool, **fields: object) -> dict:
        """A rebuild finished: update the status and tell every open page.

        Pages showing another build than the latest reload; a good build that left the
        output as it was only clears the overlay.
        """
        with self._lock:
            status = dict(self._status, **fields, ok=ok, builds=self._status["builds"] + 1)
            if ok and new_output:
                # the pages previewed are the ones published: they keep their build and stay put
                status["generation"] = self._preview_generation or self._next_generation()
                status["build"] = f"{self._instance}-{status['generation']}"
            self._preview, self._preview_generation = {}, 0
            self._status = status
            # not "error": an EventSource fires its onerror for a message of that name too,
            # and the shared worker took that for a lost stream and forgot the failure
            self._broadcast(_event("reload" if ok else "failed", status))
            return status

    def _broadcast(self, message: bytes) -> None:
        for client in list(self._clients):
            try:
                client.queue.put_nowait(message)
            except queue.Full:  # a stuck client is dropped, never waited for
                self._clients.discard(client)

    def preview(self, pages: dict[str, bytes], urls: list[str]) -> None:
        """Serve these pages (output-relative paths) ahead of the build that publishes them.

        They carry the next build id, which the build takes when it ends well (`record`), so
        an open preview does not reload again; every other page still shows the last build.
        """
        with self._lock:
            self._preview_generation = self._next_generation()
            self._preview = dict(pages)
            message = _event("preview", {"build": self._build_of(self._preview_generation), "pages": urls})
            self._broadcast(message)

    def page(self, rel: str) -> tuple[bytes, str] | None:
        """A previewed page and its build id, if `rel` is one."""
        with self._lock:
            data = self._preview.get(rel)
            return None if data is None else (data, self._build_of(self._preview_generation))

    def end_preview(self) -> None:
        with self._lock:
            self._preview, self._preview_generation = {}, 0

    def _next_generation(self) -> int:
        self._generations = max(self._generations, self._status["generation"]) + 1
        return self._generations

    def _build_of(self, generation: int) -> str:
        return f"{self._instance}-{generation}"

    def subscribe(self) -> _Client | None:
        with self._lock:
            if len(self._clients) >= MAX_CLIENTS:
                return None
            client = _Client()
            self._clients.add(client)
            return client

    def unsubscribe(self, client: _Client) -> None:
        with self._lock:
            self._clients.discard(client)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(queue.Full):
                    client.queue.put_nowait(None)
            self._clients.clear()


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def resolve(out: Path, url_path: str) -> tuple[Path | None, bool]:
    """(file to serve or None, whether to redirect to the path with a trailing slash).

    Only files inside the output directory are served: `..`, NUL and backslashes are refused,
    and symbolic links are followed only where they stay inside it.
    """
    raw = unquote(url_path, errors="strict") if "%" in url_path else url_path
    if "\0" in raw or "\\" in raw:
        return None, False
    parts = [p for p in raw.split("/") if p]
    if any(p in (".", "..") for p in parts) or "//" in raw.lstrip("/"):
        return None, False  # `a//b` too: the page would be served, its relative links broken
    base = out.resolve()
    target = resolved(base.joinpath(*parts))
    if target is None or not target.is_relative_to(base):
        return None, False
    if target.is_dir():
        if not url_path.endswith("/"):
            return None, True
        target = target / "index.html"
    elif url_path.endswith("/") and parts:
        return None, False  # `index.html/` is no folder
    return (target, False) if target.is_file() else (None, False)


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def with_script(html: bytes, build: str) -> bytes:
    """The page with the current build id in its live-reload tag, adding the tag if it has none."""
    mark = BUILD_MARK.encode()
    tag = SCRIPT_TAG.encode()
    if tag in html:
        return html.replace(tag, tag.replace(mark, build.encode()))
    filled = tag.replace(mark, build.encode())
    at = html.lower().rfind(b"</body>")
    return html[:at] + filled + html[at:] if at >= 0 else html + filled


class Handler(BaseHTTPRequestHandler):
    server: LiveServer
    server_version = "sitegen-watch"
    timeout = 30  # seconds a connection may stay silent (or an event stream unread) before it is dropped

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the terminal is for rebuilds, not for every request

    def _dispatch(self, *, head: bool) -> None:
        try:
            path = self.path.split("?", 1)[0].split("#", 1)[0] or "/"  # a path, never a host
            if not self.server.host_allowed(self.headers.get("Host")):
                body = b"sitegen watch serves this machine's own names only (localhost, 127.0.0.1)\n"
                self._send(403, TYPES[".txt"], body, head)
            elif path == PREFIX + "events" and head:
                self._send(200, "text/event-stream", b"", head)
            elif path == PREFIX + "events":
                self._events()
            elif path == PREFIX + "status":
                self._send(200, "application/json", json.dumps(self.server.hub.snapshot()).encode(), head)
            elif path == PREFIX + "live.js":
                self._send(200, TYPES[".js"], script("live.js"), head)
            elif path == PREFIX + "live-worker.js":
                self._send(200, TYPES[".js"], script("live-worker.js"), head)
            else:
                self._static(path, head)
        except _GONE:
            pass

    def _send(self, code: int, ctype: str, body: bytes, head: bool, extra: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _static(self, path: str, head: bool) -> None:
        previewed = self.server.hub.page(_page_of(path))
        if previewed is not None:  # answered without a look at the disk: a build is running
            data, build = previewed
            self._send(200, TYPES[".html"], with_script(data, build), head)
            return
        build = self.server.hub.build_id()  # read before the file: a newer page only reloads once more
        try:
            target, redirect = resolve(self.server.out, path)
        except (UnicodeDecodeError, ValueError, OSError):
            target, redirect = None, False
        if redirect:
            query = self.path.partition("?")[2]
            # to the folder's own address: `/a%2Fb%2F` names the folder a/b, but a page served
            # there would resolve its relative links from `/` (the %2F are no slashes to a browser)
            folder = quote(unquote(path).strip("/")) if "%" in path else path.strip("/")
            location = "/" + folder + "/" + (f"?{query}" if query else "")  # never `//host`
            self._send(301, TYPES[".txt"], b"moved\n", head, {"Location": location})
            return
        body: bytes | None = None
        if target is not None:
            try:
                body = target.read_bytes()
            except OSError:  # swapped away by a publish between resolve and read
                body = None
        if body is None or target is None:
            page = _not_found(path, self.server.hub.snapshot())
            self._send(404, TYPES[".html"], with_script(page, build), head)
            return
        ctype = content_type(target)
        if ctype.startswith("text/html"):
            body = with_script(body, build)
        self._send(200, ctype, body, head)

    def _events(self) -> None:
        hub = self.server.hub
        client = hub.subscribe()
        if client is None:
            self._send(503, TYPES[".txt"], b"too many live-reload connections\n", False)
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n" + _event("hello", hub.snapshot()))
            quiet = 0.0
            while True:
                try:
                    message = client.queue.get(timeout=GONE_CHECK_SECONDS)
                except queue.Empty:
                    # a closed tab is noticed within a second, not at the next write: its slot
                    # among MAX_CLIENTS is free again for the pages that come after it
                    if self._peer_gone():
                        return
                    quiet += GONE_CHECK_SECONDS
                    if quiet >= KEEPALIVE_SECONDS:
                        self.wfile.write(b": keep-alive\n\n")
                        quiet = 0.0
                    continue
                if message is None:
                    return
                self.wfile.write(message)
        except (*_GONE, OSError):
            pass
        finally:
            hub.unsubscribe(client)

    def _peer_gone(self) -> bool:
        """Whether the client has closed its end (an event stream's client never sends more)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _page_of(url_path: str) -> str:
    """The output-relative file a URL path names (previews hold only plain `a/b/index.html` keys)."""
    try:
        raw = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return ""
    parts = [p for p in raw.split("/") if p]
    return "/".join([*parts, "index.html"] if raw.endswith("/") else parts)


def _not_found(path: str, status: dict) -> bytes:
    if not status["ok"]:
        note = "The last build failed; the diagnostics are shown over this page."
    elif status["builds"] == 0:
        note = "The site is being built; this page reloads when it is ready."
    else:
        note = "Nothing is published at this address."
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>'
        f"<body><h1>Not found: {escape(path)}</h1><p>{note}</p>"
        '<p><a href="/">Home</a></p></body></html>\n'
    ).encode()


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Connections waiting to be accepted (socketserver's default is 5): tabs reloading at once
    # after a build open several each, and while a rebuild holds the GIL the accepting thread
    # falls behind; a connection beyond the queue has its SYN dropped and waits a second.
    request_queue_size = 128

    def __init__(self, host: str, port: int, out: Path, hub: Hub) -> None:
        self.out, self.hub = out, hub
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), Handler)

    def host_allowed(self, header: str | None) -> bool:
        """A server listening on a loopback address answers only requests naming a loopback
        host: a web page elsewhere whose name is made to resolve to 127.0.0.1 (DNS rebinding)
        cannot read the preview.  One listening on other addresses was asked to, by --host."""
        if not _is_loopback(str(self.server_address[0])) or not header:
            return True
        name = header.rsplit(":", 1)[0] if not header.endswith("]") else header
        name = name.strip("[]").lower().rstrip(".")
        return name == "localhost" or name.endswith(".localhost") or _is_loopback(name)

    def url(self) -> str:
        host, port = (str(part) for part in self.server_address[:2])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, _GONE):
            print(f"sitegen: serving {client_address}: {type(exc).__name__}: {exc}", file=sys.stderr)
