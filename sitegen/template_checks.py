"""What can be known of the templates without rendering a page: SG902 for a template that does not
compile, and for a block a template fills that the templates it extends do not place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.nodes

from sitegen.diagnostics import Diagnostic
from sitegen.template_errors import (
    BUILTIN_PREFIX,
    TemplateTrouble,
    builtin_names,
    listed,
    recursion_trouble,
    template_diagnostic,
)
from sitegen.templating import environment, site_template_files


def template_problems(root: Path, *, site_only: bool = False) -> list[Diagnostic]:
    """SG902 for every template, the site's or a built-in one, that does not compile: what
    `check` can know of the templates without rendering a page.  `site_only`: the site's own
    alone, for a build, which has compiled those its pages use but not one no page uses.

    Every file of the site's templates/ is a template (a page may include an `.svg` or import
    macros from a `.jinja`), but for dot-files and, unless named .html or .xml (which must be
    UTF-8), files that are not text."""
    env = environment(root)
    problems: list[Diagnostic] = []
    own = dict(site_template_files(root))
    names = sorted(own) if site_only else env.list_templates()
    for name in names:
        if any(part.startswith(".") for part in name.split("/")):
            continue
        if name.startswith(f"{BUILTIN_PREFIX}/") and name not in own:  # a built-in one again
            continue
        if not name.endswith((".html", ".xml")) and not _is_text(own.get(name)):
            continue
        try:
            env.get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(template_diagnostic(root, name, exc))
        except RecursionError as exc:
            problems.append(template_diagnostic(root, name, recursion_trouble(root, exc)))
    if not problems:
        problems += _unfilled_blocks(root, env)
    return problems


def _is_text(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True


def _unfilled_blocks(root: Path, env: jinja2.Environment) -> list[Diagnostic]:
    """SG902 for a block a template fills that the templates it extends do not have: Jinja2
    renders a child's blocks only where its parents place them, so the content of such a
    block would never appear (a site's base.html without `main` published every page empty).

    Every template as this site resolves it (its own, and the built-in ones it does not
    replace) that extends a constant name; one whose chain cannot be followed for sure (an
    extends by variable, or several) is not judged."""
    trees = _Trees(env)
    own = [n for n, _ in site_template_files(root)]
    names = [*own, *(n for n in builtin_names() if n not in own)]  # the site's first, to be pointed at
    unfilled: dict[tuple[tuple[str, ...], str], list[tuple[str, _Parsed, jinja2.nodes.Block]]] = {}
    for name in names:
        child = trees.get(name)
        if child is None or (parent := _extends(child.tree)) is None:
            continue
        placed = _placed_blocks(trees, parent)
        if placed is None:
            continue
        chain, known = placed
        known = known | _called_blocks(child.tree)  # `{{ self.intro() }}`: placed by the child itself
        for block in _outer_blocks(child.tree):
            if block.name not in known:
                unfilled.setdefault((tuple(chain), block.name), []).append((name, child, block))
    problems = []
    for (layouts, block_name), children in unfilled.items():
        # one error for each block a layout lacks, at the first template that fills it
        name, child, block = children[0]
        parents = layouts[0] if len(layouts) == 1 else f"none of {', '.join(layouts)}"
        does = "does not have" if len(layouts) == 1 else "has"
        others = [n for n, _, _ in children[1:]]
        also = f" (nor would that of {listed(others)}, which fill it too)" if others else ""
        trouble = TemplateTrouble(
            f"{name} fills block `{block_name}`, which {parents} {does}: "
            f"its content would never appear{also}",
            help=f"add {{% block {block_name} %}}{{% endblock %}} to {layouts[-1]} where the content"
            f" belongs, or rename the block in {name} to one {layouts[0]} has",
            where=child.filename,
            line=block.lineno,
        )
        problems.append(template_diagnostic(root, name, trouble))
    return problems


@dataclass
class _Parsed:
    tree: jinja2.nodes.Template
    filename: str


class _Trees:
    """Templates parsed (not compiled) by name, once each; None for one that cannot be."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self.seen: dict[str, _Parsed | None] = {}

    def get(self, name: str) -> _Parsed | None:
        if name not in self.seen:
            try:
                source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
                self.seen[name] = _Parsed(self.env.parse(source, name, filename), filename or name)
            except (jinja2.TemplateError, RecursionError):
                self.seen[name] = None
        return self.seen[name]


def _extends(tree: jinja2.nodes.Template) -> str | None:
    """The one template this one extends, if it names it as a constant and not under a
    condition (where its blocks may render in place); else None."""
    found = list(tree.find_all(jinja2.nodes.Extends))
    if len(found) != 1 or not any(node is found[0] for node in tree.body):
        return None
    if not isinstance(found[0].template, jinja2.nodes.Const):
        return None
    value = found[0].template.value
    return value if isinstance(value, str) else None


def _placed_blocks(trees: _Trees, parent: str) -> tuple[list[str], set[str]] | None:
    """The templates a child's blocks go to, nearest first, and every block name they place
    (or call as `self.name()`); None if the chain is not certain: a template missing or not
    parsed, an extends by variable, or a chain that goes round."""
    chain: list[str] = []
    known: set[str] = set()
    name: str | None = parent
    while name is not None:
        parsed = trees.get(name)
        if parsed is None or name in chain:
            return None
        chain.append(name)
        known.update(b.name for b in parsed.tree.find_all(jinja2.nodes.Block))
        known.update(_called_blocks(parsed.tree))
        extends = list(parsed.tree.find_all(jinja2.nodes.Extends))
        name = _extends(parsed.tree)
        if extends and name is None:
            return None
    return chain, known


def _called_blocks(tree: jinja2.nodes.Template) -> set[str]:
    """The blocks a template renders by name, `self.name()`, wherever they are defined."""
    return {
        g.attr
        for g in tree.find_all(jinja2.nodes.Getattr)
        if isinstance(g.node, jinja2.nodes.Name) and g.node.name == "self"
    }


def _outer_blocks(tree: jinja2.nodes.Template) -> list[jinja2.nodes.Block]:
    """A template's blocks that are not inside another of its blocks (one inside is placed by
    the block around it)."""
    blocks = list(tree.find_all(jinja2.nodes.Block))
    nested = {id(inner) for block in blocks for inner in block.find_all(jinja2.nodes.Block)}
    return [b for b in blocks if id(b) not in nested]
