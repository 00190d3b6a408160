"""A writing day in two minutes: 200 scripted edits to a watched site, then it must still serve
exactly what a fresh build of the final files gives, with memory that did not keep growing."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from conftest import FIXTURE_SITE
from test_watch import Watch, _wait, write_atomic

from sitegen.build import build_site

GOOD = (
    '---\ntitle: "{title}"\ndate: 2021-03-06\ntags: [{tag}]\n---\n'
    "Allies hold {n} of the 342 seats <<seats NA={n}/342>>.\n"
)
BAD_FIGURE = "---\ntitle: Bad\ndate: 2021-03-06\n---\nAllies hold 178 of 340 seats <<seats NA=178/340>>.\n"
HALF_WRITTEN = '---\ntitle: "Half'
BAD_TEMPLATE = "{% extends 'base.html' %}{% block main %}{{ tag.name }{% endblock %}\n"
GOOD_TEMPLATE = "{% extends 'base.html' %}{% block main %}<h1>Tag {{ tag.name }}</h1>{% endblock %}\n"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _edit(rng: random.Random, site: Path, step: int) -> None:
    """One scripted change of the kinds a newsroom makes all day."""
    articles = site / "content" / "articles"
    names = sorted(p.relative_to(articles).as_posix() for p in articles.rglob("*.md"))
    roll = rng.random()
    if roll < 0.45 or not names:
        name = f"a{rng.randrange(12)}.md"
        write_atomic(articles / name, GOOD.format(title=f"Step {step}", tag=f"t{step % 5}", n=170 + step % 9))
    elif roll < 0.55:
        write_atomic(articles / rng.choice(names), BAD_FIGURE)
    elif roll < 0.62:
        (articles / rng.choice(names)).write_text(HALF_WRITTEN)
    elif roll < 0.70:
        (articles / rng.choice(names)).unlink()
    elif roll < 0.77:
        source = articles / rng.choice(names)
        target = articles / f"renamed{step}.md"
        source.rename(target)
    elif roll < 0.83:
        folder = articles / f"desk{step % 3}"
        folder.mkdir(exist_ok=True)
        write_atomic(folder / f"n{step}.md", GOOD.format(title=f"Desk {step}", tag="desk", n=178))
    elif roll < 0.88:
        write_atomic(site / "templates" / "tag.html", rng.choice([BAD_TEMPLATE, GOOD_TEMPLATE]))
    elif roll < 0.93:
        config = site / "site.toml"
        text = config.read_text()
        broken = text.replace("seats = 342", "seats = ") if "seats = 342" in text else text
        write_atomic(config, broken if rng.random() < 0.5 else (FIXTURE_SITE / "site.toml").read_text())
    else:
        for i in range(6):  # a burst of saves
            write_atomic(articles / "burst.md", GOOD.format(title=f"Burst {step}.{i}", tag="burst", n=178))


def test_two_hundred_edits_leave_a_live_watcher_serving_a_fresh_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    (site / "templates").mkdir()
    write_atomic(site / "content" / "articles" / "a0.md", GOOD.format(title="Start", tag="t0", n=178))
    out = tmp_path / "out"
    w = Watch(site, tmp_path / "soak.log", "--out", str(out))
    try:
        w.wait_build(0)
        rss_before = _rss_kb(w.proc.pid)
        rng = random.Random(20261124)
        for step in range(200):
            _edit(rng, site, step)
            if step % 4 == 3:  # let some batches build while others pile up
                time.sleep(0.12)
            assert w.proc.poll() is None, w.stderr()
        # the final state: repair everything the script may have broken, then let it settle
        write_atomic(site / "site.toml", (FIXTURE_SITE / "site.toml").read_text())
        write_atomic(site / "templates" / "tag.html", GOOD_TEMPLATE)
        write_atomic(site / "content" / "articles" / "a0.md", GOOD.format(title="x", tag="x", n=178))
        for path in (site / "content" / "articles").rglob("*.md"):
            write_atomic(path, GOOD.format(title=f"Final {path.stem}", tag="final", n=178))
        try:
            _wait(lambda: _settled(w), timeout=60, what="the watcher to settle on a good build")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nstatus: {w.status()}\nwatch stderr (end):\n{w.stderr()[-3000:]}"
            ) from None
        rss_after = _rss_kb(w.proc.pid)
        print(f"watch RSS before {rss_before} kB, after 200 edits {rss_after} kB")
        assert rss_after < rss_before + 60_000, (rss_before, rss_after)
        served = _snapshot(out)
        fresh = tmp_path / "fresh"
        assert build_site(site, fresh, use_cache=False).published
        assert served == _snapshot(fresh)
        code, _, body = w.get("/articles/a0/")
        assert code == 200 and "Final a0" in body
    finally:
        w.stop()
        w.kill()


def _settled(w: Watch) -> bool:
    first = w.status()
    time.sleep(1.0)
    second = w.status()
    return first["builds"] == second["builds"] and second["ok"]
