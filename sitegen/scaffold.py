"""`sitegen init DIR`: a small site showing every kind of annotation, which builds clean."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SKELETON = Path(__file__).parent / "skeleton"


def init_site(target: Path) -> int:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is not empty" if target.is_dir() else "is a file"
        print(f"sitegen: {target} {what}; init only writes into a new or empty directory", file=sys.stderr)
        return 2
    try:
        shutil.copytree(SKELETON, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    except OSError as exc:
        print(f"sitegen: cannot create {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"sitegen: created a new site in {target}\n  next: sitegen build {target} --strict", file=sys.stderr
    )
    return 0
