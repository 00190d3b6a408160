"""`sitegen init DIR`: a small site showing every kind of annotation, which builds clean."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

SKELETON = Path(__file__).parent / "skeleton"


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
