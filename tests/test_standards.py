"""Every built page passes the W3C Nu Html Checker and has no serious or critical axe-core
violation (SPEC §5). The tools come from npm (vnu-jar needs Java); .ci/run installs them into
SITEGEN_TOOLS, and elsewhere the tests skip when they are not there."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from browser import browser_page
from test_build import _example_copy

from sitegen.cli import main

TOOLS = Path(os.environ.get("SITEGEN_TOOLS", "/tmp/sitegen-ci-tools")) / "node_modules"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = TOOLS / "axe-core" / "axe.min.js"


def _need(path: Path) -> None:
    if path.is_file() and shutil.which("java" if path == VNU else "true"):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{path} is missing: .ci/run installs it with npm")
    pytest.skip(f"{path} is not installed (npm install vnu-jar axe-core in $SITEGEN_TOOLS)")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("standards")
    example = _example_copy(tmp)
    assert main(["build", str(example), "--out", str(tmp / "example-out")]) == 0
    assert main(["init", str(tmp / "new")]) == 0
    assert main(["build", str(tmp / "new"), "--out", str(tmp / "new-out")]) == 0
    return [tmp / "example-out", tmp / "new-out"]


def test_pages_have_no_html_checker_errors(sites: list[Path]) -> None:
    _need(VNU)
    pages = [str(p) for out in sites for p in sorted(out.rglob("*.html"))]
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", *pages],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]


def test_pages_have_no_serious_accessibility_violations(sites: list[Path]) -> None:
    _need(AXE)
    script = AXE.read_text(encoding="utf-8")
    problems = []
    with browser_page() as page:
        for out in sites:
            for path in sorted(out.rglob("*.html")):
                page.goto(path.as_uri())
                page.add_script_tag(content=script)
                found = page.evaluate(
                    "async () => (await axe.run()).violations"
                    ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                    ".map(v => v.id + ': ' + v.help)"
                )
                problems += [f"{path.relative_to(out)}: {v}" for v in found]
    assert not problems, "\n".join(problems)
