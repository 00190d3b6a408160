"""Random runs of edits to the example site: after each, the cached build (`sitegen build`) and
the quick rebuild (`watch`) must publish exactly what a cold build does, with the same
diagnostics.

Each edit is one a newsroom makes: text appended, an annotation moved to another line, a
footnote added, a title, date, tag, author, summary, slug or draft flag changed, an article
copied, renamed or deleted, a source edited, added or renamed, a missing source cited, a
fact used before it is defined or defined twice, a site template added or removed, the
site's stylesheet added or removed, site.toml's title or base URL changed.  The seeds are
fixed: the same runs every time.
"""

from __future__ import annotations

import functools
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO

from sitegen.build import build_site

EDIT_SEEDS = [1, 2, 3]
STEPS = 30

# Site templates that show what the built-in ones do not (every article and check field).
TEMPLATES = {
    "index_item.html": "<li>{{ a.title }} {{ a.path }} {{ a.draft }} {{ a.date_iso }} {{ a.checks }}</li>\n",
    "tag_item.html": "<li>{{ a.title }} / {{ a.summary }} / {{ a.author }}</li>\n",
    "checks_rows.html": "{% for c in checks %}<tr><td>{{ c.file }}:{{ c.line }}:{{ c.column }} "
    "{{ c.kind }} {{ c.status }}</td></tr>\n{% endfor %}",
}


# Front-matter edits: a field and its new value (None: the field removed).
FRONT_MATTER: list[tuple[str, Callable[[random.Random], str | None]]] = [
    ("title", lambda rnd: f'"Title {rnd.randint(0, 99)}"'),
    # within March 2021: the example's checks use the assembly's strength that month
    ("date", lambda rnd: f"2021-03-{rnd.randint(1, 31):02d}"),
    ("draft", lambda rnd: rnd.choice(["true", "false", None])),
    ("tags", lambda rnd: rnd.choice(["[a, b]", "[b]", "[senate, c]", None, "[]"])),
    ("tags", lambda rnd: rnd.choice(["[Senate]", "[senate]", "[SENATE, Vote]", "[vote]"])),  # in another case
    ("summary", lambda rnd: rnd.choice(['"A summary."', '"Another one."', None])),
    ("author", lambda rnd: rnd.choice(['"A. Writer"', '"B. Writer"', None])),
    ("slug", lambda rnd: rnd.choice([f"slug-{rnd.randint(0, 5)}", None])),
]


class Editor:
    """One random run of edits on a copy of the example site."""

    def __init__(self, site: Path, seed: int) -> None:
        self.site, self.rnd = site, random.Random(seed)
        # (deleting copies and restoring sources come three times: they mend what other edits break)
        self.edits: list[Callable[[], str]] = [
            self.delete,
            self.delete,
            self.restore_sources,
            self.restore_sources,
            self.append,
            self.move_down,
            self.move_up,
            self.copy,
            self.rename,
            self.delete,
            self.source_text,
            self.source_title,
            self.new_source,
            self.cite,
            self.unknown_fact,
            self.new_fact,
            self.template,
            self.stylesheet,
            self.config,
            self.footnote,
            self.conflicting_fact,
            self.rename_source,
            self.restore_sources,
            self.base_url,
            self.article_template,
            *(functools.partial(self.front_field, key, value) for key, value in FRONT_MATTER),
        ]

    def edit(self) -> str:
        return self.rnd.choice(self.edits)()

    # ------------------------------------------------------------ helpers

    def articles(self, prefix: str = "") -> list[Path]:
        return sorted(p for p in (self.site / "content/articles").glob("*.md") if p.name.startswith(prefix))

    def sources(self) -> list[Path]:
        return sorted((self.site / "content/sources").glob("*.md"))

    def front(self, path: Path, key: str, value: str | None) -> None:
        head, sep, body = path.read_text(encoding="utf-8")[4:].partition("\n---\n")
        lines = [line for line in head.split("\n") if not line.startswith(key + ":")]
        if value is not None:
            lines.append(f"{key}: {value}")
        path.write_text("---\n" + "\n".join(lines) + sep + body, encoding="utf-8")

    def body(self, path: Path, change: Callable[[str], str]) -> None:
        head, sep, body = path.read_text(encoding="utf-8")[4:].partition("\n---\n")
        path.write_text("---\n" + head + sep + change(body), encoding="utf-8")

    def article(self) -> Path:
        return self.rnd.choice(self.articles())

    # ------------------------------------------------------------ edits

    def append(self) -> str:
        path = self.article()
        self.body(path, lambda b: b + f"\nA sentence {self.rnd.randint(0, 999)}.\n")
        return f"append to {path.name}"

    def move_down(self) -> str:
        path = self.article()
        self.body(path, lambda b: "\n\n" + b)
        return f"move {path.name} down"

    def move_up(self) -> str:
        path = self.article()
        self.body(path, lambda b: b.lstrip("\n"))
        return f"move {path.name} up"

    def front_field(self, key: str, value: Callable[[random.Random], str | None]) -> str:
        path = self.article()
        self.front(path, key, value(self.rnd))
        return f"{key} of {path.name}"

    def copy(self) -> str:
        path = self.article()
        new = path.with_name(f"copy-{self.rnd.randint(0, 99)}.md")
        shutil.copy(path, new)
        self.front(new, "slug", None)
        self.front(new, "title", f'"Copy {new.stem}"')
        return f"copy {path.name} to {new.name}"

    def rename(self) -> str:
        copies = self.articles("copy-")
        if not copies:
            return "no copy to rename"
        path = self.rnd.choice(copies)
        new = path.with_name(f"renamed-{self.rnd.randint(0, 99)}.md")
        if new.exists():
            return "no rename"
        path.rename(new)
        return f"rename {path.name} to {new.name}"

    def delete(self) -> str:
        # only copies: the example's own articles define facts the others use
        made = self.articles("copy-") + self.articles("renamed-")
        if not made:
            return "no copy to delete"
        path = self.rnd.choice(made)
        path.unlink()
        return f"delete {path.name}"

    def source_text(self) -> str:
        path = self.rnd.choice(self.sources())
        self.body(path, lambda b: b + f"\nMore source text {self.rnd.randint(0, 99)}.\n")
        return f"add to source {path.name}"

    def source_title(self) -> str:
        path = self.rnd.choice(self.sources())
        self.front(path, "title", f'"Source title {self.rnd.randint(0, 99)}"')
        return f"retitle source {path.name}"

    def new_source(self) -> str:
        sid = f"{self.rnd.randint(100, 120):03d}"
        (self.site / f"content/sources/{sid}.md").write_text(
            f'---\ntitle: "New source {sid}"\npublisher: "P"\ndate: 2021-03-01\n---\nText of {sid}.\n',
            encoding="utf-8",
        )
        return f"new source {sid}"

    def a_copy(self) -> Path:
        """A copied article, for the edits that may break it: deleting it mends the site."""
        made = self.articles("copy-") + self.articles("renamed-")
        if not made:
            self.copy()
            made = self.articles("copy-")
        return self.rnd.choice(made)

    def cite(self) -> str:
        """A claim citing a source that may not be there (yet): SG302 lists the sources there are."""
        sid = f"{self.rnd.randint(100, 120):03d}"
        path = self.a_copy()
        self.body(path, lambda b: b + f'\nAs reported <<claim src={sid} quote="Text of {sid}">>.\n')
        return f"cite source {sid} in {path.name}"

    def unknown_fact(self) -> str:
        """A figure from a fact that may not be defined (yet): SG401 suggests the nearest name."""
        name = f"seats{self.rnd.randint(0, 3)}"
        path = self.a_copy()
        self.body(path, lambda b: b + f"\nThey hold @{name} of 342 <<seats NA=@{name}/342>>.\n")
        return f"use @{name} in {path.name}"

    def new_fact(self) -> str:
        name = f"seats{self.rnd.randint(0, 3)}"
        path = self.article()
        self.body(path, lambda b: b + f"\nAllies hold 178 <<fact {name}=178>>.\n")
        return f"define {name} in {path.name}"

    def footnote(self) -> str:
        path = self.article()
        n = self.rnd.randint(1, 3)
        note = f"\nA note here[^n{n}].\n\n[^n{n}]: The note {self.rnd.randint(0, 9)}.\n"
        self.body(path, lambda b: b + note)
        return f"footnote in {path.name}"

    def conflicting_fact(self) -> str:
        """A fact defined again, maybe with another value (SG402 in both articles)."""
        path = self.a_copy()
        value = self.rnd.choice([178, 179])
        self.body(path, lambda b: b + f"\nAllies hold {value} <<fact seats0={value}>>.\n")
        return f"define seats0={value} in {path.name}"

    def rename_source(self) -> str:
        path = self.rnd.choice(self.sources())
        new = path.with_name(f"{self.rnd.randint(100, 120):03d}.md")
        if new.exists():
            return "no source rename"
        path.rename(new)
        return f"rename source {path.name} to {new.name}"

    def restore_sources(self) -> str:
        """The example's own sources back (renaming one breaks the claims citing it)."""
        for original in sorted((REPO / "content/sources").glob("*.md")):
            target = self.site / "content/sources" / original.name
            if not target.exists():
                shutil.copy(original, target)
        return "restore the example's sources"

    def base_url(self) -> str:
        path = self.site / "site.toml"
        url = f'base_url = "https://ex{self.rnd.randint(0, 3)}.org/"'
        path.write_text(re.sub(r'base_url = "[^"]*"', url, path.read_text(encoding="utf-8"), count=1))
        return "change base_url"

    def article_template(self) -> str:
        path = self.site / "templates/article.html"
        if path.exists():
            path.unlink()
            return "remove article.html"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            "{% extends 'base.html' %}{% block main %}<h1>{{ article.title }}</h1>{{ body }}"
            "{% for n in notes %}<p>{{ n.number }}</p>{% endfor %}{% endblock %}\n",
            encoding="utf-8",
        )
        return "add article.html"

    def template(self) -> str:
        name = self.rnd.choice(sorted(TEMPLATES))
        path = self.site / "templates" / name
        if path.exists():
            path.unlink()
            return f"remove template {name}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(TEMPLATES[name], encoding="utf-8")
        return f"add template {name}"

    def stylesheet(self) -> str:
        path = self.site / "static/site.css"
        if path.exists():
            path.unlink()
            return "remove static/site.css"
        path.parent.mkdir(exist_ok=True)
        path.write_text("body { color: #111 }\n", encoding="utf-8")
        return "add static/site.css"

    def config(self) -> str:
        path = self.site / "site.toml"
        text = path.read_text(encoding="utf-8")
        title = f'title = "Watch {self.rnd.randint(0, 9)}"'
        path.write_text(re.sub(r'title = "[^"]*"', title, text, count=1), encoding="utf-8")
        return "retitle the site"


def _example_site(root: Path) -> Path:
    site = root / "site"
    site.mkdir()
    for name in ("content", "templates", "static"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, site / name)
    shutil.copy(REPO / "site.toml", site / "site.toml")
    return site


def _inputs(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in site.rglob("*")
        if p.is_file() and ".sitegen-cache" not in p.parts
    }


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _diagnostics(result) -> list[tuple]:
    return [(d.code, d.span, d.message, d.help) for d in result.diagnostics]


def _articles_only(before: dict[str, bytes], after: dict[str, bytes]) -> set[str] | None:
    """The article files an edit changed, as `watch` tells them apart: None if anything else
    changed, or a file came or went."""
    if set(before) != set(after):
        return None
    changed = {name for name in after if before[name] != after[name]}
    articles = all(n.startswith("content/articles/") and n.endswith(".md") for n in changed)
    return changed if articles else None


def _assert_as_cold(site: Path, out: Path, result, cold: Path, drafts: bool, what: str) -> None:
    expected = build_site(site, cold, drafts=drafts, use_cache=False)
    assert _diagnostics(result) == _diagnostics(expected), what
    assert result.published == expected.published, what
    if expected.published:
        got, want = _snapshot(out), _snapshot(cold)
        differ = sorted(name for name in set(got) | set(want) if got.get(name) != want.get(name))
        assert not differ, f"{what}: {differ[:5]}"
    shutil.rmtree(cold, ignore_errors=True)  # (not made when the build failed)


@pytest.mark.parametrize("seed", EDIT_SEEDS)
def test_cached_builds_after_random_edits_match_cold_builds(tmp_path: Path, seed: int) -> None:
    site = _example_site(tmp_path)
    editor, out = Editor(site, seed), tmp_path / "out"
    published = 0
    for step in range(STEPS):
        what = f"step {step}: {editor.edit()}"
        drafts, jobs = editor.rnd.random() < 0.3, editor.rnd.choice([1, 2])
        result = build_site(site, out, drafts=drafts, jobs=jobs)
        _assert_as_cold(site, out, result, tmp_path / "cold", drafts, what)
        published += result.published
    assert published >= STEPS // 5  # many steps compare whole outputs, not only diagnostics


@pytest.mark.parametrize("seed", EDIT_SEEDS)
def test_watch_rebuilds_after_random_edits_match_cold_builds(tmp_path: Path, seed: int) -> None:
    site = _example_site(tmp_path)
    editor, out = Editor(site, seed), tmp_path / "out"
    drafts = seed % 2 == 0
    base, pending = None, set()
    quick = 0
    for step in range(STEPS):
        before = _inputs(site)
        what = f"step {step}: {editor.edit()}"
        edited = _articles_only(before, _inputs(site))
        # as `watch` decides (sitegen.watch.Session._articles_only and _remember)
        known = {o.path for o in base.outcomes} if base is not None else set()
        if edited is None or not edited <= known:
            base = None
        else:
            pending |= edited
        result = build_site(
            site,
            out,
            drafts=drafts,
            jobs=editor.rnd.choice([1, 2]),
            watching=True,
            quick=False,
            previous=base,
            changed=set(pending) if base is not None else None,
        )
        run = result.checked.run
        quick += bool(run is not None and run.touched)
        if result.published and run is not None:
            base, pending = run, set()
        _assert_as_cold(site, out, result, tmp_path / "cold", drafts, what)
    assert quick >= 2  # the quick path was taken, not only full runs
