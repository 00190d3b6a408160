"""Security: hostile content is inert, paths stay inside the output, publishing survives SIGKILL
and concurrent builds, and the output is reproducible (README "Guarantees", SPEC §5-§6).

Every assertion about output is made on parsed documents (html5lib, xml.etree, json); string
searches only back them up.  Subprocesses always run with a timeout and are killed, with their
whole process group, in a `finally`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import html5lib
import pytest
from conftest import FIXTURE_SITE, write_files

import sitegen.cli_build  # noqa: F401  imported now: Progress() binds sys.stderr at import (see report)
from sitegen.cli import main
from sitegen.views import tag_view

XHTML = "{http://www.w3.org/1999/xhtml}"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BUILD = [sys.executable, "-m", "sitegen", "build"]
TIMEOUT = 60

# --------------------------------------------------------------------------- hostile corpus

# Payloads set window.__xss or open a dialog if they ever run; nothing here may become markup.
VECTORS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror="window.__xss=1">',
    "' onmouseover='window.__xss=1' x='",
    "javascript:alert(1)",
    "data:text/html,<script>window.__xss=1</script>",
    "</script><script>window.__xss=1</script>",
    "<svg onload=window.__xss=1>",
    "<!--",
    "-->",
    "]]>",
    "<![CDATA[x]]>",
    "{{ 7*7 }}",
    "&lt;b&gt;&amp;",
]
UNICODE = "line\u2028sep para\u2029sep rlo\u202eevil zero\u200bwidth\u200djoin bom\ufeffmid"
TITLE = "T " + " ".join(VECTORS) + " " + UNICODE + " end"
SUMMARY = "S " + " ".join(reversed(VECTORS)) + " " + UNICODE + " end"
AUTHOR = "Desk \"><svg onload=window.__xss=1> ' onmouseover='alert(1)' \u202emid"
TAGS = [*VECTORS[:9], "rlo\u202eevil", "zero\u200bwidth", "line\u2028sep"]
# A link (and a feed category) per tag page: of tags sharing a slug (`<!--` and `-->`), the first.
ONE_PER_TAG_PAGE = list({tag_view(tag).slug: tag for tag in reversed(TAGS)}.values())[::-1]
SITE_TITLE = 'W </title><script>alert(1)</script> "><img src=x onerror=alert(1)> <!-- ]]> \u2028 end'
BODY_NAME = "NA <img src=x onerror='window.__xss=1'> </script><script>alert(1)</script> ]]> end"
SOURCE_TITLE = 'Src <script>window.__xss=1</script> "><img src=x onerror=alert(1)> ]]> <!-- end'
SOURCE_PUBLISHER = "Pub ' onmouseover='alert(1)' <iframe src=javascript:alert(1)> end"
SOURCE_AUTHOR = 'Au <a href="javascript:alert(1)">x</a> end'
SOURCE_URL = "https://example.org/a?b=1&c=%3Cscript%3E&d=javascript:alert(1)#x"
# A quote is checked against its source; this one is valid inline HTML and a Markdown link.
QUOTE = (
    "<img src=x onerror='window.__xss=1'> </script><script>alert(1)</script> "
    "' onmouseover='alert(1)' <!-- ]]> [click](javascript:alert(1)) data:text/html,x"
)
SOURCE_PARAGRAPH = '<script>window.__xss=1</script> <img src=x onerror="alert(1)"> ]]> <!-- end'
HOSTILE_FILE = "content/articles/\"><img src=x onerror='window.__xss=1'>.md"
HOSTILE_SLUG = "img-src-x-onerror-window-xss-1"  # the default slug of HOSTILE_FILE

FORBIDDEN_ELEMENTS = {
    "img", "svg", "iframe", "object", "embed", "form", "base", "style", "math", "frame",
    "frameset", "input", "button", "textarea", "video", "audio", "source", "template",
}  # fmt: skip
SOURCE_STUB = "---\ntitle: S\npublisher: P\ndate: 2021-03-05\n---\nText.\n"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "srcset", "background", "ping"}


def q(text: str) -> str:
    """A double-quoted YAML / TOML string (JSON escapes are valid in both)."""
    return json.dumps(text)


def annotation_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(title: str = SITE_TITLE, body_name: str = BODY_NAME, language: str = "en") -> str:
    text = (FIXTURE_SITE / "site.toml").read_text(encoding="utf-8")
    text = text.replace('title = "Fixture Watch"', f"title = {q(title)}")
    text = text.replace('name = "National Assembly"', f"name = {q(body_name)}")
    return text.replace('language = "en"', f"language = {q(language)}")


def _hostile_files() -> dict[str, str]:
    article = (
        "---\n"
        f"title: {q(TITLE)}\n"
        "date: 2021-03-06\n"
        f"tags: {json.dumps(TAGS)}\n"
        f"author: {q(AUTHOR)}\n"
        f"summary: {q(SUMMARY)}\n"
        "---\n"
        "The allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>.\n\n"
        f"He said it <<claim src=evil quote={annotation_string(QUOTE)}>>.\n\n"
        "Gilani got 169 votes and Shaikh 164 <<tally Gilani=169 Shaikh=164 winner=Gilani margin=5>>.\n\n"
        "A figure <<fact odd.name-x_1=178>> and then many seats <<seats NA=@odd.name-x_1/342>>.\n\n"
        "The party holds a lot of seats <<seats NA=178/342>>.\n"
    )
    source = (
        "---\n"
        f"title: {q(SOURCE_TITLE)}\n"
        f"publisher: {q(SOURCE_PUBLISHER)}\n"
        f"author: {q(SOURCE_AUTHOR)}\n"
        "date: 2021-03-05\n"
        f"url: {q(SOURCE_URL)}\n"
        "---\n"
        f"Before the vote: {QUOTE} After.\n\n{SOURCE_PARAGRAPH}\n"
    )
    return {"site.toml": _config(), HOSTILE_FILE: article, "content/sources/evil.md": source}


# --------------------------------------------------------------------------- helpers


def _site(tmp_path: Path, name: str = "site") -> Path:
    site = tmp_path / name
    shutil.copytree(FIXTURE_SITE, site)
    return site


def _build_json(capsys, site: Path, out: Path, *extra: str) -> tuple[int, list[dict], str]:
    """In-process `sitegen build --format json`: exit status, diagnostics, stderr."""
    capsys.readouterr()
    status = main(["build", str(site), "--out", str(out), "--format", "json", *extra])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    return status, json.loads(captured.out)["diagnostics"] if captured.out.strip() else [], captured.err


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under root, by relative path."""
    snap: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        snap[rel] = None if path.is_dir() and not path.is_symlink() else path.read_bytes()
    return snap


def _listing(root: Path, skip: set[str]) -> dict[str, tuple]:
    """Everything under root (not following links) except the given subtrees: type, size, hash."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [d for d in dirnames if _join(rel_dir, d) not in skip]
        for name in dirnames + filenames:
            rel, path = _join(rel_dir, name), Path(dirpath) / name
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir",)
            else:
                found[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _join(rel_dir: str, name: str) -> str:
    return name if rel_dir == "." else f"{rel_dir}/{name}"


def _parse(page: Path):
    return html5lib.parse(page.read_bytes())


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element) -> str:
    return "".join(element.itertext())


def _find(doc, tag: str, **attrs: str) -> list:
    return [
        el for el in doc.iter(f"{XHTML}{tag}") if all(el.get(k.rstrip("_")) == v for k, v in attrs.items())
    ]


@contextmanager
def _process(cmd: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    """A subprocess in its own process group, killed with the group on the way out."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kwargs
    )
    try:
        yield proc
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # orphaned build workers, if any
    with suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=TIMEOUT)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    with _process(cmd, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{cmd} did not finish in {TIMEOUT}s")
        return subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode())


def _leftovers(parent: Path, name: str = "out") -> list[str]:
    return sorted(n for n in os.listdir(parent) if n != name)


# --------------------------------------------------------------------------- 1. hostile content is inert


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    site = _site(tmp)
    write_files(site, _hostile_files())
    out = tmp / "out"
    result = _run([*BUILD, str(site), "--out", str(out), "--format", "json"], cwd=tmp)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _scan_page(page: Path, out: Path) -> list[str]:
    """Problems in one page: scripts, event handlers, dangerous URLs, injected elements, comments."""
    doc = _parse(page)
    problems = []
    scripts = [el for el in doc.iter() if _local(el.tag) == "script"]
    is_article = page.parent.parent.name == "articles"
    expected_scripts = 1 if is_article else 0
    if len(scripts) != expected_scripts or any(s.get("type") != "application/ld+json" for s in scripts):
        problems.append(f"scripts: {[(s.get('type'), _text(s)[:60]) for s in scripts]}")
    for el in doc.iter():
        if not isinstance(el.tag, str):
            problems.append(f"comment node: {el.text!r:.80}")
            continue
        name = _local(el.tag)
        if name in FORBIDDEN_ELEMENTS or (name == "meta" and el.get("http-equiv")):
            problems.append(f"element <{name}> {dict(el.attrib)}")
        for attr, value in el.attrib.items():
            local = _local(attr).lower()
            if local.startswith("on"):
                problems.append(f"<{name}> has event handler {attr}={value!r}")
            if local in URL_ATTRIBUTES:
                cleaned = re.sub(r"[\x00-\x20\x7f-\x9f]", "", value).lower()
                if urlsplit(cleaned).scheme not in ("", "http", "https"):
                    problems.append(f"<{name} {attr}={value!r}>")
    return [f"{page.relative_to(out)}: {p}" for p in problems]


def test_hostile_values_produce_no_script_handler_or_dangerous_url(hostile: Path) -> None:
    pages = sorted(hostile.rglob("*.html"))
    assert len(pages) >= 5
    problems = [p for page in pages for p in _scan_page(page, hostile)]
    assert not problems, "\n".join(problems)


def test_json_ld_parses_and_round_trips_hostile_values(hostile: Path) -> None:
    page = hostile / "articles" / HOSTILE_SLUG / "index.html"
    raw = page.read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', raw, re.S)
    assert len(blocks) == 1 and "<" not in blocks[0], "JSON-LD must not contain a raw `<`"
    scripts = _find(_parse(page), "script", type="application/ld+json")
    data = json.loads(scripts[0].text)
    assert data["headline"] == TITLE
    assert data["description"] == SUMMARY
    assert data["author"]["name"] == AUTHOR
    assert data["keywords"] == TAGS
    assert data["publisher"]["name"] == SITE_TITLE
    [citation] = data["citation"]
    assert citation["name"] == SOURCE_TITLE and citation["publisher"]["name"] == SOURCE_PUBLISHER
    assert citation["author"] == SOURCE_AUTHOR and citation["url"] == SOURCE_URL


def test_hostile_values_are_shown_as_text_on_the_article(hostile: Path) -> None:
    doc = _parse(hostile / "articles" / HOSTILE_SLUG / "index.html")
    assert doc.get("lang") == "en"
    assert _text(_find(doc, "title")[0]) == f"{TITLE} — {SITE_TITLE}"
    assert _text(_find(doc, "h1")[0]) == TITLE
    assert _find(doc, "meta", name="description")[0].get("content") == SUMMARY
    byline = _find(doc, "p", class_="byline")[0]
    assert _text(byline).startswith(f"By {AUTHOR} · ")
    tags = _find(doc, "ul", class_="tags")[0]
    assert [_text(a) for a in tags.iter(f"{XHTML}a")] == ONE_PER_TAG_PAGE
    notes = _find(doc, "section", class_="footnotes")[0]
    items = list(notes.iter(f"{XHTML}li"))
    assert [_text(p) for p in notes.iter(f"{XHTML}blockquote")] == [f"“{QUOTE}”"]
    assert any(BODY_NAME in _text(li) for li in items), "the body's name is shown as text"
    cites = [_text(c) for c in notes.iter(f"{XHTML}cite")]
    assert cites == [SOURCE_TITLE]
    external = [a.get("href") for a in notes.iter(f"{XHTML}a") if a.get("rel") == "external noopener"]
    assert external == [SOURCE_URL]


def test_hostile_values_are_shown_as_text_on_site_pages(hostile: Path) -> None:
    index = _parse(hostile / "index.html")
    assert _text(_find(index, "h1")[0]) == SITE_TITLE
    assert [_text(h) for h in _find(index, "h2")] == [TITLE]
    assert SUMMARY in [_text(p) for p in _find(index, "p")]
    source = _parse(hostile / "sources" / "evil" / "index.html")
    assert _text(_find(source, "h1")[0]) == SOURCE_TITLE
    details = [_text(dd) for dd in _find(source, "dd")]
    assert SOURCE_PUBLISHER in details and SOURCE_AUTHOR in details
    assert SOURCE_PARAGRAPH in [_text(p) for p in _find(source, "p")]
    tag_pages = sorted((hostile / "tags").iterdir())
    assert tag_pages and all(re.fullmatch(r"[a-z0-9-]+", p.name) for p in tag_pages)
    headings = {_text(_find(_parse(p / "index.html"), "h1")[0]) for p in tag_pages}
    assert f"Tagged “{VECTORS[0]}”" in headings


def test_feed_sitemap_and_checks_json_parse_and_round_trip(hostile: Path) -> None:
    feed = ET.parse(hostile / "feed.xml").getroot()
    assert feed.find(f"{ATOM}title").text == SITE_TITLE
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == TITLE
    assert entry.find(f"{ATOM}summary").text == SUMMARY
    assert entry.find(f"{ATOM}author/{ATOM}name").text == AUTHOR
    assert [c.get("label") for c in entry.findall(f"{ATOM}category")] == ONE_PER_TAG_PAGE
    for link in feed.iter(f"{ATOM}link"):
        assert urlsplit(link.get("href")).scheme == "https"
    sitemap = ET.parse(hostile / "sitemap.xml").getroot()
    for loc in sitemap.iter(f"{SITEMAP}loc"):
        path = urlsplit(loc.text).path
        assert loc.text.startswith("https://example.org/")
        assert re.fullmatch(r"/([a-z0-9-]+/([A-Za-z0-9_.-]+/)?)?", path), loc.text
    checks = json.loads((hostile / "checks.json").read_text(encoding="utf-8"))["checks"]
    assert {c["file"] for c in checks} == {HOSTILE_FILE}
    assert any(c["summary"].startswith(f"{BODY_NAME}:") for c in checks if c["kind"] == "seats")


def test_hostile_pages_run_no_script_in_chromium(hostile: Path, tmp_path: Path) -> None:
    from browser import browser_page

    control = tmp_path / "control.html"  # proves the detector: a payload that does get through is seen
    control.write_text('<!DOCTYPE html><title>c</title><img src=x onerror="window.__xss=1">')
    pages = [
        hostile / "articles" / HOSTILE_SLUG / "index.html",
        hostile / "index.html",
        hostile / "sources" / "evil" / "index.html",
        hostile / "checks" / "index.html",
        *sorted((hostile / "tags").glob("*/index.html"))[:3],
    ]
    dialogs: list[str] = []
    with browser_page() as page:
        page.on("dialog", lambda d: (dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
        page.goto(control.as_uri())
        page.wait_for_function("window.__xss === 1", timeout=5000)
        for target in pages:
            page.goto(target.as_uri(), wait_until="load")
            page.wait_for_timeout(150)  # an onerror of a broken image fires after load
            page.mouse.move(10, 10)
            page.mouse.move(200, 300)
            assert page.evaluate("typeof window.__xss") == "undefined", target
            assert page.evaluate("document.scripts.length") <= 1, target
    assert dialogs == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("language", 'en" onload="alert(1)'),
        ("language", "en><script>alert(1)</script>"),
        ("base_url", "javascript:alert(1)//"),
        ("base_url", "data:text/html,x/"),
        ("base_url", 'https://example.org/"><script>alert(1)</script>'),
        ("base_url", "https://example.org/' onmouseover='alert(1)"),
    ],
)
def test_hostile_site_settings_are_config_errors(tmp_path: Path, capsys, key: str, value: str) -> None:
    site = _site(tmp_path)
    config = _config("Plain", "National Assembly")
    original = {"language": 'language = "en"', "base_url": 'base_url = "https://example.org/"'}[key]
    write_files(site, {"site.toml": config.replace(original, f"{key} = {q(value)}")})
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    assert status == 2 and [d["code"] for d in diags] == ["SG901"]
    assert diags[0]["file"] == "site.toml"
    assert not out.exists()


BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "ftp://example.org/x",
    'https://example.org/" onmouseover="alert(1)',
    "https://example.org/' onmouseover='alert(1)",
    "https://example.org/<script>",
    "/relative/path",
    'https://example.org/a"b',
    "https://",
    "https:///path",
    "https://:80/",
    "https://user@:80/",
    "https://example.org/a\u00a0b",
]


def _build_with_source_urls(tmp_path: Path, capsys, stem: str, urls: list[str]) -> tuple:
    """Build a site with one source per url, content/sources/{stem}{i}.md: (files, status, diags, out)."""
    site = _site(tmp_path)
    files = {
        f"content/sources/{stem}{i}.md": (
            f"---\ntitle: Source {i}\npublisher: P\ndate: 2021-03-05\nurl: {q(url)}\n---\nText.\n"
        )
        for i, url in enumerate(urls)
    }
    write_files(site, files)
    out = tmp_path / "out"
    status, diags, _ = _build_json(capsys, site, out)
    return files, status, diags, out


def test_source_url_must_be_http_or_https(tmp_path: Path, capsys) -> None:
    files, status, diags, out = _build_with_source_urls(tmp_path, capsys, "bad", BAD_URLS)
    flagged = {d["file"] for d in diags if d["code"] == "SG501"}
    missed = [BAD_URLS[int(Path(f).stem[3:])] for f in sorted(set(files) - flagged)]
    assert not missed, f"not rejected: {missed}"
    assert status == 1 and not out.exists()


GOOD_URLS = [
    "https://en.wikipedia.org/wiki/Imran_Khan's_government",
    "https://en.wikipedia.org/wiki/Pakistan_Tehreek-e-Insaf_(PTI)",
    "https://example.org/search?q=vote&page=2#results",
    "https://example.org/ur/عدم-اعتماد",
    "HTTP://EXAMPLE.ORG",
    "https://example.org/a|b{c}^d",
]


def test_every_real_http_address_is_accepted_and_escaped(tmp_path: Path, capsys) -> None:
    _, status, diags, out = _build_with_source_urls(tmp_path, capsys, "good", GOOD_URLS)
    assert status == 0, diags
    page = (out / "sources" / "good0" / "index.html").read_text(encoding="utf-8")
    assert 'href="https://en.wikipedia.org/wiki/Imran_Khan&#39;s_government"' in page


def test_hostile_annotation_arguments_are_rejected_not_rendered(tmp_path: Path, capsys) -> None:
    """Candidate and fact names are KEYs; anything else in them, or a hostile winner or
    source id, is an error at that article — never markup."""
    bodies = {
        "tally-name": 'Votes 1 and 2 <<tally Gilani=1 x"onmouseover=2>>.',
        "fact-name": "A <<fact x'onmouseover=1>>.",
        "fact-js": "A <<fact javascript:alert=1>>.",
        "winner": 'Votes 3 and 2 <<tally a=3 b=2 winner="x onerror=alert(1)">>.',
        "src-path": 'Said <<claim src="../../etc/passwd" quote="x">>.',
        "src-abs": 'Said <<claim src="/etc/passwd">>.',
        "majority": '178 of 342 <<seats NA=178/342 majority="<script>alert(1)</script>">>.',
    }
    files = {
        f"content/articles/{name}.md": f"---\ntitle: {name}\ndate: 2021-03-06\n---\n{body}\n"
        for name, body in bodies.items()
    }
    write_files(site := _site(tmp_path), files)
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    errors = {d["file"] for d in diags if d["severity"] == "error"}
    assert errors == set(files), f"accepted: {sorted(set(files) - errors)}"
    assert status == 1 and not out.exists()


# --------------------------------------------------------------------------- 2. paths stay inside

BAD_SLUGS = {
    "dotdot": "..",
    "dotdot-path": "../../escape",
    "slash": "a/b",
    "absolute": "/tmp/escape",
    "nul": "a\u0000b",
    "backslash": "a\\..\\b",
    "upper": "Con",
    "space": "a b",
    "dot": "a.b",
    "unicode-capital": "Caf\u00e9",
    "cyrillic-capital": "\u0412\u044b\u0431\u043e\u0440\u044b",
    "too-long": "a" * 256,
    "newline": "a\nb",
    "xss": '"><img src=x onerror=alert(1)>',
    "js": "javascript:alert(1)",
}


def test_bad_slugs_are_sg501_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    site = _site(tmp_path)
    files = {
        f"content/articles/{name}.md": f"---\ntitle: {name}\ndate: 2021-03-06\nslug: {q(slug)}\n---\nText.\n"
        for name, slug in BAD_SLUGS.items()
    }
    write_files(site, files)
    before = _listing(tmp_path, {"site/.sitegen-cache"})
    out = tmp_path / "box" / "out"
    status, diags, err = _build_json(capsys, site, out)
    flagged = {d["file"] for d in diags if d["code"] == "SG501"}
    assert flagged == set(files), f"accepted: {sorted(set(files) - flagged)}"
    assert status == 1 and not out.exists()
    assert _listing(tmp_path, {"site/.sitegen-cache", "box"}) == before
    assert _leftovers(tmp_path / "box") == []


def _assert_inside(out: Path) -> None:
    real = out.resolve()
    for path in out.rglob("*"):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(real), path


def test_odd_but_valid_names_stay_inside_the_output(tmp_path: Path, capsys) -> None:
    """`con` is a valid slug, tags with path characters are normalised, odd source ids stay put."""
    site = _site(tmp_path)
    tags = ["..", "../../etc", "/abs/path", "a/b", "con", "nul\u0000x", "C:\\win", "..\\..", "aux"]
    write_files(
        site,
        {
            "content/articles/a.md": (
                f"---\ntitle: A\ndate: 2021-03-06\nslug: con\ntags: {json.dumps(tags)}\n---\n"
                "Said <<claim src=a..b>> and <<claim src=con>> and <<claim src=X_1.2-z>>.\n"
            ),
            **{f"content/sources/{sid}.md": SOURCE_STUB for sid in ("a..b", "con", "X_1.2-z")},
        },
    )
    before = _listing(tmp_path, {"site/.sitegen-cache"})
    out = tmp_path / "box" / "out"
    status, diags, err = _build_json(capsys, site, out)
    assert status == 0, diags
    assert (out / "articles" / "con" / "index.html").is_file()
    for sid in ("a..b", "con", "X_1.2-z"):
        assert (out / "sources" / sid / "index.html").is_file()
    tag_dirs = sorted(p.name for p in (out / "tags").iterdir())
    assert tag_dirs and all(re.fullmatch(r"[a-z0-9-]+", t) for t in tag_dirs), tag_dirs
    _assert_inside(out)
    assert _listing(tmp_path, {"site/.sitegen-cache", "box"}) == before
    assert _leftovers(tmp_path / "box") == []


def test_bad_source_ids_are_sg501(tmp_path: Path, capsys) -> None:
    site = _site(tmp_path)
    names = ["a b", "$(id)", "-lead", "x" * 101, "<b>", "semi;colon"]
    files = {f"content/sources/{n}.md": SOURCE_STUB for n in names}
    write_files(site, files)
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    assert {d["file"] for d in diags if d["code"] == "SG501"} == set(files)
    assert status == 1 and not out.exists()


@pytest.mark.parametrize("field", ["slug", "tag"])
def test_very_long_names_are_rejected_or_normalised(tmp_path: Path, capsys, field: str) -> None:
    """A 300-character slug or tag is a valid-looking name that no file system takes as one
    path component: it must give a diagnostic at the article (exit 1) or be shortened (exit 0)."""
    site = _site(tmp_path)
    name = "x" * 300
    line = f"slug: {name}" if field == "slug" else f"tags: [{name}]"
    rel = "content/articles/a.md"
    write_files(site, {rel: f"---\ntitle: A\ndate: 2021-03-06\n{line}\n---\nText.\n"})
    out = tmp_path / "box" / "out"
    status, diags, err = _build_json(capsys, site, out)
    assert status in (0, 1), f"exit {status}: {err.strip()[:300]}"
    if status == 1:
        assert [d["file"] for d in diags if d["severity"] == "error"] == [rel]
        assert not out.exists()
    else:
        _assert_inside(out)
    assert _leftovers(tmp_path / "box") == []


def test_symlinks_out_of_the_site_are_not_followed(tmp_path: Path, capsys) -> None:
    site = _site(tmp_path)
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    secret_article = "---\ntitle: SECRET-ARTICLE\ndate: 2021-03-06\n---\nSECRET-BODY text.\n"
    (outside / "secret.md").write_text(secret_article)
    (outside / "dir" / "inner.md").write_text(secret_article.replace("ARTICLE", "INNER"))
    (outside / "src.md").write_text(SOURCE_STUB.replace("title: S", "title: SECRET-SOURCE") + "SECRET-TEXT\n")
    (outside / "leak.css").write_text("/* SECRET-CSS */")
    write_files(
        site,
        {
            "content/articles/ok.md": "---\ntitle: OK\ndate: 2021-03-06\n---\nPlain text.\n",
            "static/site.css": "body { color: black; }\n",
        },
    )
    links = {
        "content/articles/link.md": outside / "secret.md",
        "content/articles/linkdir": outside / "dir",
        "content/articles/dangling.md": outside / "missing.md",
        "content/sources/003.md": outside / "src.md",
        "static/leak.css": outside / "leak.css",
        "static/linkdir": outside,
    }
    for rel, target in links.items():
        (site / rel).symlink_to(target)
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    if status != 0:  # allowed only if every diagnostic names one of the links, clearly
        assert status == 1 and diags and all(d["file"] in links for d in diags), diags
        return
    files = _snapshot(out)
    assert "articles/link/index.html" not in files and "sources/003/index.html" not in files
    assert not any("SECRET" in data.decode("utf-8", "replace") for data in files.values() if data)
    assert {p for p in files if p.startswith("articles/")} == {"articles/ok", "articles/ok/index.html"}
    assert "static/leak.css" not in files and not any(p.startswith("static/linkdir") for p in files)
    _assert_inside(out)


def _medium_site(tmp_path: Path, count: int) -> Path:
    site = _site(tmp_path)
    para = "The allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>. " * 4
    write_files(
        site,
        {
            f"content/articles/a{i:04}.md": (
                f"---\ntitle: A{i}\ndate: 2021-03-{1 + i % 28:02}\ntags: [t{i % 7}]\n---\n{para}\n"
            )
            for i in range(count)
        },
    )
    return site


def _publishing(box: Path, site: Path) -> bool:
    """A build is writing its new tree: beside the output, or as the spare in the site's cache."""
    beside = box.is_dir() and any(".sitegen-tmp-" in n for n in os.listdir(box))
    cache = site / ".sitegen-cache"
    return beside or (cache.is_dir() and any(n.endswith(".building") for n in os.listdir(cache)))


def _kill_when_publishing(cmd: list[str], box: Path, env: dict[str, str], cwd: Path, site: Path) -> bool:
    """Start a build, SIGKILL it once its new tree is being written; True if it was caught mid-build."""
    with _process(cmd, env=env, cwd=cwd) as proc:
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if _publishing(box, site):
                time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=TIMEOUT)
                return True
            time.sleep(0.002)
    return False


def test_builds_write_nothing_beside_the_output_or_elsewhere(tmp_path: Path) -> None:
    site = _medium_site(tmp_path, 60)
    box, cwd, home, tmpdir = (tmp_path / n for n in ("box", "cwd", "home", "tmpdir"))
    for d in (cwd, home, tmpdir):
        d.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmpdir), "PYTHONDONTWRITEBYTECODE": "1"}
    out = box / "out"
    cmd = [*BUILD, str(site), "--out", str(out)]
    skip = {"site/.sitegen-cache", "box", "home", "tmpdir"}  # HOME and TMPDIR: the next two tests

    def build(expected: int) -> None:
        before = _listing(tmp_path, skip)
        result = _run(cmd, env=env, cwd=cwd)
        assert result.returncode == expected, result.stderr
        assert _listing(tmp_path, skip) == before, "a build wrote outside its output"
        assert _leftovers(box) == [], "a build left something beside its output"

    build(0)
    good = _snapshot(out)
    bad = "---\ntitle: B\ndate: 2021-03-06\n---\n1 of 9 <<seats NA=1/9>>.\n"
    write_files(site, {"content/articles/bad.md": bad})
    build(1)
    assert _snapshot(out) == good
    (site / "content/articles/bad.md").unlink()
    write_files(site, {"site.toml": _config("Changed", "National Assembly")})
    before = _listing(tmp_path, skip)
    assert _kill_when_publishing(cmd, box, env, cwd, site), "the build finished before it could be killed"
    assert _listing(tmp_path, skip) == before
    assert _snapshot(out) == good
    assert all(n.startswith(".out.sitegen-") for n in _leftovers(box))
    build(0)
    assert _snapshot(out) != good
    build(0)  # a no-op rebuild
    assert sorted(os.listdir(tmp_path)) == ["box", "cwd", "home", "site", "tmpdir"]


def test_a_build_writes_nothing_in_home_or_tmpdir(tmp_path: Path) -> None:
    """Only the output and SITE/.sitegen-cache/ are written: not $HOME (~/.cache), not $TMPDIR."""
    site = _medium_site(tmp_path, 3)
    home, tmpdir = tmp_path / "home", tmp_path / "tmpdir"
    home.mkdir(), tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env.update(HOME=str(home), TMPDIR=str(tmpdir))
    result = _run([*BUILD, str(site), "--out", str(tmp_path / "out")], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for d in (home, tmpdir) for p in d.rglob("*"))
    assert written == [], f"written outside the site and the output: {written}"


class _Planted:
    """Unpickling this creates a marker file: proof that a planted pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_grammar_cache_in_a_shared_tmp_dir_is_not_unpickled(tmp_path: Path) -> None:
    """With ~/.cache unusable the grammar cache falls back to $TMPDIR/sitegen. A world-writable
    directory there may hold another user's file; lark loads its cache with pickle, so trusting
    it runs that user's code."""
    from sitegen import __version__
    from sitegen.grammar import grammar_text

    site = _medium_site(tmp_path, 1)
    shared = tmp_path / "tmpdir" / "sitegen"
    shared.mkdir(parents=True)
    shared.chmod(0o777)  # as if created by someone else on a shared /tmp
    digest = hashlib.sha256(f"{__version__}\0{grammar_text()}".encode()).hexdigest()[:16]
    marker = tmp_path / "planted-pickle-ran"
    (shared / f"grammar-{digest}.lark-cache").write_bytes(b"0\n" + pickle.dumps(_Planted(marker)))
    not_a_dir = tmp_path / "no-cache-here"
    not_a_dir.write_text("")
    env = {**os.environ, "XDG_CACHE_HOME": str(not_a_dir), "HOME": str(not_a_dir)}
    env["TMPDIR"] = str(shared.parent)
    result = _run([*BUILD, str(site), "--out", str(tmp_path / "out")], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), f"sitegen unpickled grammar-{digest}.lark-cache planted in {shared}"


# --------------------------------------------------------------------------- 3. crash-safe publishing


def _two_version_site(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    """A ~150-article site with inputs A and B that differ on every page; reference builds of both."""
    site = _medium_site(tmp_path, 150)
    refs = {}
    for version in "AB":
        _write_version(site, version)
        ref = tmp_path / "refs" / version
        assert main(["build", str(site), "--out", str(ref), "--no-cache"]) == 0
        refs[version] = _snapshot(ref)
    assert refs["A"] != refs["B"]
    return site, refs


def _write_version(site: Path, version: str) -> None:
    write_files(
        site,
        {
            "site.toml": _config(f"Version {version}", "National Assembly"),
            "content/articles/a0000.md": (
                f"---\ntitle: Lead {version}\ndate: 2021-04-01\n---\nText {version}.\n"
            ),
        },
    )


def test_sigkill_at_random_moments_leaves_old_or_new_site(tmp_path: Path) -> None:
    site, refs = _two_version_site(tmp_path)
    box = tmp_path / "box"
    out = box / "out"
    cmd = [*BUILD, str(site), "--out", str(out)]
    _write_version(site, "A")
    started = time.monotonic()
    assert _run(cmd).returncode == 0
    full = time.monotonic() - started
    assert _snapshot(out) == refs["A"]
    rng = random.Random(20240531)
    state, mid_build, seen = "A", 0, []
    for trial in range(20):
        target = "B" if state == "A" else "A"
        _write_version(site, target)
        delay = rng.uniform(0.0, full * 1.2)
        with _process(cmd) as proc:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=TIMEOUT)
        mid_build += _publishing(box, site)
        now = _snapshot(out)
        assert now in (refs[state], refs[target]), f"trial {trial}: torn output after a kill at {delay:.3f}s"
        state = state if now == refs[state] else target
        seen.append(state == target)
    assert mid_build >= 3, f"only {mid_build} of 20 kills landed while a build was publishing"
    assert _run(cmd).returncode == 0
    assert _snapshot(out) == refs[target]
    assert _leftovers(box) == [], "leftovers of killed builds survive the next build"


def test_two_builds_at_once_both_succeed_and_never_mix(tmp_path: Path) -> None:
    site, refs = _two_version_site(tmp_path)
    box = tmp_path / "box"
    out = box / "out"
    cmd = [*BUILD, str(site), "--out", str(out)]
    for version in "ABA":  # the first round starts with no output at all
        _write_version(site, version)
        with _process(cmd) as one, _process(cmd) as two:
            results = [p.communicate(timeout=TIMEOUT) for p in (one, two)]
            codes = [one.returncode, two.returncode]
        assert codes == [0, 0], [err.decode()[-500:] for _, err in results]
        assert _snapshot(out) == refs[version], f"round {version}: output is not the reference build"
        assert _leftovers(box) == []


def _lead(site: Path, text: str) -> None:
    write_files(site, {"content/articles/lead.md": f"---\ntitle: Lead\ndate: 2021-04-01\n---\n{text}\n"})


@pytest.fixture
def no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system without RENAME_EXCHANGE (older overlayfs, NFS)."""
    import sitegen.publish

    monkeypatch.setattr(sitegen.publish, "_exchange", lambda a, b: False)
    monkeypatch.setattr(sitegen.publish, "_warned_two_renames", False)


def test_without_an_atomic_exchange_two_renames_publish_and_say_so(
    tmp_path: Path, capsys, no_exchange: None
) -> None:
    site, out = _site(tmp_path), tmp_path / "box" / "out"
    for text in ("First.", "Second.", "Third."):
        _lead(site, text)
        assert main(["build", str(site), "--out", str(out)]) == 0
        assert text in (out / "articles" / "lead" / "index.html").read_text(encoding="utf-8")
        assert _leftovers(tmp_path / "box") == []
    assert capsys.readouterr().err.count("cannot swap folders atomically") == 1


def test_a_new_site_that_cannot_be_moved_in_puts_the_old_one_back(
    tmp_path: Path, capsys, no_exchange: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sitegen.publish

    site, out = _site(tmp_path), tmp_path / "box" / "out"
    _lead(site, "First.")
    assert main(["build", str(site), "--out", str(out)]) == 0
    before = _snapshot(out)
    rename = os.rename

    def failing_second(src, dst) -> None:
        if Path(dst) == out and sitegen.publish.OLD_MARK not in str(src):
            raise OSError(28, "No space left on device", str(dst))
        rename(src, dst)

    monkeypatch.setattr(sitegen.publish.os, "rename", failing_second)
    _lead(site, "Second.")
    assert main(["build", str(site), "--out", str(out)]) == 2
    assert _snapshot(out) == before


def test_an_old_site_left_between_two_renames_is_put_back(tmp_path: Path, capsys) -> None:
    import sitegen.publish

    site, box = _site(tmp_path), tmp_path / "box"
    out = box / "out"
    _lead(site, "First.")
    assert main(["build", str(site), "--out", str(out), "--no-cache"]) == 0
    before = _snapshot(out)
    os.rename(out, box / f".out{sitegen.publish.OLD_MARK}4242")  # killed after the first rename
    _lead(site, "Second <<seats NA=400/342>>.")  # and the next build fails
    assert main(["build", str(site), "--out", str(out)]) == 1
    assert _snapshot(out) == before
    assert _leftovers(box) == []


# --------------------------------------------------------------------------- 4. reproducible output


def test_same_input_gives_byte_identical_output(tmp_path: Path, capsys) -> None:
    site = _medium_site(tmp_path, 20)
    write_files(site, _hostile_files())
    assert _build_json(capsys, site, tmp_path / "one")[0] == 0
    assert _build_json(capsys, site, tmp_path / "two", "--jobs", "1", "--no-cache")[0] == 0
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(site, moved, ignore=shutil.ignore_patterns(".sitegen-cache"))
    (tmp_path / "cwd").mkdir()
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"}
    result = _run([*BUILD, str(moved), "--out", str(tmp_path / "three")], env=env, cwd=tmp_path / "cwd")
    assert result.returncode == 0, result.stderr
    one = _snapshot(tmp_path / "one")
    assert _snapshot(tmp_path / "two") == one
    assert _snapshot(tmp_path / "three") == one
    assert not any(str(tmp_path).encode() in data for data in one.values() if data), "a local path leaked"


def _feed_updated(out: Path) -> str:
    return ET.parse(out / "feed.xml").getroot().find(f"{ATOM}updated").text


@pytest.mark.parametrize("epoch", [1615000000, 1646092800])
def test_empty_site_feed_updated_comes_from_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: int
) -> None:
    site = _site(tmp_path)  # sources but no articles
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    assert main(["build", str(site), "--out", str(tmp_path / "out")]) == 0
    updated = dt.datetime.fromisoformat(_feed_updated(tmp_path / "out").replace("Z", "+00:00"))
    instant = dt.datetime.fromtimestamp(epoch, dt.UTC)
    assert updated.date() == instant.date() and updated <= instant < updated + dt.timedelta(days=1)


def test_source_date_epoch_change_is_not_hidden_by_a_no_op_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same input (SOURCE_DATE_EPOCH included) gives the same output whatever was built before."""
    site = _site(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1615000000")
    assert main(["build", str(site), "--out", str(out)]) == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1646092800")
    assert main(["build", str(site), "--out", str(out)]) == 0
    assert main(["build", str(site), "--out", str(tmp_path / "fresh"), "--no-cache"]) == 0
    assert _feed_updated(tmp_path / "fresh").startswith("2022-03-01")
    assert _feed_updated(out) == _feed_updated(tmp_path / "fresh")
    assert _snapshot(out) == _snapshot(tmp_path / "fresh")


CONTROL = "A\u0001B\u000bC\u001b[31mD\u0008E"  # C0 controls: YAML and TOML escapes allow them


def _control_site(site: Path, field: str) -> None:
    value = q(CONTROL)
    article = {"title": "Plain", "summary": "Plain", "author": "Plain", "tags": '["plain"]'}
    if field in article:
        article[field] = value if field != "tags" else f"[{value}]"
    front = "".join(f"{k}: {v}\n" for k, v in article.items())
    files = {"content/articles/a.md": f"---\n{front}date: 2021-03-06\n---\nSaid <<claim src=001>>.\n"}
    if field == "site title":
        files["site.toml"] = _config(CONTROL, "National Assembly")
    if field == "source title":
        files["content/sources/001.md"] = SOURCE_STUB.replace("title: S", f"title: {value}")
    write_files(site, files)


@pytest.mark.parametrize("field", ["site title", "title", "summary", "author", "tags", "source title"])
def test_control_characters_keep_feed_and_pages_well_formed(tmp_path: Path, capsys, field: str) -> None:
    """XML 1.0 forbids C0 controls and HTML makes them parse errors: a value holding them is
    rejected with a diagnostic, or they are dropped/replaced in the output."""
    site = _site(tmp_path)
    _control_site(site, field)
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    if status != 0:
        assert status == 1 and diags, err
        return
    problems = []
    for name in ("feed.xml", "sitemap.xml"):
        try:
            ET.parse(out / name)
        except ET.ParseError as exc:
            line = (out / name).read_text(encoding="utf-8").split("\n")[exc.position[0] - 1]
            problems.append(f"{name}: {exc}: {line!r}")
    for page in sorted(out.rglob("*.html")):
        parser = html5lib.HTMLParser(strict=True)
        try:
            parser.parse(page.read_bytes())
        except html5lib.html5parser.ParseError as exc:
            problems.append(f"{page.relative_to(out)}: {exc}")
    assert not problems, "\n".join(problems)


def test_static_dotfiles_are_copied_and_links_out_are_named(tmp_path: Path, capsys) -> None:
    """`static/` is copied as it is, `.well-known/` included, never version control; a link
    leading out of the site is left out, and said to be."""
    site = _site(tmp_path)
    (tmp_path / "outside.txt").write_text("SECRET")
    write_files(
        site,
        {
            "content/articles/ok.md": "---\ntitle: OK\ndate: 2021-03-06\n---\nPlain text.\n",
            "static/.well-known/security.txt": "Contact: mailto:desk@example.org\n",
            "static/.htaccess": "Options -Indexes\n",
            "static/.git/HEAD": "ref: refs/heads/main\n",
            "static/notes.txt": "inside\n",
        },
    )
    (site / "static" / "out.txt").symlink_to(tmp_path / "outside.txt")
    (site / "static" / "in.txt").symlink_to(site / "static" / "notes.txt")
    out = tmp_path / "out"
    status, _, err = _build_json(capsys, site, out)
    assert status == 0
    files = _snapshot(out)
    assert {"static/.well-known/security.txt", "static/.htaccess", "static/in.txt"} <= set(files)
    assert not any(p.startswith("static/.git") or p == "static/out.txt" for p in files)
    assert "static/out.txt not copied" in err
    status, _, err = _build_json(capsys, site, out)  # nothing to do: it is still said
    assert status == 0 and "static/out.txt not copied" in err


def test_broken_links_and_loops_are_named_not_internal_errors(tmp_path: Path, capsys) -> None:
    """A link in a loop or to nothing among the articles is SG501 at the link (no article is
    lost without a word); in static/ it is not copied, and said to be; as --out it is refused."""
    site = _site(tmp_path)
    write_files(site, {"content/articles/ok.md": "---\ntitle: OK\ndate: 2021-03-06\n---\nPlain text.\n"})
    articles, static = site / "content" / "articles", site / "static"
    static.mkdir(exist_ok=True)
    (articles / "a.md").symlink_to(articles / "b.md")
    (articles / "b.md").symlink_to(articles / "a.md")
    (articles / "gone.md").symlink_to(articles / "missing.md")
    (static / "x.css").symlink_to(static / "y.css")
    (static / "y.css").symlink_to(static / "x.css")
    out = tmp_path / "out"
    status, diags, err = _build_json(capsys, site, out)
    assert status == 1
    assert {(d["code"], d["file"]) for d in diags} == {
        ("SG501", "content/articles/a.md"),
        ("SG501", "content/articles/b.md"),
        ("SG501", "content/articles/gone.md"),
    }
    for name in ("a.md", "b.md", "gone.md"):
        (articles / name).unlink()
    status, diags, err = _build_json(capsys, site, out)
    assert status == 0 and "static/x.css not copied" in err and "static/y.css not copied" in err
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    status, _, err = _build_json(capsys, site, loop)
    assert status == 2 and "loop" in err


def test_an_articles_folder_that_cannot_be_read_fails_the_build(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an empty site published over the real one: the output stays as it was."""
    site = _site(tmp_path)
    write_files(site, {"content/articles/sub/deep.md": "---\ntitle: Deep\ndate: 2021-03-06\n---\nText.\n"})
    out = tmp_path / "out"
    assert _build_json(capsys, site, out)[0] == 0
    before = _snapshot(out)
    real_scandir = os.scandir

    def scandir(path):  # what chmod 000 does to anyone but root
        if str(path).endswith("content/articles/sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    status, diags, _ = _build_json(capsys, site, out, "--no-cache")
    assert status == 1 and [(d["code"], d["file"]) for d in diags] == [("SG501", "content/articles/sub")]
    monkeypatch.undo()
    shutil.rmtree(site / "content" / "articles")
    (site / "content" / "articles").write_text("not a folder")
    status, diags, _ = _build_json(capsys, site, out, "--no-cache")
    assert status == 1 and [(d["code"], d["file"]) for d in diags] == [("SG501", "content/articles")]
    assert _snapshot(out) == before


def test_out_in_the_cache_folder_is_refused(tmp_path: Path, capsys) -> None:
    site = _site(tmp_path)
    status, _, err = _build_json(capsys, site, site / ".sitegen-cache")
    assert status == 2 and ".sitegen-cache" in err
    status, _, err = _build_json(capsys, site, site / ".sitegen-cache" / "public")
    assert status == 2 and not (site / ".sitegen-cache" / "public").exists()


def test_a_pipe_in_static_is_not_copied_and_the_build_does_not_wait(tmp_path: Path, capsys) -> None:
    site = _site(tmp_path)
    (site / "static").mkdir(exist_ok=True)
    os.mkfifo(site / "static" / "live.css")
    status, _, err = _build_json(capsys, site, tmp_path / "out")
    assert status == 0 and "static/live.css not copied: not a regular file" in err
    assert not (tmp_path / "out" / "static" / "live.css").exists()
