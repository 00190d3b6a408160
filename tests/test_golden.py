"""The example site's output, file by file, against tests/golden/example/ (as Pelican does).

A change in output is a reviewed diff: run `python tests/update_golden.py` and commit it.
"""

from __future__ import annotations

from pathlib import Path

from update_golden import GOLDEN, build_example


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_example_site_matches_the_golden_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_example(out)
    built, golden = _files(out), _files(GOLDEN)
    assert sorted(built) == sorted(golden), "pages added or removed: run python tests/update_golden.py"
    changed = [name for name in built if built[name] != golden[name]]
    assert not changed, f"output changed in {changed}: review, then run python tests/update_golden.py"
