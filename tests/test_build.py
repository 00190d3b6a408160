"""Whole-site builds: every page parses, every link resolves, feed/sitemap/JSON-LD are valid,
publishing is atomic, and `init` gives a site that builds clean."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, urlsplit

import feedparser
import html5lib
import pytest
from conftest import EXAMPLE_SITE, write_files

from sitegen.build import build_site
from sitegen.cache import CACHE_DIR
from sitegen.cli import main
from sitegen.publish import TMP_MARK

XHTML = "{http://www.w3.org/1999/xhtml}"


def _example_copy(tmp_path: Path) -> Path:
    site = tmp_path / "example"
    site.mkdir()
    shutil.copy(EXAMPLE_SITE / "site.toml", site)
    shutil.copytree(EXAMPLE_SITE / "content", site / "content")
    for extra in ("templates", "static"):
        if (EXAMPLE_SITE / extra).is_dir():
            shutil.copytree(EXAMPLE_SITE / extra, site / extra)
    return site


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("built")
    site = _example_copy(tmp)
    out = tmp / "public"
    assert main(["build", str(site), "--out", str(out), "--strict"]) == 0
    return out


def _pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_every_page_is_parseable_html5(built: Path) -> None:
    for page in _pages(built):
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(page.read_bytes())  # raises on any parse error
        assert b'<html lang="en">' in page.read_bytes()


def test_every_relative_link_resolves_inside_the_output(built: Path) -> None:
    for page in _pages(built):
        doc = html5lib.parse(page.read_bytes())
        ids = {el.get("id") for el in doc.iter() if el.get("id")}
        for el in doc.iter():
            for attr in ("href", "src"):
                url = el.get(attr)
                if not url or urlsplit(url).scheme:
                    continue
                target, _, fragment = url.partition("#")
                if not target:
                    assert fragment in ids, f"{page}: dangling #{fragment}"
                    continue
                resolved = (page.parent / target).resolve()
                assert resolved.is_relative_to(built.resolve()), f"{page}: {url} leaves the site"
                assert resolved.is_file(), f"{page}: {url} does not exist"


def test_markers_and_footnotes_match(built: Path) -> None:
    for page in (built / "articles").rglob("index.html"):
        doc = html5lib.parse(page.read_bytes())
        markers = [a for a in doc.iter(f"{XHTML}a") if (a.get("id") or "").startswith("fnref-")]
        section = [s for s in doc.iter(f"{XHTML}section") if s.get("class") == "footnotes"]
        assert markers and section, page
        items = list(section[0].iter(f"{XHTML}li"))
        numbers = {a.get("href") for a in markers}
        assert {f"#fn-{i}" for i in range(1, len(items) + 1)} == numbers


def test_feed_sitemap_and_checks_json(built: Path) -> None:
    feed = feedparser.parse((built / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == len(list((built / "articles").iterdir()))
    assert all(e.link.startswith("https://example.org/articles/") for e in feed.entries)
    sitemap = ET.parse(built / "sitemap.xml").getroot()
    locs = [loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://example.org/" in locs and len(locs) == len(set(locs))
    checks = json.loads((built / "checks.json").read_text())["checks"]
    assert checks and set(checks[0]) == {"article", "file", "line", "column", "kind", "status", "summary"}
    assert {c["status"] for c in checks} <= {"ok", "warn"}


def test_json_ld_is_a_news_article_with_citations(built: Path) -> None:
    cited = 0
    for page in (built / "articles").rglob("index.html"):
        doc = html5lib.parse(page.read_bytes())
        scripts = [s for s in doc.iter(f"{XHTML}script") if s.get("type") == "application/ld+json"]
        data = json.loads(scripts[0].text)
        assert data["@type"] == "NewsArticle" and data["headline"]
        cited += len(data["citation"])
    assert cited > 0


def test_source_pages_list_citing_articles(built: Path) -> None:
    page = (built / "sources" / "001" / "index.html").read_text()
    assert "articles/" in page and "Articles citing this source" in page


def test_failed_build_leaves_previous_output_byte_for_byte(tmp_path: Path, fixture_site: Path) -> None:
    write_files(
        fixture_site,
        {"content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\n---\n178 of 342 <<seats NA=178/342>>.\n"},
    )
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    before = _snapshot(out)
    siblings = sorted(os.listdir(tmp_path))
    write_files(
        fixture_site,
        {"content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\n---\n178 of 340 <<seats NA=178/340>>.\n"},
    )
    assert main(["build", str(fixture_site), "--out", str(out)]) == 1
    assert _snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == siblings


def test_template_error_is_sg902_and_publishes_nothing(tmp_path: Path, fixture_site: Path, capsys) -> None:
    write_files(
        fixture_site,
        {
            "content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\n---\nText.\n",
            "templates/article.html": "{% extends 'base.html' %}{% block main %}{{ nope }}{% endblock %}\n",
        },
    )
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in report["diagnostics"]] == ["SG902"]
    assert report["diagnostics"][0]["file"] == "templates/article.html"
    assert not out.exists()


_PAGE = "{% extends 'base.html' %}\n{% block main %}\n\n{{ LINE4 }}\n{% endblock %}\n"


@pytest.mark.parametrize(
    ("files", "where"),
    [
        # an undefined name on line 4 of a site page's template, of an article's, of a parent's
        ({"templates/index.html": _PAGE.replace("LINE4", "nope")}, "templates/index.html:4"),
        ({"templates/article.html": _PAGE.replace("LINE4", "article.nope")}, "templates/article.html:4"),
        (
            {
                "templates/base.html": "<!DOCTYPE html>\n<title>{% block title %}{% endblock %}</title>\n"
                "{% block head %}{% endblock %}\n{{ nope }}\n{% block main %}{% endblock %}\n"
            },
            "templates/base.html:4",
        ),
        # a missing parent: the template that names it
        ({"templates/tag.html": "{% extends 'nope.html' %}\n"}, "templates/tag.html:1"),
        ({"templates/source.html": "\n\n{% if %}\n"}, "templates/source.html:3"),
    ],
)
def test_a_template_error_is_placed_and_counted(
    tmp_path: Path, fixture_site: Path, capsys, files: dict[str, str], where: str
) -> None:
    article = "---\ntitle: A\ndate: 2021-03-06\ntags: [x]\n---\nText <<claim src=001>>.\n"
    write_files(fixture_site, {"content/articles/a.md": article, **files})
    assert main(["build", str(fixture_site), "--out", str(tmp_path / "out"), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [(d["code"], f"{d['file']}:{d['line']}") for d in report["diagnostics"]] == [("SG902", where)]
    assert report["summary"]["errors"] == 1


def _build_with_one_template(site: Path, out: Path, name: str, text: str, *options: str) -> int:
    """`sitegen build` of a one-article site whose templates/ holds `name`."""
    article = "---\ntitle: A\ndate: 2021-03-06\n---\nText.\n"
    write_files(site, {"content/articles/a.md": article, f"templates/{name}": text})
    return main(["build", str(site), "--out", str(out), *options])


@pytest.mark.parametrize("template", ["index.html", "article.html"])
def test_a_template_error_shows_its_line_underlined_in_the_terminal(
    tmp_path: Path, fixture_site: Path, capsys, template: str
) -> None:
    """Jinja2 knows the line, not the column: the whole line is shown and underlined."""
    page = _PAGE.replace("LINE4", "nope")
    assert _build_with_one_template(fixture_site, tmp_path / "out", template, page) == 2
    err = capsys.readouterr().err
    assert f"--> templates/{template}:4:1\n  |\n4 | {{{{ nope }}}}\n  | ^^^^^^^^^^\n" in err


@pytest.mark.parametrize("site_arg", [None, "."])
def test_a_template_error_is_placed_in_the_sites_file_when_site_is_the_current_folder(
    tmp_path: Path, fixture_site: Path, capsys, monkeypatch, site_arg: str | None
) -> None:
    article = "---\ntitle: A\ndate: 2021-03-06\n---\nText.\n"
    page = _PAGE.replace("LINE4", "nope")
    write_files(fixture_site, {"content/articles/a.md": article, "templates/article.html": page})
    monkeypatch.chdir(fixture_site)
    args = ["build", *([site_arg] if site_arg else []), "--out", str(tmp_path / "out"), "--format", "json"]
    assert main(args) == 2
    [diag] = json.loads(capsys.readouterr().out)["diagnostics"]
    assert (diag["file"], diag["line"]) == ("templates/article.html", 4)


@pytest.mark.parametrize("template", ["index.html", "article.html"])
def test_a_template_extending_itself_is_sg902(
    tmp_path: Path, fixture_site: Path, capsys, template: str
) -> None:
    itself = f'{{% extends "{template}" %}}\n'
    assert _build_with_one_template(fixture_site, tmp_path / "out", template, itself, "--format", "json") == 2
    report = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["file"]) for d in report["diagnostics"]] == [("SG902", f"templates/{template}")]
    assert "without end" in report["diagnostics"][0]["message"]


def _one_sg902(capsys, site: Path, out: Path, files: dict[str, str | bytes], command: str = "build") -> dict:
    """The one SG902 a check or build of a one-article site with these templates reports (exit 2)."""
    write_files(site, {"content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\ntags: [x]\n---\nText.\n"})
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data if isinstance(data, bytes) else data.encode())
    options = ["--out", str(out)] if command == "build" else []
    assert main([command, str(site), *options, "--format", "json"]) == 2
    diagnostics = json.loads(capsys.readouterr().out)["diagnostics"]
    assert [d["code"] for d in diagnostics] == ["SG902"]
    return diagnostics[0]


def test_a_missing_template_is_said_to_be_not_found_and_where_it_was_looked_for(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    files = {"templates/article.html": '{% extends "nope.html" %}\n'}
    found = _one_sg902(capsys, fixture_site, tmp_path / "out", files)
    assert found["file"] == "templates/article.html"
    assert "nope.html not found" in found["message"]
    assert "templates/" in found["message"] and "built-in" in found["message"]
    assert "base.html" in found["help"]  # the built-in templates are listed


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{% macro m(n) %}{{ m(n) }}{% endmacro %}\n{{ m(1) }}\n", "macro m calls itself without end"),
        (
            "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}\n",
            "macros a, b call each other without end",
        ),
        (
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}\n",
            "a recursive loop calls loop() without end",
        ),
        ("{% extends 'tag.html' %}\n", "tag.html extends, includes or imports itself without end"),
    ],
    ids=["macro", "macros", "loop", "extends"],
)
def test_endless_recursion_in_a_template_is_worded_for_what_went_round(
    tmp_path: Path, fixture_site: Path, capsys, text: str, said: str
) -> None:
    found = _one_sg902(capsys, fixture_site, tmp_path / "out", {"templates/tag.html": text})
    assert (found["file"], found["message"]) == ("templates/tag.html", f"template error in tag.html: {said}")


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("name", ["article.html", "base.html", "partials/x.html"])
def test_a_template_that_is_not_utf8_is_named_as_such(
    tmp_path: Path, fixture_site: Path, capsys, command: str, name: str
) -> None:
    files: dict[str, str | bytes] = {f"templates/{name}": b"{% block main %}caf\xe9{% endblock %}\n"}
    if name.startswith("partials/"):
        files["templates/tag.html"] = '{% include "partials/x.html" %}\n'
    found = _one_sg902(capsys, fixture_site, tmp_path / "out", files, command)
    assert (found["file"], found["line"]) == (f"templates/{name}", 1)
    assert "not valid UTF-8 (byte 19)" in found["message"]
    assert found["help"] == "save the file as UTF-8"


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_template_nested_too_deeply_to_compile_is_sg902(
    tmp_path: Path, fixture_site: Path, capsys, command: str
) -> None:
    deep = "{% block main %}" + "{% if 1 %}" * 1_000 + "{% endif %}" * 1_000 + "{% endblock %}\n"
    found = _one_sg902(capsys, fixture_site, tmp_path / "out", {"templates/base.html": deep}, command)
    assert found["file"] == "templates/base.html"
    assert "nested too deeply" in found["message"]


def test_an_error_in_a_template_in_a_folder_is_placed_in_that_file(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    files = {
        "templates/tag.html": '{% include "partials/x.html" %}\n',
        "templates/partials/x.html": "\n{{ nope }}\n",
    }
    found = _one_sg902(capsys, fixture_site, tmp_path / "out", files)
    assert (found["file"], found["line"]) == ("templates/partials/x.html", 2)
    said = "template error in partials/x.html: `nope` is undefined; tag.html is given"
    assert found["message"].startswith(said)


@pytest.mark.parametrize("template", ["index_item.html", "tag_item.html"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_broken_list_item_template_is_one_sg902(
    tmp_path: Path, fixture_site: Path, capsys, template: str, jobs: str
) -> None:
    """List entries are made with each article's page; their template's error is still one SG902."""
    articles = {
        f"content/articles/a{i}.md": f"---\ntitle: A{i}\ndate: 2021-03-06\ntags: [x]\n---\nText.\n"
        for i in range(20)
    }
    write_files(fixture_site, {**articles, f"templates/{template}": "<li>{{ a.nope.deeper }}</li>\n"})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out), "--format", "json", "--jobs", jobs]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["file"]) for d in report["diagnostics"]] == [("SG902", f"templates/{template}")]
    assert not out.exists()


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _big_site(tmp_path: Path, fixture_site: Path, count: int) -> Path:
    para = "The allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>. " * 20
    files = {
        f"content/articles/a{i:04}.md": f"---\ntitle: A{i}\ndate: 2021-03-06\n---\n{para}\n"
        for i in range(count)
    }
    write_files(fixture_site, files)
    return fixture_site


def test_killed_builds_leave_old_or_new_site_and_no_leftovers(tmp_path: Path, fixture_site: Path) -> None:
    site = _big_site(tmp_path, fixture_site, 150)
    out = tmp_path / "out"
    assert main(["build", str(site), "--out", str(out)]) == 0
    old = _snapshot(out)
    write_files(site, {"content/articles/a0000.md": "---\ntitle: Changed\ndate: 2021-03-06\n---\nNew.\n"})
    reference = tmp_path / "reference"
    assert main(["build", str(site), "--out", str(reference)]) == 0
    new = _snapshot(reference)
    shutil.rmtree(reference)
    cmd = [sys.executable, "-m", "sitegen", "build", str(site), "--out", str(out)]
    outcomes = set()
    for delay in (0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 1.0, 1.5):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        now = _snapshot(out)
        assert now in (old, new), f"torn output after a kill at {delay}s"
        outcomes.add("new" if now == new else "old")
    assert main(["build", str(site), "--out", str(out)]) == 0
    assert _snapshot(out) == new
    assert sorted(os.listdir(tmp_path)) == sorted(["site", "out"])


def test_refuses_an_out_that_covers_the_site(fixture_site: Path, capsys) -> None:
    assert main(["build", str(fixture_site), "--out", str(fixture_site)]) == 2
    assert main(["build", str(fixture_site), "--out", str(fixture_site.parent)]) == 2
    assert main(["build", str(fixture_site), "--out", str(fixture_site / "content" / "x")]) == 2
    assert "refusing" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_negative_job_count_is_a_usage_error(fixture_site: Path, command: str, capsys) -> None:
    assert main([command, str(fixture_site), "--jobs", "-2"]) == 2
    assert "job count" in capsys.readouterr().err
    assert main([command, str(fixture_site), "--jobs", "0"]) == 0  # as many as cores


def test_drafts_are_checked_but_published_only_on_request(tmp_path: Path, fixture_site: Path) -> None:
    write_files(
        fixture_site, {"content/articles/d.md": "---\ntitle: D\ndate: 2021-03-06\ndraft: true\n---\nDraft.\n"}
    )
    out = tmp_path / "out"
    assert build_site(fixture_site, out).published
    assert not (out / "articles" / "d").exists()
    assert build_site(fixture_site, out, drafts=True).published
    assert (out / "articles" / "d" / "index.html").is_file()


def test_two_builds_of_the_same_input_are_identical(tmp_path: Path) -> None:
    site = _example_copy(tmp_path)
    assert main(["build", str(site), "--out", str(tmp_path / "one")]) == 0
    assert main(["build", str(site), "--out", str(tmp_path / "two")]) == 0
    assert _snapshot(tmp_path / "one") == _snapshot(tmp_path / "two")


def test_init_site_builds_clean_under_strict(tmp_path: Path) -> None:
    target = tmp_path / "new"
    assert main(["init", str(target)]) == 0
    assert main(["build", str(target), "--strict"]) == 0
    kinds = {c["kind"] for c in json.loads((target / "public" / "checks.json").read_text())["checks"]}
    assert kinds == {"seats", "threshold", "votes", "tally", "sum", "pct", "claim"}
    assert main(["init", str(target)]) == 2


def test_init_writes_a_gitignore_for_the_output_and_the_cache(tmp_path: Path) -> None:
    target = tmp_path / "new"
    assert main(["init", str(target)]) == 0
    assert (target / ".gitignore").read_text() == "public/\n.sitegen-cache/\n"
    assert main(["build", str(target), "--strict"]) == 0
    assert (target / ".sitegen-cache" / ".gitignore").read_text() == "*\n"  # the cache still ignores itself
    # one already there (an empty clone's) keeps its lines and gets only the ones it lacks
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / ".gitignore").write_text("*.log\npublic/")
    assert main(["init", str(kept)]) == 0
    assert (kept / ".gitignore").read_text() == "*.log\npublic/\n.sitegen-cache/\n"


def test_init_prose_shows_figures_not_fact_names(tmp_path: Path) -> None:
    """Facts are not substituted into prose: the new site's text must not show `@name` to readers."""
    target = tmp_path / "new"
    assert main(["init", str(target)]) == 0
    assert main(["build", str(target), "--strict"]) == 0
    for page in (target / "public" / "articles").rglob("*.html"):
        assert "@coalition_seats" not in page.read_text()


def test_init_takes_a_folder_holding_only_dot_files_and_quotes_it_in_its_hint(tmp_path: Path, capsys) -> None:
    target = tmp_path / "my site"
    (target / ".git").mkdir(parents=True)
    assert main(["init", str(target)]) == 0
    assert f"sitegen build '{target}' --strict" in capsys.readouterr().err
    assert (target / ".git").is_dir() and (target / "site.toml").is_file()
    clash = tmp_path / "clash"
    (clash / "content").mkdir(parents=True)
    assert main(["init", str(clash)]) == 2


def test_check_reports_a_template_that_does_not_compile(tmp_path: Path, fixture_site: Path, capsys) -> None:
    """`check` renders nothing, but a template build could not even compile fails it as it fails build."""
    write_files(fixture_site, {"templates/index.html": "{% extends 'base.html' %}\n\n{% if %}\n"})
    assert main(["check", str(fixture_site), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["file"], d["line"]) for d in report["diagnostics"]] == [
        ("SG902", "templates/index.html", 3)
    ]
    assert report["summary"]["errors"] == 1


def test_a_slug_of_digits_is_published_as_written(tmp_path: Path, fixture_site: Path) -> None:
    article = "---\ntitle: A\ndate: 2021-03-06\nslug: 0123\n---\nText.\n"
    write_files(fixture_site, {"content/articles/a.md": article})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    assert (out / "articles" / "0123" / "index.html").is_file()


def test_tags_in_any_script_get_pages_of_their_own(tmp_path: Path, fixture_site: Path) -> None:
    """Tag slugs keep letters of every script (accents dropped): Urdu and Japanese tags get a page each."""
    article = "---\ntitle: A\ndate: 2021-03-06\ntags: [پاکستان, 日本, Élection, 'C++']\n---\nText.\n"
    write_files(fixture_site, {"content/articles/a.md": article})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    assert {p.name for p in (out / "tags").iterdir()} >= {"پاکستان", "日本", "election", "c-"}
    page = (out / "articles" / "a" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../tags/%E6%97%A5%E6%9C%AC/index.html"' in page  # a URL: percent-encoded UTF-8
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://example.org/tags/%D9%BE%D8%A7%DA%A9%D8%B3%D8%AA%D8%A7%D9%86/</loc>" in sitemap


def test_an_excerpt_never_glues_a_marker_number_to_a_figure(tmp_path: Path, fixture_site: Path) -> None:
    """The feed's summary of an article without `summary:` is its first paragraph as text:
    markers and footnote references are no part of it ("178" and marker 1 once read "1781")."""
    body = (
        "Khan has 178<<seats NA=178/342 prose=no>> seats of 342 <<seats NA=178/342>>, a note[^n].\n\n"
        "[^n]: N.\n"
    )
    write_files(fixture_site, {"content/articles/a.md": f"---\ntitle: A\ndate: 2021-03-06\n---\n{body}"})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "<summary>Khan has 178 seats of 342, a note.</summary>" in feed


def test_tags_sharing_a_slug_list_the_article_once(tmp_path: Path, fixture_site: Path) -> None:
    article = "---\ntitle: A\ndate: 2021-03-06\ntags: [Pakistan, 'C++', pakistan, 'C#']\n---\nText.\n"
    write_files(fixture_site, {"content/articles/a.md": article})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    for tag in ("pakistan", "c-"):
        listing = (out / "tags" / tag / "index.html").read_text(encoding="utf-8")
        assert listing.count('href="../../articles/a/') == 1
    page = (out / "articles" / "a" / "index.html").read_text(encoding="utf-8")
    assert page.count('href="../../tags/c-/index.html"') == 1
    assert (out / "feed.xml").read_text(encoding="utf-8").count('<category term="pakistan"') == 1


def test_tag_slugs_keep_hyphens_at_their_ends_as_spec_writes(tmp_path: Path, fixture_site: Path) -> None:
    """SPEC §6: lowercase, runs of other characters become `-`: `C++` is `c-`, not `c`'s page."""
    article = "---\ntitle: A\ndate: 2021-03-06\ntags: [C, 'C++', U.S., US, '!!!', ' Pakistan ']\n---\nText.\n"
    write_files(fixture_site, {"content/articles/a.md": article})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    assert {p.name for p in (out / "tags").iterdir()} == {"c", "c-", "u-s-", "us", "-", "pakistan"}
    page = (out / "articles" / "a" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../tags/u-s-/index.html"' in page


# Every variable README's "What templates are given" names, used by an override of each template.
_COMMON = (
    "{{ site.title }}{{ site.base_url }}{{ site.language }}{{ site.stylesheet }}{{ root }}{{ canonical }}"
)
_ARTICLE = (
    "{{ a.slug }}{{ a.title }}{{ a.date }}{{ a.date_iso }}{{ a.date_text }}{{ a.author }}{{ a.summary }}"
    "{% for t in a.tags %}{{ t.name }}{{ t.slug }}{{ t.href }}{% endfor %}{{ a.draft }}{{ a.checks }}"
    "{{ a.path }}{{ a.href }}"
)
DOCUMENTED = {
    "article.html": _COMMON
    + "{% set a = article %}"
    + _ARTICLE
    + "{{ body }}{{ json_ld }}{{ live_reload }}{% for n in notes %}{{ n.number }}{{ n.css }}{{ n.refs }}"
    "{% if n.result %}{{ n.result.kind }}{{ n.result.status }}{{ n.result.summary }}{{ n.result.quote }}"
    "{% for s in n.sources %}{{ s.id }}{{ s.known }}{{ s.title }}{{ s.publisher }}{{ s.date_iso }}"
    "{{ s.date_text }}{{ s.url }}{{ s.href }}{% endfor %}{% for w in n.warnings %}{{ w.code }}{{ w.message }}"
    "{% endfor %}{% else %}{{ n.html }}{% endif %}{% endfor %}",
    "index.html": _COMMON
    + "{% for a in articles %}"
    + _ARTICLE
    + "{% endfor %}{% for i in items %}{{ i }}{% endfor %}",
    "tag.html": _COMMON + "{{ tag.name }}{{ tag.slug }}{{ tag.href }}{{ articles }}{{ items }}",
    "source.html": _COMMON
    + "{{ source.id }}{{ source.title }}{{ source.publisher }}{{ source.author }}{{ source.url }}"
    "{{ source.date_iso }}{{ source.date_text }}{{ source.paragraphs }}{{ citing }}{{ items }}",
    "checks.html": _COMMON + "{{ rows }}{{ check_count }}{{ article_count }}",
    "index_item.html": "{{ root }}" + _ARTICLE,
    "tag_item.html": "{{ root }}" + _ARTICLE,
    "checks_rows.html": _COMMON
    + "{{ article.title }}{% for c in checks %}{{ c.article }}{{ c.file }}{{ c.line }}"
    "{{ c.column }}{{ c.kind }}{{ c.status }}{{ c.summary }}{{ c.number }}{% endfor %}",
    "feed.xml": _COMMON + "{% for a in articles %}{{ a.title }}{{ a.url }}{{ a.timestamp }}{{ a.author }}"
    "{{ a.summary }}{% for t in a.tags %}{{ t.name }}{% endfor %}{% endfor %}{{ updated }}{{ version }}",
    "sitemap.xml": _COMMON + "{% for u in urls %}{{ u.loc }}{{ u.lastmod }}{% endfor %}",
}


def test_templates_get_the_variables_readme_documents(fixture_site: Path, tmp_path: Path) -> None:
    article = (
        "---\ntitle: A\ndate: 2021-03-06\ntags: [x]\nauthor: R\nsummary: S\n---\n"
        'Text[^n] 178 of 342 <<seats NA=178/342>> <<claim src=001 quote="172">>.\n\n[^n]: A note.\n'
    )
    templates = {f"templates/{name}": text for name, text in DOCUMENTED.items()}
    write_files(fixture_site, {"content/articles/a.md": article, **templates})
    out = tmp_path / "out"
    result = build_site(fixture_site, out)
    assert result.published, [f"{d.code} {d.message}" for d in result.diagnostics]


def test_an_out_that_is_a_link_to_a_folder_publishes_into_that_folder(
    fixture_site: Path, tmp_path: Path
) -> None:
    target = tmp_path / "www"
    target.mkdir()
    link = tmp_path / "public"
    link.symlink_to(target)
    for title in ("First", "Second"):
        article = f"---\ntitle: {title}\ndate: 2021-03-06\n---\nText.\n"
        write_files(fixture_site, {"content/articles/a.md": article})
        assert main(["build", str(fixture_site), "--out", str(link)]) == 0
        assert link.is_symlink() and link.resolve() == target.resolve()
        assert title in (target / "articles" / "a" / "index.html").read_text(encoding="utf-8")


def test_a_site_file_that_cannot_be_read_is_named_as_such(tmp_path: Path) -> None:
    """Permission denied on a static file or template says which, not "cannot publish"."""
    from sitegen.cli_build import _failure

    site, out = tmp_path / "site", tmp_path / "site" / "public"
    denied = PermissionError(13, "Permission denied", str(site / "static" / "a.css"))
    assert _failure(site, out, denied) == "cannot read static/a.css: Permission denied"
    full = OSError(28, "No space left on device", str(out / "index.html"))
    assert _failure(site, out, full).startswith(f"cannot publish to {out}: ")
    cache = OSError(13, "Permission denied", str(site / ".sitegen-cache" / "spare-1"))
    assert _failure(site, out, cache).startswith("cannot publish to ")


def test_a_refused_build_still_prints_one_json_object(tmp_path: Path, fixture_site: Path, capsys) -> None:
    """A script reading `--format json` from stdout finds an object, with the reason, not nothing."""
    assert main(["build", str(fixture_site), "--out", str(fixture_site), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["diagnostics"] == [] and report["error"].startswith("refusing to build: ")
    assert main(["check", str(tmp_path / "nowhere"), "--format", "json"]) == 2
    assert "no such site directory" in json.loads(capsys.readouterr().out)["error"]


def test_static_files_are_copied_when_the_site_is_named_by_a_relative_path(
    tmp_path: Path, fixture_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(fixture_site, {"static/site.css": "body { color: black; }\n"})
    monkeypatch.chdir(fixture_site.parent)
    assert main(["build", fixture_site.name, "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "static" / "site.css").read_text() == "body { color: black; }\n"


def test_articles_named_in_any_script_get_slugs_of_their_own(tmp_path: Path, fixture_site: Path) -> None:
    # SPEC §1: a slug is lowercase letters, digits and hyphens; Urdu and Russian have letters too
    files = {
        "content/articles/اعتماد.md": "---\ntitle: A\ndate: 2021-03-06\n---\nText.\n",
        "content/articles/عدم-اعتماد.md": "---\ntitle: B\ndate: 2021-03-07\n---\nText.\n",
        "content/articles/w.md": "---\ntitle: C\ndate: 2021-03-08\nslug: выборы-2024\n---\nText.\n",
        "content/articles/long.md": f"---\ntitle: D\ndate: 2021-03-09\nslug: {'a' * 101}\n---\nText.\n",
    }
    write_files(fixture_site, files)
    out = tmp_path / "out"
    result = build_site(fixture_site, out)
    assert result.published, [f"{d.code} {d.message}" for d in result.diagnostics]
    made = {p.name for p in (out / "articles").iterdir()}
    assert made == {"اعتماد", "عدم-اعتماد", "выборы-2024", "a" * 101}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="articles/{quote("عدم-اعتماد")}/index.html"' in index
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert f"<loc>https://example.org/articles/{quote('выборы-2024')}/</loc>" in sitemap


def test_tags_in_any_script_keep_their_marks_and_long_ones_stay_apart(
    tmp_path: Path, fixture_site: Path
) -> None:
    long_a, long_b = "選" * 90 + "甲", "選" * 90 + "乙"  # 273 bytes each, alike but for the last character
    tags = ["ガス", "カス", "हिन्दी", long_a, long_b]
    text = f"---\ntitle: A\ndate: 2021-03-06\ntags: {json.dumps(tags, ensure_ascii=False)}\n---\nText.\n"
    write_files(fixture_site, {"content/articles/a.md": text})
    out = tmp_path / "out"
    assert build_site(fixture_site, out).published
    made = {p.name for p in (out / "tags").iterdir()}
    assert {"ガス", "カス", "हिन्दी"} <= made and len(made) == 5
    assert all(len(name.encode("utf-8")) <= 255 for name in made)


def test_a_broken_template_no_page_uses_fails_the_build_as_it_fails_check(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    # no article has tags: no page compiles tag.html, and still it is the site's template
    out = tmp_path / "out"
    assert _build_with_one_template(fixture_site, out, "tag.html", "{% if %}\n", "--format", "json") == 2
    [diag] = json.loads(capsys.readouterr().out)["diagnostics"]
    assert (diag["code"], diag["file"], diag["line"]) == ("SG902", "templates/tag.html", 1)
    assert not out.exists()


def test_a_source_named_in_any_script_is_cited_and_linked(tmp_path: Path, fixture_site: Path) -> None:
    source = "---\ntitle: Report\npublisher: Desk\ndate: 2021-03-05\n---\nThe vote was close.\n"
    claim = '<<claim src="بلومبرگ" quote="was close">>'
    article = f"---\ntitle: A\ndate: 2021-03-06\n---\nIt was close {claim}.\n"
    write_files(fixture_site, {"content/sources/بلومبرگ.md": source, "content/articles/a.md": article})
    out = tmp_path / "out"
    result = build_site(fixture_site, out)
    assert result.published, [f"{d.code} {d.message}" for d in result.diagnostics]
    assert (out / "sources" / "بلومبرگ" / "index.html").is_file()
    page = (out / "articles" / "a" / "index.html").read_text(encoding="utf-8")
    assert f'href="../../sources/{quote("بلومبرگ")}/index.html"' in page


def test_a_broken_template_is_reported_with_the_content_errors_of_a_failed_build(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    """No article was rendered (the one article has an error), yet its template does not compile: exit 2."""
    write_files(
        fixture_site,
        {
            "content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\n---\nBad <<seats NA=999/342>>.\n",
            "templates/article.html": "{% if %}\n",
        },
    )
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out), "--format", "json"]) == 2
    codes = [(d["code"], d["file"]) for d in json.loads(capsys.readouterr().out)["diagnostics"]]
    assert ("SG902", "templates/article.html") in codes and ("SG201", "content/articles/a.md") in codes
    assert codes.count(("SG902", "templates/article.html")) == 1
    assert not out.exists()


@pytest.mark.parametrize("template", ["index.html", "article.html", "tag.html"])
def test_the_sites_own_keys_reach_every_template(tmp_path: Path, fixture_site: Path, template: str) -> None:
    """README: `[site]` may hold keys of the site's own, a `description` for a template."""
    config = (fixture_site / "site.toml").read_text(encoding="utf-8")
    config = config.replace("[site]\n", '[site]\ndescription = "Checks <b>& balances</b>"\n', 1)
    article = "---\ntitle: A\ndate: 2021-03-06\ntags: [x]\n---\nText.\n"
    page = _PAGE.replace("LINE4", "site.description")
    files = {"site.toml": config, "content/articles/a.md": article, f"templates/{template}": page}
    write_files(fixture_site, files)
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    pages = {
        "index.html": "index.html",
        "article.html": "articles/a/index.html",
        "tag.html": "tags/x/index.html",
    }
    assert "Checks &lt;b&gt;&amp; balances&lt;/b&gt;" in (out / pages[template]).read_text(encoding="utf-8")


@pytest.mark.parametrize("below", ["pub", "a/b/pub"])
def test_an_out_under_a_file_is_refused_by_name_before_the_build(
    tmp_path: Path, fixture_site: Path, capsys, below: str
) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = tmp_path / "afile" / below
    assert main(["build", str(fixture_site), "--out", str(out), "--format", "json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    blocker = tmp_path / "afile"
    assert error == f"refusing to build: --out {out} cannot be made: {blocker} is a file, not a directory"


def test_an_out_through_a_link_to_nothing_is_refused_by_name(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    out = tmp_path / "gone" / "pub"
    assert main(["build", str(fixture_site), "--out", str(out), "--format", "json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error.endswith(f"{tmp_path / 'gone'} is a link to nothing")


def _leftovers_of_killed_builds(site: Path, out: Path) -> list[Path]:
    """Two builds (the second makes the spare), then what killed builds leave: a spare being
    brought up to date, and a tree being built beside the output."""
    assert main(["build", str(site), "--out", str(out)]) == 0
    write_files(site, {"content/articles/new.md": "---\ntitle: N\ndate: 2021-03-06\n---\nNew.\n"})
    assert main(["build", str(site), "--out", str(out)]) == 0
    (spare,) = [p for p in (site / CACHE_DIR).iterdir() if p.name.startswith("spare-") and p.is_dir()]
    building = spare.with_name(spare.name + ".building")
    shutil.copytree(spare, building)
    beside = out.parent / f".{out.name}{TMP_MARK}999-deadbeef"
    (beside / "articles").mkdir(parents=True)
    return [building, beside]


def test_a_build_with_nothing_to_do_still_removes_killed_builds_leftovers(
    tmp_path: Path, fixture_site: Path
) -> None:
    out = tmp_path / "out"
    leftovers = _leftovers_of_killed_builds(fixture_site, out)
    before = _snapshot(out)
    assert build_site(fixture_site, out).unchanged
    assert not any(p.exists() for p in leftovers)
    assert _snapshot(out) == before


def test_a_build_with_nothing_to_do_leaves_a_running_builds_trees_alone(
    tmp_path: Path, fixture_site: Path
) -> None:
    out = tmp_path / "out"
    leftovers = _leftovers_of_killed_builds(fixture_site, out)
    lock = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a build publishing into that folder holds it
        assert build_site(fixture_site, out).unchanged
    finally:
        os.close(lock)
    assert all(p.exists() for p in leftovers)
