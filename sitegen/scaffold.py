"""`sitegen init DIR`: a small site showing every kind of annotation, which builds clean."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

SKELETON = Path(__file__).parent / "skeleton"
# what the new site keeps out of git: the output and the cache (which also ignores itself)
GITIGNORE = ("public/", ".sitegen-cache/")


def init_site(target: Path) -> int:
    if target.exists() and (not target.is_dir() or not _free(target)):
        what = "is not empty" if target.is_dir() else "is a file"
        print(
            f"sitegen: {target} {what}; init only writes into a new or empty directory "
            "(one holding only dot-files, such as .git, counts as empty)",
            file=sys.stderr,
        )
        return 2
    try:
        shutil.copytree(SKELETON, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        _ignore_output(target / ".gitignore")
    except OSError as exc:
        print(f"sitegen: cannot create {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"sitegen: created a new site in {target}\n  next: sitegen build {shlex.quote(str(target))} --strict",
        file=sys.stderr,
    )
    return 0


def _free(target: Path) -> bool:
    """Empty, or holding only dot-files (a fresh `git init`) that no file of the new site replaces."""
    ours = {entry.name for entry in SKELETON.iterdir()}
    return all(entry.name.startswith(".") and entry.name not in ours for entry in target.iterdir())


def _ignore_output(path: Path) -> None:
    """A .gitignore naming the output and the cache; one already there (a cloned, empty
    repository's) keeps its lines and gets those of these it lacks."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    have = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in GITIGNORE if entry not in have]
    if missing:
        lead = "\n" if text and not text.endswith("\n") else ""
        with path.open("a", encoding="utf-8") as file:
            file.write(lead + "".join(f"{entry}\n" for entry in missing))
