"""Shared helpers: the dot-format fixture reader and a throwaway copy of the fixture site."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
FIXTURE_SITE = FIXTURES / "site"
EXAMPLE_SITE = Path(__file__).parent.parent


@dataclass(frozen=True)
class Case:
    """One fixture case: a title, files to write into the site, and the expected lines."""

    file: Path
    line: int
    title: str
    files: dict[str, str]
    expected: list[str]

    @property
    def id(self) -> str:
        return f"{self.file.stem}:{self.line}:{self.title}"


def read_cases(path: Path) -> list[Case]:
    """Cases are `# title`, `.`, input, `.`, expected, `.`; input may hold several files.

    The input is the article `content/articles/case.md` unless it holds lines
    `=== relative/path` that start another file (e.g. a second article or site.toml).
    """
    lines = path.read_text(encoding="utf-8").split("\n")
    cases: list[Case] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("# "):
            i += 1
            continue
        title, start = lines[i][2:].strip(), i + 1
        assert lines[i + 1] == ".", f"{path}:{i + 2}: expected '.' after the title"
        body_end = lines.index(".", i + 2)
        expected_end = lines.index(".", body_end + 1)
        files = _split_files("\n".join(lines[i + 2 : body_end]) + "\n")
        expected = [e.strip() for e in lines[body_end + 1 : expected_end] if e.strip()]
        cases.append(Case(path, start, title, files, expected))
        i = expected_end + 1
    assert cases, f"{path}: no cases (each starts with a `# title` line)"
    return cases


def _split_files(text: str) -> dict[str, str]:
    files: dict[str, list[str]] = {"content/articles/case.md": []}
    current = "content/articles/case.md"
    for line in text.split("\n")[:-1]:
        if line.startswith("=== "):
            current = line[4:].strip()
            files[current] = []
        else:
            files[current].append(line)
    return {
        path: "\n".join(body) + "\n"
        for path, body in files.items()
        if path != "content/articles/case.md" or any(line.strip() for line in body)
    }


@pytest.fixture
def fixture_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(FIXTURE_SITE, site)
    return site


def write_files(site: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


# CommonMark's spec examples (from the markdown-it-py 4.3.0 sdist; the spec is CC-BY-SA 4.0)
SPEC: list[str] = json.loads((FIXTURES / "commonmark_examples.json").read_text(encoding="utf-8"))["examples"]


def markdown_corpus() -> list:
    """What the parser fast paths are run on against markdown-it itself: every CommonMark
    example, every Markdown file of the fixtures and the example site, and each fixture
    case's files on their own (as the pipeline parses them, not just the dot-format file)."""
    params = [pytest.param(text, id=f"example-{n}") for n, text in enumerate(SPEC, 1)]
    for path in [p for root in (FIXTURES, REPO / "content") for p in sorted(root.rglob("*.md"))]:
        params.append(pytest.param(path.read_text(encoding="utf-8"), id=str(path.relative_to(REPO))))
    for path in sorted((FIXTURES / "check").glob("*.md")) + sorted((FIXTURES / "render").glob("*.md")):
        for n, case in enumerate(read_cases(path)):
            params += [pytest.param(text, id=f"{path.name}-{n}-{name}") for name, text in case.files.items()]
    return params
