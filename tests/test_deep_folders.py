"""Site folders nested deeper than Python's recursion limit: every walk of templates/, static/
and the output holds up (Python 3.11's os.walk, Path.rglob, shutil.rmtree and os.makedirs
each recurse once per level, and ended such a build in an internal RecursionError)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_files

from sitegen.cli import main
from sitegen.walk import make_folders, remove_tree, walk
from sitegen.watch_inputs import other_inputs

DEPTH = 1_100  # past the default recursion limit of 1,000, with paths well short of PATH_MAX
CHAIN = "/".join(["s"] * DEPTH)


def _deep(top: Path, leaf: str, text: str = "x\n", chain: str = CHAIN) -> Path:
    """top/s/s/…/leaf, one folder at a time (os.makedirs would recurse as deep)."""
    folder = str(top)
    os.makedirs(folder, exist_ok=True)
    for name in chain.split("/"):
        folder = os.path.join(folder, name)
        os.mkdir(folder)
    path = Path(folder, leaf)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(fixture_site: Path, tmp_path: Path) -> Iterator[Path]:
    write_files(fixture_site, {"content/articles/a.md": "---\ntitle: A\ndate: 2021-03-06\n---\nText.\n"})
    yield fixture_site
    remove_tree(tmp_path, ignore_errors=True)  # pytest's own clean-up uses shutil.rmtree


def test_the_recursion_limit_is_below_the_depth() -> None:
    assert sys.getrecursionlimit() < DEPTH


def test_check_and_build_with_templates_a_thousand_deep(site: Path, tmp_path: Path, capsys) -> None:
    _deep(site / "templates", "f.html", "<p>{{ site.title }}</p>\n")
    assert main(["check", str(site)]) == 0
    assert main(["build", str(site), "--out", str(tmp_path / "out")]) == 0
    assert main(["build", str(site), "--out", str(tmp_path / "out")]) == 0
    assert "internal error" not in capsys.readouterr().err


def test_a_template_a_thousand_deep_is_still_compiled_by_check(site: Path, capsys) -> None:
    _deep(site / "templates", "f.html", "{% if %}\n")
    assert main(["check", str(site), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in report["diagnostics"]] == ["SG902"]


def test_build_with_static_a_thousand_deep_and_then_without(site: Path, tmp_path: Path, capsys) -> None:
    out, article = tmp_path / "out", site / "content/articles/a.md"
    _deep(site / "static", "f.css")
    assert main(["build", str(site), "--out", str(out)]) == 0
    assert (out / "static" / CHAIN / "f.css").read_text() == "x\n"
    article.write_text(article.read_text() + "More.\n")
    assert main(["build", str(site), "--out", str(out)]) == 0  # the first output is kept as the spare
    # the same tree under another name: the spare's deep copy is pruned, the new one written
    os.rename(site / "static" / "s", site / "static" / "t")
    assert main(["build", str(site), "--out", str(out)]) == 0
    assert (out / "static" / "t" / CHAIN[2:] / "f.css").is_file()
    assert not (out / "static" / "s").exists()
    assert "internal error" not in capsys.readouterr().err


def test_a_killed_builds_deep_leftover_is_removed(site: Path, tmp_path: Path) -> None:
    leftover = tmp_path / ".out.sitegen-tmp-1-deadbeef"
    _deep(leftover, "f.css")
    assert main(["build", str(site), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    assert not leftover.exists()


def test_watch_lists_deep_inputs(site: Path) -> None:
    _deep(site / "templates", "f.html")
    _deep(site / "static", "f.css")
    inputs = other_inputs(site)
    assert f"templates/{CHAIN}/f.html" in inputs
    assert f"static/{CHAIN}/f.css" in inputs


def test_the_walks_match_the_standard_library_where_it_does_not_recurse_too_deep(tmp_path: Path) -> None:
    for rel in ("a/b/c", "a/d", "e", ".f/g"):
        os.makedirs(tmp_path / rel)
        (tmp_path / rel / "x").write_text("x")
    os.symlink("a", tmp_path / "link")
    os.symlink("nowhere", tmp_path / "broken")
    for links in (False, True):
        assert list(walk(tmp_path, followlinks=links)) == list(os.walk(tmp_path, followlinks=links))
    make_folders(tmp_path / "e/h/i")
    assert (tmp_path / "e/h/i").is_dir()
    with pytest.raises(FileExistsError):
        make_folders(tmp_path / "e/x")
    with pytest.raises(NotADirectoryError):
        make_folders(tmp_path / "e/x/y")
    remove_tree(tmp_path / "a")
    assert not (tmp_path / "a").exists() and (tmp_path / "link").is_symlink()
    with pytest.raises(OSError):
        remove_tree(tmp_path / "link")


def test_deep_folders_are_made_and_removed(tmp_path: Path) -> None:
    target = tmp_path / "made" / CHAIN
    make_folders(target)
    assert target.is_dir()
    remove_tree(tmp_path / "made")
    assert not (tmp_path / "made").exists()
