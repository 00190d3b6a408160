"""The cache and parallel builds: identical output, exact invalidation, corruption survived."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_files

import sitegen.cache
from sitegen.build import build_site
from sitegen.cache import CACHE_DIR

ARTICLE = "---\ntitle: {title}\ndate: 2021-03-06\n---\n{body}\n"


def _body(i: int) -> str:
    return (
        f"Allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>. "
        f'Article {i} cites a wire <<claim src=001 quote="172 lawmakers">>.'
    )


def _site(fixture_site: Path, count: int = 24) -> Path:
    files = {}
    for i in range(count):
        files[f"content/articles/a{i:02}.md"] = ARTICLE.format(title=f"A{i}", body=_body(i))
    files["content/articles/facts.md"] = ARTICLE.format(
        title="Facts", body="The allies hold 178 <<fact allies=178>>."
    )
    files["content/articles/uses.md"] = ARTICLE.format(
        title="Uses", body="They hold @allies of 342 <<seats NA=@allies/342 majority=yes>>."
    )
    write_files(fixture_site, files)
    return fixture_site


def _edit(site: Path, name: str, title: str, body: str) -> None:
    write_files(site, {f"content/articles/{name}.md": ARTICLE.format(title=title, body=body)})


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _build(site: Path, out: Path, **kw):
    result = build_site(site, out, **kw)
    assert result.published, [f"{d.code} {d.span.file}:{d.span.line} {d.message}" for d in result.diagnostics]
    return result


def test_parallel_cached_and_cold_builds_are_byte_identical(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    _build(site, tmp_path / "serial", jobs=1, use_cache=False)
    _build(site, tmp_path / "parallel", jobs=2, use_cache=False)
    _build(site, tmp_path / "cached", jobs=2)
    warm = _build(site, tmp_path / "cached", jobs=2)
    assert warm.rendered == 0 and warm.unchanged
    serial = _snapshot(tmp_path / "serial")
    assert serial == _snapshot(tmp_path / "parallel") == _snapshot(tmp_path / "cached")


def test_one_edit_rerenders_one_article(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    _edit(site, "a03", "Edited", "Plain text.")
    result = _build(site, out)
    assert result.rendered == 1
    assert b"Edited" in (out / "articles" / "a03" / "index.html").read_bytes()
    assert b"Edited" in (out / "index.html").read_bytes()
    _build(site, tmp_path / "cold", use_cache=False)
    assert _snapshot(out) == _snapshot(tmp_path / "cold")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("source", 24),  # every article citing source 001
        ("fact", 2),  # the definer and the user of @allies
        ("template", 26),
        ("config", 26),
        ("unrelated source", 0),
        ("site stylesheet", 26),  # every page links static/site.css once there is one
    ],
)
def test_dependencies_invalidate_exactly(
    fixture_site: Path, tmp_path: Path, change: str, expected: int
) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    if change == "source":
        path = site / "content/sources/001.md"
        path.write_text(path.read_text().replace("Fixture Wire", "Fixture Wire Service"))
    elif change == "fact":
        write_files(
            site,
            {"content/articles/facts.md": ARTICLE.format(title="Facts", body="Now 179 <<fact allies=179>>.")},
        )
    elif change == "template":
        write_files(
            site,
            {
                "templates/tag.html": "{% extends 'base.html' %}"
                "{% block main %}<h1>{{ tag.name }}</h1>{% endblock %}\n"
            },
        )
    elif change == "config":
        path = site / "site.toml"
        path.write_text(path.read_text().replace("Fixture Watch", "Fixture Watch 2"))
    elif change == "site stylesheet":
        write_files(site, {"static/site.css": "body { margin: 0 }\n"})
    else:
        path = site / "content/sources/002.md"
        path.write_text(path.read_text().replace("Fixture Daily", "Fixture Weekly"))
    result = _build(site, out)
    assert result.rendered == expected
    _build(site, tmp_path / "cold", use_cache=False)
    assert _snapshot(out) == _snapshot(tmp_path / "cold")


def test_a_fact_change_that_breaks_a_user_is_reported(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    write_files(
        site,
        {"content/articles/facts.md": ARTICLE.format(title="Facts", body="Now 170 <<fact allies=170>>.")},
    )
    result = build_site(site, out)
    assert not result.published
    assert [(d.code, d.span.file) for d in result.diagnostics] == [("SG203", "content/articles/uses.md")]


def test_corrupt_cache_is_detected_and_rebuilt(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    cache, snapshot = site / CACHE_DIR / "build.pickle", site / CACHE_DIR / "build.noop.pickle"
    for path in (cache, snapshot):
        blob = bytearray(path.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(bytes(blob))
    assert _build(site, out).rendered == 26
    cache.write_bytes(b"garbage")
    snapshot.write_bytes(b"garbage")
    assert _build(site, out).rendered == 26
    assert _build(site, out).unchanged


def test_a_page_changed_by_hand_is_replaced(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    page = out / "articles" / "a05" / "index.html"
    original = page.read_bytes()
    page.write_bytes(b"tampered")
    (out / "stray.txt").write_text("by hand")
    result = _build(site, out)
    assert page.read_bytes() == original and not (out / "stray.txt").exists()
    assert not result.unchanged


@pytest.mark.parametrize("linked", ["articles", "static", "articles/a05"])
def test_a_folder_linked_into_the_output_by_hand_is_replaced_and_nothing_is_written_through_it(
    fixture_site: Path, tmp_path: Path, linked: str
) -> None:
    site = _site(fixture_site)
    write_files(site, {"static/site.css": "p { margin: 0 }\n"})
    out = tmp_path / "out"
    _build(site, out)
    _edit(site, "a03", "A3", "Edited once.")
    _build(site, out)  # the spare now holds a whole tree
    victim = tmp_path / "victim"
    shutil.copytree(out / linked, victim)
    before = _snapshot(victim)
    shutil.rmtree(out / linked)
    (out / linked).symlink_to(victim, target_is_directory=True)  # `public/articles -> /srv/x`
    for n in range(3):  # the tree holding the link comes back as the spare
        _edit(site, "a03", "A3", f"Edited again, {n}.")
        _edit(site, "a05", "A5", f"Edited too, {n}.")
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"cold{n}")
        assert not any(p.is_symlink() for p in out.rglob("*"))
    assert _snapshot(victim) == before


def test_cache_writes_a_killed_build_left_unfinished_are_removed(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, count=2)
    _build(site, tmp_path / "out")
    cache = site / CACHE_DIR
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    gone = ended.stdout.decode().strip()  # a pid no process has now
    left = [cache / f".tmp-{gone}-x1y2z3", cache / ".tmp-abcdefgh"]  # the second: an older sitegen's
    writing = cache / f".tmp-{os.getpid()}-a1b2c3"  # a process still at it
    for path in [*left, writing]:
        path.write_bytes(b"half a pickle")
    sitegen.cache._swept.clear()  # as in a new process
    _edit(site, "a01", "A1", "Edited.")
    _build(site, tmp_path / "out")
    assert [p for p in left if p.exists()] == [] and writing.exists()


def test_spares_are_kept_for_the_outputs_built_into_most_lately(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, count=2)
    spares = site / CACHE_DIR

    def kept() -> set[str]:
        return {p.name for p in spares.glob("spare-*") if p.is_dir()}

    for n, name in enumerate("abcd"):
        _build(site, tmp_path / name)
        _edit(site, "a01", "A1", f"Edited for {name}.")
        _build(site, tmp_path / name)  # the tree swapped out is kept as the spare
        assert len(kept()) == min(n + 1, 3)  # this output's and two others' at most
    assert {p.stem for p in spares.glob("spare-*.pickle")} == kept()
    _edit(site, "a01", "A1", "Edited.")
    _build(site, tmp_path / "b")  # an output whose spare was retired builds as it would without one
    assert _snapshot(tmp_path / "b") == _cold(site, tmp_path, "cold")


def _built_small_site(fixture_site: Path, tmp_path: Path) -> tuple[Path, Path]:
    site = _site(fixture_site, count=2)
    out = tmp_path / "out"
    _build(site, out)
    return site, out


@pytest.mark.parametrize("stamps", ["racy", "trusted"])
@pytest.mark.parametrize(
    "put", ["folder", "link to a folder", "folder in a page's folder", "file in a page's folder"]
)
def test_what_is_put_in_the_output_by_hand_is_removed_by_a_build_with_nothing_to_do(
    fixture_site: Path, tmp_path: Path, put: str, stamps: str, monkeypatch
) -> None:
    """`trusted`: the output's folders are known by their stamps, and only a changed one is listed."""
    from sitegen import prune

    site, out = _built_small_site(fixture_site, tmp_path)
    if stamps == "trusted":
        monkeypatch.setattr(prune, "_RACY_NS", -1)
        assert _build(site, out).unchanged
        time.sleep(0.05)  # past the tick of the stamps, on a coarse clock
    if put == "folder":
        (out / "by-hand").mkdir()
    elif put == "link to a folder":
        (out / "etc").symlink_to(tmp_path)
    elif put == "folder in a page's folder":
        (out / "articles" / "a00" / "by-hand").mkdir()
    else:
        (out / "articles" / "a00" / "by-hand.txt").write_text("by hand")
    assert not _build(site, out).unchanged
    assert not (out / "by-hand").exists() and not (out / "etc").is_symlink()
    assert not (out / "articles" / "a00" / "by-hand").exists()
    assert not (out / "articles" / "a00" / "by-hand.txt").exists()
    assert _build(site, out).unchanged


def test_templates_reached_through_a_link_to_a_folder_are_watched_for_changes(
    fixture_site: Path, tmp_path: Path
) -> None:
    site = _site(fixture_site, count=2)
    write_files(
        site,
        {
            "shared/partials/intro.html": "<p>Intro one</p>\n",
            "templates/index.html": '{% extends "base.html" %}{% block main %}'
            '{% include "partials/intro.html" %}{% endblock %}\n',
        },
    )
    (site / "templates" / "partials").symlink_to(site / "shared" / "partials")
    out = tmp_path / "out"
    _build(site, out)
    write_files(site, {"shared/partials/intro.html": "<p>Intro two</p>\n"})
    _build(site, out)
    assert "<p>Intro two</p>" in (out / "index.html").read_text(encoding="utf-8")


def test_a_template_linked_from_out_of_the_site_is_not_followed(fixture_site: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET\n", encoding="utf-8")
    (fixture_site / "templates").mkdir(exist_ok=True)
    (fixture_site / "templates" / "index.html").symlink_to(secret)
    result = build_site(fixture_site, tmp_path / "out")
    assert not result.published
    assert [(d.code, "link out of the site" in d.message) for d in result.diagnostics] == [("SG902", True)]


def _quiet_edit(site: Path, n: int) -> None:
    """A sentence after article n's first paragraph: no site-wide page shows it."""
    _edit(site, f"a{n:02}", f"A{n}", _body(n) + "\n\nMore.")


def test_an_edit_no_list_shows_keeps_every_site_page_as_published(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    before = {rel: (out / rel).stat().st_ino for rel in ("index.html", "checks/index.html", "feed.xml")}
    _quiet_edit(site, 3)  # no excerpt, title, check row or citation changes
    _build(site, out)
    assert b"More." in (out / "articles" / "a03" / "index.html").read_bytes()
    # kept from the spare or linked from the output, not written again
    assert {rel: (out / rel).stat().st_ino for rel in before} == before
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_site_page_gone_from_the_output_is_made_again_after_a_quiet_edit(
    fixture_site: Path, tmp_path: Path
) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    _quiet_edit(site, 4)
    _build(site, out)  # the spare now holds the output before last
    spares = [p for p in (site / CACHE_DIR).glob("spare-*") if p.is_dir()]
    assert spares
    for tree in (out, *spares):  # the live tree and the spare
        (tree / "index.html").unlink()
        (tree / "checks.json").write_text("{}")
    _quiet_edit(site, 3)
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_source_edit_alone_remakes_its_source_page(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    source = next((site / "content" / "sources").glob("*.md"))
    source.write_text(source.read_text() + "\nA paragraph added to the source.\n")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_deleted_article_disappears(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site)
    out = tmp_path / "out"
    _build(site, out)
    os.remove(site / "content/articles/a07.md")
    _build(site, out)
    assert not (out / "articles" / "a07").exists()
    assert b"A7<" not in (out / "index.html").read_bytes()
    shutil.rmtree(site / CACHE_DIR)
    _build(site, tmp_path / "cold")
    assert _snapshot(out) == _snapshot(tmp_path / "cold")


# ------------------------------------------------------------ the spare tree (publish.py)


def _spare(site: Path) -> Path:
    spares = [p for p in (site / CACHE_DIR).iterdir() if p.is_dir() and p.name.startswith("spare-")]
    assert len(spares) == 1, spares
    return spares[0]


def _cold(site: Path, tmp_path: Path, name: str) -> dict[str, bytes]:
    _build(site, tmp_path / name, use_cache=False)
    return _snapshot(tmp_path / name)


def test_a_run_of_edits_through_the_spare_matches_cold_builds(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 6)
    out = tmp_path / "out"
    _build(site, out)
    edits = [
        {"content/articles/a01.md": ARTICLE.format(title="Retitled", body="Text.")},
        {"content/articles/new.md": ARTICLE.format(title="New", body="Brand new.")},
        {"content/articles/a02.md": ARTICLE.format(title="A2", body="Changed twice.")},
        # the same text two lines lower: only checks.json (file, line, column) shows it
        {"content/articles/a03.md": ARTICLE.format(title="A3", body="\n\n" + _body(3))},
        {"static/extra.css": "p { color: red }\n"},
    ]
    for step, files in enumerate(edits):
        write_files(site, files)
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"cold{step}"), f"after edit {step}"
    (site / "content/articles/new.md").unlink()
    (site / "static/extra.css").unlink()
    for step in range(2):  # the removal must reach both trees
        if step:
            _edit(site, "a03", "A3", "Again.")
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"removed{step}")
        assert not (out / "articles" / "new").exists()


def test_files_put_in_the_output_by_hand_do_not_come_back_through_the_spare(
    fixture_site: Path, tmp_path: Path
) -> None:
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    (out / "stray.html").write_text("by hand")
    (out / "articles" / "a00" / "extra.txt").write_text("by hand")
    with open(out / "articles" / "a01" / "index.html", "ab") as page:  # in place: the spare shares it
        page.write(b"<!-- edited by hand -->")
    for i in range(3):
        _edit(site, "a02", f"Round {i}", "Text.")
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"cold{i}"), f"round {i}"


# ------------------------------------------------------------ folders known by their stamps


def _tree(top: Path) -> dict[str, object]:
    files = {"index.html": 1, "a/x.html": 1, "a/y.html": 1, "b/z.html": 1, "c/d/w.html": 1}
    for rel in files:
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(rel)
    return files


def _listings(monkeypatch, top: Path) -> list[str]:
    """The folders (relative to top) that sitegen.prune lists from now on."""
    from sitegen import prune

    listed: list[str] = []
    real = os.scandir

    def scandir(path):
        listed.append(Path(path).relative_to(top).as_posix())
        return real(path)

    monkeypatch.setattr(prune.os, "scandir", scandir)
    return listed


def test_prune_lists_only_the_folders_changed_since_they_were_stamped(tmp_path: Path, monkeypatch) -> None:
    from sitegen import prune

    top = tmp_path / "tree"
    held = _tree(top)
    was = prune.stamp_folders(str(top), held)
    assert set(was) == {"a", "b", "c", "c/d"}
    monkeypatch.setattr(prune, "_RACY_NS", -1)  # as if stamped long enough ago (see the next test)
    time.sleep(0.05)  # past the tick of the stamps, on a coarse clock
    (top / "b" / "stray.html").write_text("by hand")
    keep = {rel: 1 for rel in held if rel != "a/y.html"}
    listed = _listings(monkeypatch, top)
    stamps = prune.prune_tree(str(top), keep, was, held)
    assert sorted(listed) == [".", "b"]  # the top (always), and the folder that changed
    assert sorted(_snapshot(top)) == sorted(keep)  # a/y.html went without a listing of a/
    assert set(stamps) == set(was) and stamps["c"] == was["c"] and stamps["a"] != was["a"]


def test_prune_lists_a_folder_changed_as_its_stamp_was_taken(tmp_path: Path, monkeypatch) -> None:
    """A stamp taken within a clock tick of a change vouches for nothing: such a folder is listed."""
    from sitegen import prune

    top = tmp_path / "tree"
    held = _tree(top)
    (top / "b" / "stray.html").write_text("by hand")  # as if in the same tick as the stamp below
    was = prune.stamp_folders(str(top), held)
    listed = _listings(monkeypatch, top)
    prune.prune_tree(str(top), held, was, held)
    assert "b" in listed and not (top / "b" / "stray.html").exists()


def test_prune_removes_a_folder_it_trusted_wrongly_when_it_empties_it(tmp_path: Path, monkeypatch) -> None:
    """A folder left with nothing published in it goes whole, even if it held a file its
    stamp did not show (the risk the racy rule guards against)."""
    from sitegen import prune

    top = tmp_path / "tree"
    held = _tree(top)
    (top / "b" / "stray.html").write_text("by hand")
    was = prune.stamp_folders(str(top), held)  # taken after the stray: it vouches for it
    monkeypatch.setattr(prune, "_RACY_NS", -1)
    prune.prune_tree(str(top), {rel: 1 for rel in held if not rel.startswith("b/")}, was, held)
    assert not (top / "b").exists()


def test_edits_through_a_spare_known_by_its_folder_stamps_match_cold_builds(
    fixture_site: Path, tmp_path: Path, monkeypatch
) -> None:
    from sitegen import prune

    monkeypatch.setattr(prune, "_RACY_NS", -1)  # every folder stamp is trusted unless it changed
    site = _site(fixture_site, 6)
    out = tmp_path / "out"
    _build(site, out)
    for i in range(2):  # the second build's spare is the first's output, which the first stamped
        _edit(site, "a01", f"Round {i}", "Text.")
        _build(site, out)
    spare = _spare(site)
    assert _spare_record(site)[1]  # its folders are known by their stamps
    time.sleep(0.05)
    (spare / "articles" / "a03" / "stray.txt").write_text("in the spare")
    (out / "articles" / "a02" / "stray.txt").write_text("in the output")  # the spare after next
    for i in range(3):
        _edit(site, "a04", f"Then {i}", "Text.")
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"cold{i}"), f"round {i}"
    (site / "content/articles/a05.md").unlink()  # a page to remove from folders not listed
    for i in range(2):
        _build(site, out)
        assert _snapshot(out) == _cold(site, tmp_path, f"removed{i}")


def _spare_record(site: Path) -> tuple:
    from sitegen.cache import Cache

    _as_a_new_process()
    record = Cache(site, _spare(site).name).read()
    assert isinstance(record, tuple)
    return record


def _with_a_spare(fixture_site: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A small site built twice: the second build keeps the first one's output as its spare."""
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    _edit(site, "a01", "Second", "Text.")
    _build(site, out)
    return site, out


def test_a_spare_left_mid_update_by_a_killed_build_is_never_published(
    fixture_site: Path, tmp_path: Path
) -> None:
    site, out = _with_a_spare(fixture_site, tmp_path)
    spare = _spare(site)
    building = spare.with_name(spare.name + ".building")
    spare.rename(building)  # what a SIGKILL in mid-update leaves
    (building / "index.html").write_text("half-written")
    _edit(site, "a02", "Third", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")
    assert not building.exists()


def test_a_file_where_the_spare_goes_is_replaced_and_the_build_succeeds(
    fixture_site: Path, tmp_path: Path
) -> None:
    site, out = _with_a_spare(fixture_site, tmp_path)
    spare = _spare(site)
    shutil.rmtree(spare)
    spare.write_text("not a folder")
    _edit(site, "a02", "Third", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")
    assert not spare.with_name(spare.name + ".building").exists()
    _edit(site, "a03", "Fourth", "Text.")
    _build(site, out)  # and the spare is one again
    assert _snapshot(out) == _cold(site, tmp_path, "cold2")


def test_a_file_where_the_cache_folder_goes_is_survived(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    shutil.rmtree(site / CACHE_DIR)
    (site / CACHE_DIR).write_text("not a folder")
    _edit(site, "a01", "Second", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_cache_left_by_another_user_is_built_around(fixture_site: Path, tmp_path: Path) -> None:
    """One `sudo sitegen build` leaves a cache of root's: the user's builds go on without it."""
    site, out = _with_a_spare(fixture_site, tmp_path)
    for path in [site / CACHE_DIR, *(site / CACHE_DIR).rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)
    _edit(site, "a02", "Third", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_tampered_spare_is_repaired_from_its_record(fixture_site: Path, tmp_path: Path) -> None:
    site, out = _with_a_spare(fixture_site, tmp_path)
    spare = _spare(site)
    (spare / "articles" / "a00" / "index.html").unlink()
    (spare / "sitemap.xml").write_text("tampered, same folder")
    (spare / "articles" / "a03").rename(spare / "articles" / "moved")
    _edit(site, "a02", "Third", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_failed_build_keeps_the_output_and_a_usable_spare(fixture_site: Path, tmp_path: Path) -> None:
    site, out = _with_a_spare(fixture_site, tmp_path)
    good = _snapshot(out)
    bad = ARTICLE.format(title="Bad", body="1 of 9 <<seats NA=1/9>>.")
    write_files(site, {"content/articles/a02.md": bad})
    assert not build_site(site, out).published
    assert _snapshot(out) == good
    _edit(site, "a02", "Fixed", "Text.")
    _build(site, out)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


@pytest.mark.parametrize(
    ("title", "body", "page", "shown"),
    [
        ("A1", "A sentence added meanwhile.", "articles/a01/index.html", "added meanwhile"),
        # the failed build kept the new title in its cache, but the site-wide pages published
        # still show the old one: the next build must not take them as they are
        ("Renamed", "Allies hold 178 of 342 <<seats NA=178/342 majority=yes>>.", "index.html", "Renamed"),
    ],
)
def test_a_page_rendered_by_a_failed_build_is_published_by_the_next_good_one(
    fixture_site: Path, tmp_path: Path, title: str, body: str, page: str, shown: str
) -> None:
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    write_files(
        site,
        {
            "content/articles/a01.md": ARTICLE.format(title=title, body=body),
            "content/articles/a02.md": ARTICLE.format(title="Bad", body="1 of 9 <<seats NA=1/9>>."),
        },
    )
    assert not build_site(site, out).published
    _edit(site, "a02", "Fixed", "Text.")
    _build(site, out)
    assert shown.encode() in (out / page).read_bytes()
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


# ------------------------------------------------------------ watch's quick runs (engine.run_changed)


CLAIM = 'A wire said it <<claim src=001 quote="172 lawmakers">>.'
QUICK_EDITS = [
    # (what changes, the article files written): each must publish what a cold build does
    (
        "a sentence added",
        {"a01": "Allies hold 178 of the 342 seats <<seats NA=178/342 majority=yes>>. More."},
    ),
    ("a marker moved down a line", {"a02": "\nAllies hold 178 of 342 <<seats NA=178/342 majority=yes>>."}),
    ("a new claim", {"a03": CLAIM}),
    # the same text two lines lower: only checks.json (file, line, column) shows it
    ("a claim moved down, nothing else", {"a03": "\n\n" + CLAIM}),
    ("two at once", {"a01": "One.", "a04": "Two <<seats NA=178/342 majority=yes>> of 342 and 178."}),
    ("a fact user", {"uses": "They hold @allies of 342 <<seats NA=@allies/342 majority=yes>>. Yes."}),
    ("a fact's value", {"facts": "The allies hold 179 <<fact allies=179>>."}),  # a full run
    ("a new fact", {"a03": "And 178 <<fact x2=1>>."}),  # a full run
]


def _quick(site: Path, out: Path, previous, changed: set[str]):
    result = build_site(site, out, watching=True, quick=False, previous=previous, changed=changed)
    assert result.published, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result


def _watching(fixture_site: Path, tmp_path: Path) -> tuple[Path, Path, object]:
    """A four-article site built as `watch` starts: the site, its output and the base run."""
    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    return site, out, _quick(site, out, None, set()).checked.run


def test_quick_runs_publish_what_a_cold_build_does(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 6)
    out = tmp_path / "out"
    base = _quick(site, out, None, set()).checked.run
    quick = []
    for step, (what, bodies) in enumerate(QUICK_EDITS):
        files = {
            f"content/articles/{n}.md": ARTICLE.format(title=n.upper(), body=b) for n, b in bodies.items()
        }
        write_files(site, files)
        result = _quick(site, out, base, set(files))
        base = result.checked.run
        quick.append(bool(result.checked.run.touched))
        assert _snapshot(out) == _cold(site, tmp_path, f"cold{step}"), what
    # the fact edits cannot stay in one article: they are run in full
    assert quick == [True] * 6 + [False] * 2


def test_a_title_edit_through_the_quick_path_updates_every_listing(
    fixture_site: Path, tmp_path: Path
) -> None:
    site, out, base = _watching(fixture_site, tmp_path)
    _edit(site, "a01", "A brand new headline", "Text.")
    _quick(site, out, base, {"content/articles/a01.md"})
    assert b"A brand new headline" in (out / "index.html").read_bytes()
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_quick_run_previews_exactly_the_edited_pages_it_publishes(
    fixture_site: Path, tmp_path: Path
) -> None:
    site, out, base = _watching(fixture_site, tmp_path)
    shown: list[dict[str, bytes]] = []

    def quick(changed: set[str]):
        return build_site(
            site, out, watching=True, quick=False, previous=base, changed=changed, preview=shown.append
        )

    _edit(site, "a01", "A brand new headline", "Text.")
    base = quick({"content/articles/a01.md"}).checked.run
    assert list(shown.pop()) == ["articles/a01/index.html"]
    # what was previewed is what was published (the index follows the same build)
    published = (out / "articles" / "a01" / "index.html").read_bytes()
    assert b"A brand new headline" in published
    assert b"A brand new headline" in (out / "index.html").read_bytes()
    base = quick({"content/articles/a01.md"}).checked.run  # saved again unchanged: nothing to preview
    _edit(site, "a02", "Broken", "1 of 9 <<seats NA=1/9>>.")
    assert not quick({"content/articles/a02.md"}).published  # an error: nothing previewed
    assert shown == []
    _edit(site, "a02", "Mended", "Text.")
    quick({"content/articles/a02.md"})
    assert shown.pop() == {"articles/a02/index.html": (out / "articles/a02/index.html").read_bytes()}


def test_watch_started_on_an_up_to_date_site_is_quick_from_the_first_edit(
    fixture_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitegen.cache import Cache

    site = _site(fixture_site, 4)
    out = tmp_path / "out"
    _build(site, out)
    _as_a_new_process()
    start = _quick(site, out, None, set())  # `watch` starting: the output is already up to date
    assert start.unchanged
    _edit(site, "a01", "First edit", "Text.")

    reading = Cache.read

    def no_reading(self):
        if self.path.name == "build.pickle":
            raise AssertionError("the build cache was read again to learn its generation")
        return reading(self)

    monkeypatch.setattr(Cache, "read", no_reading)
    result = _quick(site, out, start.checked.run, {"content/articles/a01.md"})
    assert result.checked.run.touched  # quick: just that file
    monkeypatch.undo()
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_quick_runs_after_a_failed_one_start_from_the_last_published(
    fixture_site: Path, tmp_path: Path
) -> None:
    site, out, base = _watching(fixture_site, tmp_path)
    good = ARTICLE.format(title="A1", body="Edited while another was broken.")
    bad = ARTICLE.format(title="Bad", body="1 of 9 <<seats NA=1/9>>.")
    write_files(site, {"content/articles/a01.md": good, "content/articles/a02.md": bad})
    pending = {"content/articles/a01.md", "content/articles/a02.md"}
    texts = dict(base.site.texts)
    failed = build_site(site, out, watching=True, quick=False, previous=base, changed=set(pending))
    assert not failed.published
    assert base.site.texts == texts  # the base is kept as it was, the broken text not in it
    _edit(site, "a02", "Fixed", "Text.")
    _quick(site, out, base, pending)
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_a_quick_run_on_a_replaced_base_runs_in_full(fixture_site: Path, tmp_path: Path) -> None:
    site, out, base = _watching(fixture_site, tmp_path)
    _edit(site, "a00", "Elsewhere", "By the CLI.")
    _build(site, out)  # publishes a new output that `base` knows nothing of
    _edit(site, "a01", "A1", "Then watch.")
    result = _quick(site, out, base, {"content/articles/a01.md"})
    assert not result.checked.run.touched
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


# ------------------------------------------------------------ the cache's base + delta files


def _as_a_new_process() -> None:
    from sitegen.cache import Cache

    Cache._written.clear()
    Cache._bases.clear()
    Cache._seen.clear()


def test_the_cache_journal_reads_back_what_was_built(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 30)
    out = tmp_path / "out"
    _build(site, out)
    base, delta = site / CACHE_DIR / "build.pickle", site / CACHE_DIR / "build.delta.pickle"
    for i in range(3):
        _as_a_new_process()
        write_files(site, {f"content/articles/a{i:02}.md": ARTICLE.format(title=f"E{i}", body="Edited.")})
        assert _build(site, out).rendered == 1
        assert delta.is_file() and delta.stat().st_size < base.stat().st_size / 2
    _as_a_new_process()
    assert _build(site, out).rendered == 0  # every edit is in the delta
    assert _snapshot(out) == _cold(site, tmp_path, "cold")


def test_the_cache_journal_keeps_every_field(fixture_site: Path, tmp_path: Path) -> None:
    """A delta carries all of the CacheData but its unchanged entries: every field reads back."""
    from dataclasses import fields

    from sitegen.cache import Cache, CacheData

    site = _site(fixture_site, 30)
    out = tmp_path / "out"
    _build(site, out)
    _as_a_new_process()
    _edit(site, "a01", "E", "Edited.")
    _build(site, out)
    assert (site / CACHE_DIR / "build.delta.pickle").is_file()
    written = Cache._written[site / CACHE_DIR / "build.pickle"][1]
    _as_a_new_process()
    read = Cache(site, "build").read()
    assert isinstance(read, CacheData) and read.templates_ok == read.env != ""
    for field in fields(CacheData):
        assert getattr(read, field.name) == getattr(written, field.name), field.name


def test_what_only_site_pages_read_is_unpickled_when_read() -> None:
    import pickle

    from sitegen.render import Rendered

    items = {"index_item.html": "i"}
    made = Rendered(view="view", html=b"<p>", excerpt="e", checks_rows=b"rows", items=items)
    read = pickle.loads(pickle.dumps(made))
    assert "view" not in vars(read) and read.excerpt == "e"  # the packed fields wait
    assert read == made and "view" in vars(read)  # and come back whole when read
    read.items["tag_item.html"] = "t"  # an entry made later is kept with the rest
    again = pickle.loads(pickle.dumps(read))
    assert again.items == {"index_item.html": "i", "tag_item.html": "t"} and again.checks_rows == b"rows"
    with pytest.raises(AttributeError):
        again.nothing_of_the_kind  # noqa: B018


def test_a_corrupt_or_foreign_delta_is_not_used(fixture_site: Path, tmp_path: Path) -> None:
    site = _site(fixture_site, 30)
    out = tmp_path / "out"
    _build(site, out)
    delta = site / CACHE_DIR / "build.delta.pickle"
    _as_a_new_process()
    _edit(site, "a01", "E", "Edited.")
    _build(site, out)
    kept = delta.read_bytes()
    blob = bytearray(kept)
    blob[len(blob) // 2] ^= 0xFF
    delta.write_bytes(bytes(blob))
    _as_a_new_process()
    _edit(site, "a02", "F", "Edited.")
    assert _build(site, out).rendered == 2  # a01's entry was only in the delta
    assert _snapshot(out) == _cold(site, tmp_path, "cold1")
    (site / CACHE_DIR / "build.pickle").unlink()  # a delta without its base
    delta.write_bytes(kept)
    _as_a_new_process()
    _edit(site, "a03", "G", "Edited.")
    assert _build(site, out).rendered == 32
    assert _snapshot(out) == _cold(site, tmp_path, "cold2")


def test_hashing_shared_among_workers_finds_what_one_process_finds(
    fixture_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sitegen.engine
    import sitegen.inputs

    site = _site(fixture_site, 60)
    write_files(
        site,
        {
            "content/articles/late.md": ARTICLE.format(title="Late", body="Again 178 <<fact allies=178>>."),
            "content/articles/a00.md": ARTICLE.format(title="Early", body="Not 179 <<fact allies=179>>."),
            "content/articles/b.md": ARTICLE.format(
                title="Two", body="One <<fact other=1>> then <<fact other=2>> on one line."
            ),
        },
    )
    (site / "content/articles/zz-bad.md").write_bytes(b"---\ntitle: \xff\n---\n")
    from sitegen.pipeline import check_site

    shared: list[int] = []
    pool = sitegen.engine.workers_pool

    def counting_pool(workers, initializer=None, initargs=()):
        shared.append(initializer is None)  # the first pass's pool has no initializer
        return pool(workers, initializer, initargs)

    serial = check_site(site, jobs=1)
    monkeypatch.setattr(sitegen.inputs, "_READ_IN_PARALLEL", 10)
    monkeypatch.setattr(sitegen.inputs, "workers_pool", counting_pool)
    monkeypatch.setattr(sitegen.engine, "workers_pool", counting_pool)
    parallel = check_site(site, jobs=2)
    if (os.cpu_count() or 1) > 1:
        assert shared[0] is True
    assert [str(d) for d in serial.diagnostics] == [str(d) for d in parallel.diagnostics]
    assert any(d.code == "SG501" and d.span.file.endswith("zz-bad.md") for d in parallel.diagnostics)
    assert any(d.code == "SG402" for d in parallel.diagnostics)
    assert parallel.run is not None and serial.run is not None
    assert parallel.run.facts.first == serial.run.facts.first
    assert parallel.run.facts.first["allies"].span.file.endswith("a00.md")
    provisional = _provisional(site, jobs=2)
    assert provisional == _provisional(site, jobs=1)
    assert {n: (f.value, f.span.file, f.span.line) for n, f in provisional.items()} == {
        n: (f.value, f.span.file, f.span.line) for n, f in serial.run.facts.first.items()
    }


def _provisional(site: Path, jobs: int) -> dict:
    from sitegen.cache import CacheData
    from sitegen.facts import provisional_facts
    from sitegen.inputs import Texts, unchanged_candidates
    from sitegen.site import load_site

    loaded, texts = load_site(site), Texts(site)
    _, candidates, _ = unchanged_candidates(loaded, CacheData(), texts, jobs)
    return provisional_facts(loaded, candidates, texts).first


def test_a_site_list_template_sees_every_article_field_change(fixture_site: Path, tmp_path: Path) -> None:
    """A site's own index_item.html may show fields the built-in one does not (the draft flag,
    the file): a change to one of them alone must reach the index as a cold build has it."""
    site = _site(fixture_site, 3)
    write_files(site, {"templates/index_item.html": "<li>{{ a.title }} {{ a.path }} {{ a.draft }}</li>\n"})
    out = tmp_path / "out"
    draft = "---\ntitle: A1\ndate: 2021-03-06\ndraft: true\n---\n" + _body(1) + "\n"
    write_files(site, {"content/articles/a01.md": draft})
    _build(site, out, drafts=True)
    write_files(site, {"content/articles/a01.md": draft.replace("draft: true", "draft: false")})
    _build(site, out, drafts=True)
    cold = tmp_path / "cold"
    _build(site, cold, drafts=True, use_cache=False)
    assert _snapshot(out) == _snapshot(cold)
    assert b"a01.md False" in (out / "index.html").read_bytes()


def _diagnostics(result) -> list[tuple]:
    return [(d.code, d.span.file, d.span.line, d.message, d.help) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # the precision a fact is written at is what a pct checks: 52.0% is not 52%
        (
            {
                "def": "The share is 52% <<fact share=52%>>.",
                "use": "They hold 523 of 1000, 52.3% <<pct 523/1000 @share>>.",
            },
            {"def": "The share is 52.0% <<fact share=52.0%>>."},
        ),
        # a message naming where a fact is defined follows the definition when it moves
        (
            {"def": "The share is 52% <<fact share=52%>>.", "use": "They hold 52 <<seats NA=@share/342>>."},
            {"def": "\n\nThe share is 52% <<fact share=52%>>."},
        ),
        # syntax shown in a code span defines nothing, also while other articles come from the cache
        (
            {
                "a-doc": "Write `<<fact share=52.0%>>` to define one.",
                "def": "The share is 52% <<fact share=52%>>.",
                "use": "They hold 523 of 1000, 52.3% <<pct 523/1000 @share>>.",
            },
            {"use": "They hold 523 of 1000, 52.3% <<pct 523/1000 @share>>. Again."},
        ),
        (
            {
                "a-doc": "Write `<<fact share=52%>>` to define one.",
                "def": "The share is 52% <<fact share=52%>>.",
                "use": "They hold 52 <<seats NA=@share/342>>.",
            },
            {"use": "They hold 52 <<seats NA=@share/342>>. Again."},
        ),
    ],
    ids=["precision", "place-in-help", "code-span-precision", "code-span-place"],
)
def test_what_a_fact_user_saw_is_checked_again_when_it_changes(
    before: dict[str, str], after: dict[str, str], fixture_site: Path, tmp_path: Path
) -> None:
    def write(bodies: dict[str, str]) -> None:
        write_files(
            fixture_site,
            {f"content/articles/{n}.md": ARTICLE.format(title=n, body=b) for n, b in bodies.items()},
        )

    write(before)
    out = tmp_path / "out"
    build_site(fixture_site, out, jobs=1)
    write(after)
    incremental = build_site(fixture_site, out, jobs=1)
    cold = build_site(fixture_site, tmp_path / "cold", jobs=1, use_cache=False)
    assert _diagnostics(incremental) == _diagnostics(cold)
    assert incremental.published == cold.published
    if cold.published:
        assert _snapshot(out) == _snapshot(tmp_path / "cold")


def test_a_site_file_over_a_built_in_one_stays_the_sites_in_watch_rebuilds(
    fixture_site: Path, tmp_path: Path
) -> None:
    # watch trusts its spare's record: a file the build replaced in the spare (the built-in
    # stylesheet written, then the site's over it) must not be taken as still the record's
    write_files(fixture_site, {"static/sitegen.css": "/* the site's own */\n"})
    out = tmp_path / "out"
    _build(fixture_site, out)
    for round_ in range(3):
        source = fixture_site / "content" / "sources" / "001.md"
        source.write_text(source.read_text(encoding="utf-8") + f"\nMore {round_}.\n", encoding="utf-8")
        _build(fixture_site, out, watching=True, quick=False)
        assert (out / "static" / "sitegen.css").read_text(encoding="utf-8") == "/* the site's own */\n"


def test_a_page_checked_again_in_one_watch_rebuild_is_published_as_checked_last(
    fixture_site: Path, tmp_path: Path
) -> None:
    # the code span makes the quick fact scan see 179; the real definition is 178, so `uses`
    # is rendered twice in one build, and the second page equals the one the spare holds
    site = _site(fixture_site, count=2)
    out = tmp_path / "out"
    _build(site, out)
    run = _build(site, out, watching=True, quick=False).checked.run
    _edit(site, "a00", "A0", "Plain text.")  # a rebuild: the spare now holds the page of `uses`
    run = _build(site, out, watching=True, previous=run, changed={"content/articles/a00.md"}).checked.run
    _edit(site, "a-doc", "Doc", "Write `<<fact allies=179>>` to define a figure.")
    _build(site, out, watching=True, previous=run, changed={"content/articles/a-doc.md"})
    page = (out / "articles" / "uses" / "index.html").read_text(encoding="utf-8")
    assert "178 of 342" in page and "179" not in page


def test_a_template_moved_between_folders_is_a_change(fixture_site: Path, tmp_path: Path) -> None:
    # Jinja finds a template by its path: a parked override moved into place is a new template
    site = _site(fixture_site, count=2)
    parked = "{% extends 'base.html' %}{% block main %}<p>Override {{ article.title }}</p>{% endblock %}\n"
    write_files(site, {"templates/off/article.html": parked})
    out = tmp_path / "out"
    _build(site, out)
    (site / "templates" / "off" / "article.html").rename(site / "templates" / "article.html")
    _build(site, out)
    assert "<p>Override A0</p>" in (out / "articles" / "a00" / "index.html").read_text(encoding="utf-8")


def test_a_static_file_replaced_with_the_same_size_and_mtime_is_published(
    fixture_site: Path, tmp_path: Path
) -> None:
    css = fixture_site / "static" / "site.css"
    write_files(fixture_site, {"static/site.css": "body { color: red  }\n"})
    os.utime(css, ns=(1_577_836_800_000_000_000,) * 2)
    out = tmp_path / "out"
    _build(fixture_site, out)
    replacement = tmp_path / "new.css"
    replacement.write_text("body { color: blue }\n", encoding="utf-8")
    os.utime(replacement, ns=(1_577_836_800_000_000_000,) * 2)
    os.replace(replacement, css)  # as `cp -p` or `rsync -a` leave it: same size, same mtime
    _build(fixture_site, out)
    assert (out / "static" / "site.css").read_text(encoding="utf-8") == "body { color: blue }\n"


def test_a_static_file_saved_while_the_build_copies_is_copied_again_next_time(
    fixture_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sitegen.build

    css = fixture_site / "static" / "site.css"
    write_files(fixture_site, {"static/site.css": "/* v1 */\n"})
    out = tmp_path / "out"
    _build(fixture_site, out)
    css.write_text("/* v2 */\n", encoding="utf-8")
    copy = sitegen.build.publish_static

    def copy_then_save(publisher, root: Path) -> None:  # a designer saves again just after the copy
        copy(publisher, root)
        css.write_text("/* v3, saved as the build ends */\n", encoding="utf-8")

    monkeypatch.setattr(sitegen.build, "publish_static", copy_then_save)
    _build(fixture_site, out)
    monkeypatch.setattr(sitegen.build, "publish_static", copy)
    again = _build(fixture_site, out)
    assert not again.unchanged
    assert (out / "static" / "site.css").read_text(encoding="utf-8") == css.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "bad",
    [
        {"content/sources/old/001.md": None},  # the same id twice (a copy of 001.md)
        {"content/sources/s 2.md": "---\ntitle: T\npublisher: P\ndate: 2021-03-01\n---\nText.\n"},
    ],
    ids=["duplicate id", "bad id"],
)
def test_a_build_with_nothing_else_to_do_still_reports_a_bad_source_file(
    fixture_site: Path, tmp_path: Path, bad: dict
) -> None:
    site, out = _built_small_site(fixture_site, tmp_path)
    original = (site / "content" / "sources" / "001.md").read_text(encoding="utf-8")
    write_files(site, {rel: text or original for rel, text in bad.items()})
    result = build_site(site, out)
    assert not result.published and [d.code for d in result.diagnostics] == ["SG501"]


def test_the_grammar_is_part_of_what_makes_the_cache_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # in a checkout the grammar is beside the package, not in it: it must count all the same
    from sitegen import inputs

    inputs.code_digest.cache_clear()
    before = inputs.code_digest()
    monkeypatch.setattr(inputs, "grammar_text", lambda: "start: NAME\n")
    inputs.code_digest.cache_clear()
    try:
        assert inputs.code_digest() != before
    finally:
        monkeypatch.undo()
        inputs.code_digest.cache_clear()
