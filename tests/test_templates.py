"""A site's templates: what `check` and `build` find wrong in them (SG902), and how they may use
the built-in ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_files

from sitegen.cli import main

ARTICLE = "---\ntitle: A\ndate: 2021-03-06\ntags: [x]\n---\nText.\n"

# a layout with the blocks the built-in pages fill, under other names
BASE_WITHOUT_MAIN = (
    '<!doctype html>\n<html lang="en">\n<head><title>{% block title %}{% endblock %}</title>'
    "{% block head %}{% endblock %}</head>\n<body>{% block content %}{% endblock %}</body>\n</html>\n"
)


def _report(capsys, site: Path, out: Path, files: dict[str, str], command: str, *options: str) -> tuple:
    """(exit status, diagnostics) of a check or build of a one-article site with these files."""
    write_files(site, {"content/articles/a.md": ARTICLE, **files})
    where = ["--out", str(out)] if command == "build" else []
    status = main([command, str(site), *where, "--format", "json", *options])
    return status, json.loads(capsys.readouterr().out)["diagnostics"]


# ------------------------------------------------------------ blocks a layout lacks

TITLE_HEAD = "<title>{% block title %}{% endblock %}</title>{% block head %}{% endblock %}"
NOPE = "{% block nope %}x{% endblock %}\n"


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_layout_without_the_block_pages_fill_is_sg902_at_the_first_that_fills_it(
    tmp_path: Path, fixture_site: Path, capsys, command: str
) -> None:
    out = tmp_path / "out"
    files = {"templates/base.html": BASE_WITHOUT_MAIN}
    status, diagnostics = _report(capsys, fixture_site, out, files, command, "--strict")
    assert status == 2
    [main_block] = [d for d in diagnostics if "`main`" in d["message"]]
    assert (main_block["code"], main_block["file"], main_block["line"]) == (
        "SG902",
        "(built-in)/article.html",
        5,
    )
    assert "article.html fills block `main`, which base.html does not have" in main_block["message"]
    assert "would never appear" in main_block["message"]
    # one error for the block, naming the other pages that fill it, not one for each of them
    assert "index.html" in main_block["message"] and "tag.html" in main_block["message"]
    assert "{% block main %}{% endblock %} to base.html" in main_block["help"]
    assert [d["code"] for d in diagnostics] == ["SG902"]
    assert not out.exists()


def test_a_sites_own_page_filling_a_block_its_layout_lacks_is_pointed_at(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    files = {
        "templates/layout.html": TITLE_HEAD + "<main>{% block body %}{% endblock %}</main>\n",
        "templates/base.html": '{% extends "layout.html" %}\n{% block body %}{% block main %}{% endblock %}'
        "{% endblock %}\n",
        "templates/index.html": '{% extends "base.html" %}\n{% block main %}x{% endblock %}\n'
        "{% block sidebar %}y{% endblock %}\n",
    }
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "check")
    assert status == 2
    [diag] = diagnostics
    assert (diag["file"], diag["line"]) == ("templates/index.html", 3)
    assert "index.html fills block `sidebar`, which none of base.html, layout.html has" in diag["message"]


@pytest.mark.parametrize(
    "files",
    [
        # blocks inside blocks, a block placed by `self`, a layout chosen by a variable
        {
            "templates/base.html": TITLE_HEAD + "<main>{% block main %}{% endblock %}"
            "{% if self.extra is defined %}{{ self.extra() }}{% endif %}</main>\n",
            "templates/index.html": '{% extends "base.html" %}\n{% block main %}{% block inner %}'
            "{% endblock %}{% endblock %}{% block extra %}{% endblock %}\n",
        },
        # a block the child places itself
        {
            "templates/index.html": '{% extends "base.html" %}\n{% block intro %}<p>Hi</p>{% endblock %}'
            "{% block main %}{{ self.intro() }}{% endblock %}\n",
        },
        {"templates/index.html": "{% extends site.layout|default('base.html') %}" + NOPE},
        {"templates/index.html": "{% if site.title is defined %}{% extends 'base.html' %}{% endif %}" + NOPE},
    ],
)
def test_blocks_that_are_placed_or_cannot_be_judged_are_not_errors(
    tmp_path: Path, fixture_site: Path, capsys, files: dict[str, str]
) -> None:
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "build")
    assert (status, diagnostics) == (0, [])


# ------------------------------------------------------------ every file of templates/ compiled


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("icons/i.svg", "<svg>\n{% if %}</svg>\n", 2), ("partials/macros.jinja", "{% macro m() %}x\n", 1)],
)
def test_a_partial_of_any_name_that_does_not_compile_is_sg902(
    tmp_path: Path, fixture_site: Path, capsys, command: str, name: str, text: str, line: int
) -> None:
    """No page uses it yet; one that includes or imports it would fail the build."""
    status, diagnostics = _report(
        capsys, fixture_site, tmp_path / "out", {f"templates/{name}": text}, command
    )
    assert status == 2
    assert [(d["code"], d["file"], d["line"]) for d in diagnostics] == [("SG902", f"templates/{name}", line)]


def test_dot_files_and_files_that_are_not_text_in_templates_are_not_compiled(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    (fixture_site / "templates" / "icons").mkdir(parents=True)
    (fixture_site / "templates" / "icons" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff{% if")
    files = {"templates/.article.html.swp": "{% if", "templates/.git/x.html": "{% if"}
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "check")
    assert (status, diagnostics) == (0, [])


def test_an_html_template_that_is_not_utf8_is_still_sg902(tmp_path: Path, fixture_site: Path, capsys) -> None:
    (fixture_site / "templates").mkdir()
    (fixture_site / "templates" / "unused.html").write_bytes(b"caf\xe9\n")
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", {}, "check")
    assert status == 2
    [diag] = diagnostics
    assert (diag["file"], "not valid UTF-8" in diag["message"]) == ("templates/unused.html", True)


# ------------------------------------------------------------ [site] keys templates see


def test_a_site_key_named_stylesheet_is_sg901_as_templates_would_never_see_it(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    toml = (fixture_site / "site.toml").read_text(encoding="utf-8")
    toml = toml.replace("[site]\n", '[site]\nstylesheet = "print.css"\n', 1)
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", {"site.toml": toml}, "check")
    assert status == 2
    [diag] = diagnostics
    assert (diag["code"], diag["file"], diag["line"]) == (
        "SG901",
        "site.toml",
        toml.splitlines().index('stylesheet = "print.css"') + 1,
    )
    assert "`stylesheet` is sitegen's own name in templates' `site`; use another" in diag["message"]


# ------------------------------------------------------------ undefined names, in the template's terms


def _page_with(expression: str) -> dict[str, str]:
    return {
        "templates/article.html": "{% extends 'base.html' %}\n{% block main %}{{ "
        + expression
        + " }}{% endblock %}\n"
    }


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (_page_with("article.titel"), "`article` has no attribute `titel`; did you mean `title`?"),
        (_page_with("site.titel"), "`site` has no attribute `titel`; did you mean `title`?"),
        (
            _page_with("article.tags[0].nme"),
            "this TagView has no attribute `nme`; did you mean `name`?",
        ),
        (_page_with("article.author.name"), "a value that is None (empty) has no attribute `name`"),
        (
            _page_with("artcle.title"),
            "`artcle` is undefined; article.html is given `site`, `root`, `canonical`, `live_reload`, "
            "`article`, `body`, `notes` and `json_ld`; did you mean `article`?",
        ),
        (
            {"templates/index_item.html": "{{ articles }}\n"},
            "`articles` is undefined; index_item.html is given `a` and `root`",
        ),
        (
            {"templates/tag_item.html": "{{ a.tittle }}\n"},
            "`a` has no attribute `tittle`; did you mean `title`?",
        ),
    ],
)
def test_an_undefined_name_is_said_in_the_templates_terms_with_the_nearest_one(
    tmp_path: Path, fixture_site: Path, capsys, files: dict[str, str], message: str
) -> None:
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "build")
    assert status == 2
    [diag] = diagnostics
    assert message in diag["message"]
    assert "sitegen." not in diag["message"] and " object" not in diag["message"]


def test_templates_importing_each_other_are_said_to(tmp_path: Path, fixture_site: Path, capsys) -> None:
    files = {
        "templates/m.html": '{% import "n.html" as n %}\n',
        "templates/n.html": '{% import "m.html" as m %}\n',
        "templates/article.html": '{% extends "base.html" %}{% import "m.html" as m %}\n',
    }
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "build")
    assert status == 2
    [diag] = diagnostics
    assert "m.html, n.html extend, include or import each other without end" in diag["message"]


# ------------------------------------------------------------ the built-in templates under builtin/


def test_a_site_template_may_extend_the_built_in_one_it_replaces(
    tmp_path: Path, fixture_site: Path, capsys
) -> None:
    files = {
        "templates/article.html": '{% extends "builtin/article.html" %}\n'
        '{% block head %}{{ super() }}<meta name="x-desk" content="politics">{% endblock %}\n',
        "templates/index.html": '{% extends "builtin/index.html" %}\n'
        "{% block main %}<p>Desk picks</p>{{ super() }}{% endblock %}\n",
    }
    out = tmp_path / "out"
    status, diagnostics = _report(capsys, fixture_site, out, files, "build")
    assert (status, diagnostics) == (0, [])
    page = (out / "articles" / "a" / "index.html").read_text(encoding="utf-8")
    assert '<meta name="x-desk" content="politics">' in page
    assert "application/ld+json" in page and "<h1>A</h1>" in page  # the built-in page around it
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<p>Desk picks</p>" in index and 'href="articles/a/index.html"' in index


# ------------------------------------------------------------ the page a template failed on


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_of_one_pages_values_names_the_page_once_for_all_that_met_it(
    tmp_path: Path, fixture_site: Path, capsys, jobs: str
) -> None:
    articles = {
        f"content/articles/{name}.md": f"---\ntitle: {name}\ndate: 2021-03-06\n---\nText.\n"
        for name in ("ward-election", "budget", "senate")
    }
    articles["content/articles/with-summary.md"] = (
        "---\ntitle: S\ndate: 2021-03-06\nsummary: Short.\n---\nText.\n"
    )
    page = "{% extends 'base.html' %}\n{% block main %}\n{{ article.summary|truncate(30) }}\n{% endblock %}\n"
    files = {**articles, "templates/article.html": page}
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "build", "--jobs", jobs)
    assert status == 2
    [diag] = diagnostics
    assert (diag["file"], diag["line"]) == ("templates/article.html", 3)
    assert diag["message"].endswith("(while rendering content/articles/a.md and 3 other pages)")


@pytest.mark.parametrize(
    ("files", "names"),
    [
        # a list entry's error names its article
        (
            {"templates/index_item.html": "{{ a.summary|truncate(3) }}\n"},
            "(while rendering the entry of content/articles/a.md)",
        ),
        # a syntax error is no page's: it names none
        (
            {"templates/article.html": "{% extends 'base.html' %}\n{% block main %}{{ }}{% endblock %}\n"},
            None,
        ),
    ],
)
def test_a_template_error_names_the_page_it_was_met_on_if_any(
    tmp_path: Path, fixture_site: Path, capsys, files: dict[str, str], names: str | None
) -> None:
    status, diagnostics = _report(capsys, fixture_site, tmp_path / "out", files, "build")
    assert status == 2
    [diag] = diagnostics
    if names is None:
        assert "while rendering" not in diag["message"]
    else:
        assert diag["message"].endswith(names)


def test_a_site_key_named_as_a_dict_method_is_its_value(tmp_path: Path, fixture_site: Path) -> None:
    """`copy = "..."` for a copyright line: Jinja2 looks attributes up first, and on a dict
    `site.copy` was the dict's copy method, printed with its address."""
    toml = (fixture_site / "site.toml").read_text(encoding="utf-8")
    toml = toml.replace("[site]\n", '[site]\ncopy = "Desk 2024"\nitems = "x"\n', 1)
    page = "{% extends 'base.html' %}\n{% block main %}[{{ site.copy }}|{{ site['items'] }}]{% endblock %}\n"
    write_files(fixture_site, {"site.toml": toml, "templates/index.html": page})
    out = tmp_path / "out"
    assert main(["build", str(fixture_site), "--out", str(out)]) == 0
    assert "[Desk 2024|x]" in (out / "index.html").read_text(encoding="utf-8")
