"""Regenerate tests/golden/example/: the example site's whole built output, reviewed as a diff.

    python tests/update_golden.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "example"
sys.path.insert(0, str(ROOT))


def build_example(out: Path) -> None:
    from sitegen.build import build_site

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        shutil.copy(ROOT / "site.toml", site)
        for folder in ("content", "templates", "static"):
            if (ROOT / folder).is_dir():
                shutil.copytree(ROOT / folder, site / folder)
        result = build_site(site, out, strict=True, use_cache=False)
        if not result.published:
            problems = "; ".join(d.message for d in result.diagnostics)
            raise SystemExit(f"the example site does not build clean: {problems}")


def main() -> None:
    shutil.rmtree(GOLDEN, ignore_errors=True)
    build_example(GOLDEN)
    print(f"wrote {sum(1 for p in GOLDEN.rglob('*') if p.is_file())} files to {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
