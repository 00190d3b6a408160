"""Templating: the Jinja2 environment, template errors as SG902, and the views pages are made from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
import jinja2.compiler
import jinja2.lexer
import jinja2.nodes
import jinja2.parser
import jinja2.runtime
import jinja2.utils
import markupsafe
from markupsafe import Markup

from sitegen.article import Document
from sitegen.checks import CheckResult
from sitegen.diagnostics import Diagnostic, Span, error
from sitegen.htmlrender import Note
from sitegen.site import Site, Source, resolved, tag_slug
from sitegen.walk import walk


class TemplateProblem(Exception):
    def __init__(self, diagnostic: Diagnostic, *more: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.diagnostics = [diagnostic, *more]


def _quick_escape_function():
    """markupsafe.escape for what templates print most, strings, without its Python-level
    wrapper: the same text, a third of the time, at a few hundred values a page.  Falls back
    to escape itself if markupsafe's C function is not where version 3 keeps it."""
    inner = getattr(markupsafe, "_escape_inner", None)
    if inner is None:
        return markupsafe.escape
    new, escape = str.__new__, markupsafe.escape

    def quick_escape(value: object) -> Markup:
        kind = type(value)
        if kind is str:
            return new(Markup, inner(value))
        if kind is int:  # digits and a sign: nothing to escape
            return new(Markup, str(value))
        return escape(value)

    return quick_escape


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Jinja2's code generator, with autoescaped output going through `quick_escape`.  If a
    Jinja2 release renames the hook, templates simply compile as before."""

    def _output_child_pre(self, node, frame, finalize) -> None:  # type: ignore[no-untyped-def]
        if frame.eval_ctx.autoescape and not frame.eval_ctx.volatile:
            self.write("environment.quick_escape(")
            if finalize.src is not None:
                self.write(finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)


class _Environment(jinja2.Environment):
    code_generator_class = _CodeGenerator
    quick_escape = staticmethod(_quick_escape_function())


class _Missing(jinja2.UndefinedError):
    """An undefined name or attribute, with what it was looked up on, to say so in the
    template's own terms (not "'sitegen.pages.ArticleView object' has no attribute")."""

    def __init__(self, message: str | None = None, *, obj: object, name: str | None) -> None:
        super().__init__(message)
        self.obj, self.name = obj, name


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined, whose error keeps the object and the name that were looked up."""

    __slots__ = ()

    def __init__(self, hint=None, obj=jinja2.utils.missing, name=None, exc=jinja2.UndefinedError):  # type: ignore[no-untyped-def]
        if exc is jinja2.UndefinedError and hint is None and isinstance(name, str):
            exc = functools.partial(_Missing, obj=obj, name=name)
        super().__init__(hint, obj, name, exc)


class _SiteTemplates(jinja2.FileSystemLoader):
    """The site's templates/; a link in it is followed only to a file inside the site, as in static/."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root / "templates"))
        self.site = root.resolve()

    def get_source(self, environment: jinja2.Environment, template: str):
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except jinja2.TemplateNotFound:  # an OSError too: the built-in one is looked for next
            raise
        except OSError as exc:  # a template that cannot be read is a template error (SG902)
            why = exc.strerror or exc
            raise _Trouble(f"templates/{template} cannot be read: {why}", where=template) from None
        except UnicodeDecodeError as exc:
            raise _Trouble(
                f"file is not valid UTF-8 (byte {exc.start})",
                help="save the file as UTF-8",
                where=template,
            ) from None
        real = resolved(filename)
        if real is None or not real.is_relative_to(self.site):
            raise _Trouble(
                f"templates/{template} is a link out of the site, not followed",
                help="a template may be a link only to a file inside the site",
                where=template,
            )
        return source, filename, uptodate

    def list_templates(self) -> list[str]:
        # Jinja's own, but over an os.walk that does not recurse (templates/ a thousand deep)
        found = set()
        for searchpath in self.searchpath:
            for folder, _, files in walk(searchpath, followlinks=self.followlinks):
                for name in files:
                    template = os.path.join(folder, name)[len(searchpath) :].strip(os.path.sep)
                    template = template.replace(os.path.sep, "/")
                    found.add(template[2:] if template[:2] == "./" else template)
        return sorted(found)


def site_template_files(root: Path) -> list[tuple[str, Path]]:
    """Every file the site's templates/ can supply, by the name Jinja knows it by: through
    links to folders too (each real folder once), but only files inside the site."""
    site, found, seen = root.resolve(), [], set()
    top = root / "templates"
    # Real paths as strings, each folder's from its parent's unless it is a link: realpath
    # looks at every level of a path, which a thousand folders deep took seconds per folder.
    inside = os.path.join(site, "")
    real_of = {os.fspath(top): os.path.realpath(top)}
    for folder, dirs, files in walk(top, followlinks=True):
        real = real_of.pop(folder)
        if real in seen or not (real == str(site) or real.startswith(inside)):
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in dirs:
            path = os.path.join(folder, name)
            real_of[path] = os.path.realpath(path) if os.path.islink(path) else os.path.join(real, name)
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_symlink():
                target = resolved(path)
                if target is None or not target.is_relative_to(site):
                    continue
            if path.is_file():
                found.append((path.relative_to(top).as_posix(), path))
    return found


def environment(root: Path) -> jinja2.Environment:
    """Built-in templates, overridden file by file by the site's templates/; each built-in one
    also as `builtin/NAME`, for a site's template to extend the one it replaces (a site's
    own templates/builtin/NAME, if it has one, comes first as any file of its own does)."""
    loaders: list[jinja2.BaseLoader] = []
    if (root / "templates").is_dir():
        loaders.append(_SiteTemplates(root))
    builtin = jinja2.PackageLoader("sitegen", "templates")
    loaders += [builtin, jinja2.PrefixLoader({BUILTIN_PREFIX: builtin})]
    return _Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=_Undefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # A build makes its own environment, and a changed template starts a full run with a
        # new one; checking each template's mtime at every page would only cost stat calls.
        auto_reload=False,
    )


class _Trouble(jinja2.TemplateError):
    """A template error worded here, with its help, and its place when Jinja2 gives none:
    `where` is a template's name (a site file, or a built-in one) or its file's path."""

    def __init__(self, message: str, help: str = "", where: str | None = None, line: int = 1) -> None:
        super().__init__(message)
        self.help, self.where, self.line = help, where, line


def template_diagnostic(
    root: Path, name: str, exc: Exception, given: Mapping[str, object] | None = None
) -> Diagnostic:
    """SG902 pointing at the template line that failed, in the site's or the built-in file.

    A syntax error knows its file and line.  Any other error is placed at the innermost
    template frame of its traceback (Jinja2 maps those to template lines): the line of an
    undefined variable, of an `extends` naming a missing file, also inside a parent template.
    `given`: what the template `name` was rendered with, to name what it could have used."""
    filename, line = _where_in_templates(exc)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        filename, line = exc.filename or exc.name or filename, exc.lineno
    elif isinstance(exc, _Trouble) and exc.where is not None:
        filename, line = exc.where, exc.line
    template, site_file = _template_file(root, str(filename or name))
    rel = f"templates/{template}" if site_file is not None else f"(built-in)/{template}"
    if isinstance(exc, jinja2.TemplateNotFound):
        names = getattr(exc, "templates", None) or [exc.name]
        message = (
            f"{' or '.join(str(n) for n in names)} not found: looked in the site's templates/ "
            "and among the built-in templates"
        )
    elif isinstance(exc, _Missing) and exc.name is not None:
        message = _missing(exc, exc.name, name, given)
    else:
        message = getattr(exc, "message", None) or str(exc)
    span = _whole_line(site_file, rel, line or 1) if site_file is not None else Span.point(rel, line or 1)
    return error("SG902", span, f"template error in {template}: {message}", help=_template_help(exc))


def _missing(exc: _Missing, missing: str, template: str, given: Mapping[str, object] | None) -> str:
    """`titel` undefined, in the template's terms: on what it was looked up (the name the
    template gave it, when it was one of those given), and the nearest name there is."""
    obj = exc.obj
    if obj is jinja2.utils.missing:
        names = list(given or ())
        message = f"`{missing}` is undefined"
        if given is not None:
            message += f"; {template} is given {_listed([f'`{n}`' for n in names]) if names else 'nothing'}"
    else:
        owner = next((f"`{n}`" for n, v in (given or {}).items() if v is obj), None)
        if obj is None:
            owner = f"{owner}, which is None (empty)," if owner else "a value that is None (empty)"
        elif owner is None:
            owner = f"this {type(obj).__name__}"
        names = [str(k) for k in obj] if isinstance(obj, dict) else dir(obj)
        names = [n for n in names if not n.startswith("_")] if obj is not None else []
        message = f"{owner} has no attribute `{missing}`"
    close = difflib.get_close_matches(missing, names, n=1, cutoff=0.7)
    return f"{message}; did you mean `{close[0]}`?" if close else message


def _template_file(root: Path, filename: str) -> tuple[str, Path | None]:
    """A template's name, as Jinja2 knows it, and its file if it is the site's (not a built-in one).

    `filename` is a path from Jinja2 (in the site's templates/ or the package's), or a name."""
    for folder, site in ((os.path.join(root, "templates"), True), (str(_BUILTIN), False)):
        # Jinja2's paths are as the site was named (`templates/x.html` for `.`, which joins as `./templates`)
        folder, path = os.path.abspath(folder), os.path.abspath(filename)
        if path.startswith(folder + os.sep):
            template = path[len(folder) + 1 :].replace(os.sep, "/")
            return template, Path(folder, template) if site else None
    if (root / "templates" / filename).is_file():
        return filename, root / "templates" / filename
    return filename, None


_BUILTIN = Path(__file__).parent / "templates"
BUILTIN_PREFIX = "builtin"  # `{% extends "builtin/article.html" %}`: the built-in article.html


def _whole_line(path: Path, rel: str, line: int) -> Span:
    """Jinja2 knows the line of an error, not its column: the span is the line, as written."""
    width = 1
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        width = max(len(lines[line - 1]), 1) if 0 < line <= len(lines) else 1
    except OSError:
        pass
    return Span(rel, line, 1, line, 1 + width)


def _where_in_templates(exc: BaseException) -> tuple[str | None, int | None]:
    where: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        code_file = tb.tb_frame.f_code.co_filename
        in_template = "__jinja_template__" in tb.tb_frame.f_globals or not code_file.endswith(".py")
        if in_template and not code_file.startswith("<"):
            where = (code_file, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _template_help(exc: Exception) -> str:
    if isinstance(exc, _Trouble) and exc.help:
        return exc.help
    if isinstance(exc, _Missing) and exc.obj is None:
        return "a value that may be missing is tested before it is used: {% if value %}…{% endif %}"
    if isinstance(exc, jinja2.UndefinedError):
        return "templates use StrictUndefined: every variable must exist"
    if isinstance(exc, jinja2.TemplateNotFound):
        return (
            f"the built-in templates are {', '.join(_builtin_names())} (each also as "
            f"{BUILTIN_PREFIX}/NAME); a site's templates/ may add others"
        )
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return "see the Jinja2 template syntax: https://jinja.palletsprojects.com/templates/"
    return "a template's expression failed on the values it was given"


@functools.cache
def _builtin_names() -> list[str]:
    return sorted(n for n in os.listdir(_BUILTIN) if n.endswith((".html", ".xml")))


@dataclass
class _Frames:
    """A RecursionError's traceback, frame by frame: which kind of code went round."""

    macros: dict[str, int]  # Jinja2 runs each macro call through `Macro._invoke`
    roots: dict[str, int]  # a template's "top-level template code", by file
    blocks: int = 0  # "block 'main'"
    bodies: int = 0  # "template": a macro's or a loop's body
    compiling: int = 0  # the lexer, parser and code generator, who know the template's name
    compiled: tuple[str | None, int] = (None, 1)


def _frames(exc: RecursionError) -> _Frames:
    seen = _Frames({}, {})
    tb = exc.__traceback__
    while tb is not None:
        frame, tb = tb.tb_frame, tb.tb_next
        code, owner = frame.f_code, frame.f_locals.get("self")
        if isinstance(owner, jinja2.runtime.Macro):
            seen.macros[owner.name] = seen.macros.get(owner.name, 0) + 1
        elif isinstance(owner, (jinja2.parser.Parser, jinja2.compiler.CodeGenerator, jinja2.lexer.Lexer)):
            seen.compiling += 1
            if isinstance(owner, jinja2.parser.Parser):
                seen.compiled = (owner.filename or owner.name, owner.stream.current.lineno)
        elif code.co_name == "top-level template code":
            seen.roots[code.co_filename] = seen.roots.get(code.co_filename, 0) + 1
        elif code.co_name.startswith("block "):
            seen.blocks += 1
        elif code.co_name == "template":
            seen.bodies += 1
    return seen


def _endless(root: Path, exc: RecursionError) -> _Trouble:
    """What a RecursionError went round in, in words: a macro, a block, a loop, templates
    extending or including each other, or a template nested too deeply to compile."""
    seen = _frames(exc)
    counts = {
        "compile": seen.compiling,
        "macro": sum(seen.macros.values()),
        "root": sum(seen.roots.values()),
        "block": seen.blocks,
        "body": seen.bodies,
    }
    kind = max(counts, key=lambda k: counts[k])
    filename, line = _where_in_templates(exc)
    if kind == "compile":
        return _Trouble(
            "the template is nested too deeply to compile",
            help="nest fewer tags, parentheses or brackets inside one another",
            where=seen.compiled[0],
            line=seen.compiled[1],
        )
    if not counts[kind]:  # none of the above: say what Python said
        return _Trouble("rendering went deeper than Python allows", where=filename, line=line or 1)
    if kind == "macro":
        names = [n for n, calls in seen.macros.items() if calls > 1] or list(seen.macros)
        what = (
            f"macro {names[0]} calls itself without end"
            if len(names) == 1
            else f"macros {', '.join(names)} call each other without end"
        )
        advice = "a macro that calls itself needs a case in which it does not"
    elif kind == "block":
        what, advice = "a block calls itself without end", "a block may not call itself through `self`"
    elif kind == "body":
        what = "a recursive loop calls loop() without end"
        advice = "a recursive loop needs items without children to stop at"
    else:
        files = [_template_file(root, f)[0] for f, n in seen.roots.items() if n > 1] or ["a template"]
        what = (
            f"{files[0]} extends, includes or imports itself without end"
            if len(files) == 1
            else f"templates {', '.join(files)} extend, include or import each other without end"
        )
        advice = "a template may extend, include or import another, but not one that leads back to itself"
    return _Trouble(what, help=advice, where=filename, line=line or 1)


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
            problems.append(template_diagnostic(root, name, _endless(root, exc)))
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
    names = [*own, *(n for n in _builtin_names() if n not in own)]  # the site's first, to be pointed at
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
    for (chain, block_name), children in unfilled.items():
        # one error for each block a layout lacks, at the first template that fills it
        name, child, block = children[0]
        parents = chain[0] if len(chain) == 1 else f"none of {', '.join(chain)}"
        does = "does not have" if len(chain) == 1 else "has"
        others = [n for n, _, _ in children[1:]]
        also = f" (nor would that of {_listed(others)}, which fill it too)" if others else ""
        trouble = _Trouble(
            f"{name} fills block `{block_name}`, which {parents} {does}: "
            f"its content would never appear{also}",
            help=f"add {{% block {block_name} %}}{{% endblock %}} to {chain[-1]} where the content belongs, "
            f"or rename the block in {name} to one {chain[0]} has",
            where=child.filename,
            line=block.lineno,
        )
        problems.append(template_diagnostic(root, name, trouble))
    return problems


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass
class _Parsed:
    tree: jinja2.nodes.Template
    filename: str


class _Trees:
    """Templates parsed (not compiled) by name, once each; None for one that cannot be."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env, self.seen = env, {}

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


def render_template(
    env: jinja2.Environment, site_root: Path, name: str, /, rendering: str = "", **context
) -> str:
    """`rendering`: what the page is made for (an article's file, a page's path), named in an
    error that may come of its values."""
    try:
        return env.get_template(name).render(**context)
    except (
        jinja2.TemplateError,
        TypeError,
        ValueError,
        AttributeError,
        LookupError,
        ArithmeticError,
    ) as exc:
        diagnostic = template_diagnostic(site_root, name, exc, context)
        if rendering and not isinstance(exc, (jinja2.TemplateSyntaxError, _Trouble)):
            # an error of the values: which page's (the same one on every page is one, merged_pages)
            diagnostic = dataclasses.replace(diagnostic, message=f"{diagnostic.message}{_WHILE}{rendering})")
        raise TemplateProblem(diagnostic) from None
    except RecursionError as exc:  # `extends` of itself, a macro calling itself, a template nested too deeply
        raise TemplateProblem(template_diagnostic(site_root, name, _endless(site_root, exc))) from None


_WHILE = " (while rendering "
_RENDERING = re.compile(r"(.*) \(while rendering (.+)\)", re.DOTALL)


def merged_pages(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """A template error that the values of many pages met, once: at the first of the pages
    (in order of their names), saying how many others did.  Others are kept as they are."""
    diagnostics = list(diagnostics)
    pages: dict[tuple, list[str]] = {}
    for d in diagnostics:
        found = _RENDERING.fullmatch(d.message) if d.code == "SG902" else None
        if found is not None:
            key = (d.severity, d.span, found.group(1), d.help)
            pages.setdefault(key, []).append(found.group(2))
    if not pages:
        return diagnostics
    kept = [d for d in diagnostics if d.code != "SG902" or _RENDERING.fullmatch(d.message) is None]
    for (severity, span, message, help), names in pages.items():
        names = sorted(set(names))
        others = len(names) - 1
        also = f" and {others} other page{'s' if others > 1 else ''}" if others else ""
        kept.append(Diagnostic("SG902", severity, span, f"{message}{_WHILE}{names[0]}{also})", help))
    return kept


# ------------------------------------------------------------------ views


@functools.lru_cache(maxsize=4096)  # strftime is slow, and a page shows a few dates many times
def date_text(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else "undated"


@dataclass(frozen=True)
class TagView:
    name: str
    slug: str
    href: str


@dataclass(frozen=True)
class ArticleView:
    slug: str
    title: str
    date: dt.date | None
    author: str | None
    summary: str | None
    tags: tuple[TagView, ...]
    draft: bool
    checks: int
    path: str

    @property
    def href(self) -> str:
        return f"articles/{url_path(self.slug)}/index.html"

    @property
    def date_iso(self) -> str:
        return self.date.isoformat() if self.date else ""

    @property
    def date_text(self) -> str:
        return date_text(self.date)


def tag_view(name: str) -> TagView:
    slug = tag_slug(name) or "tag"
    return TagView(name, slug, f"tags/{url_path(slug)}/index.html")


def url_path(slug: str) -> str:
    """A slug as it goes in a URL: percent-encoded UTF-8 where it is not ASCII."""
    return slug if slug.isascii() else quote(slug, safe="-")


def article_view(doc: Document, results: Sequence[CheckResult]) -> ArticleView:
    m = doc.meta
    return ArticleView(
        m.slug,
        m.title,
        m.date,
        m.author,
        m.summary,
        _one_per_page(tag_view(t) for t in m.tags),
        m.draft,
        sum(1 for r in results if r.renders),
        doc.path,
    )


def _one_per_page(tags: Iterable[TagView]) -> tuple[TagView, ...]:
    """Tags sharing a slug share a page (SPEC §6): the article is listed there once, and links
    to it once, under the first of them."""
    first: dict[str, TagView] = {}
    for tag in tags:
        first.setdefault(tag.slug, tag)
    return tuple(first.values())


def newest_first(views: Sequence[ArticleView]) -> list[ArticleView]:
    """Newest first; on the same day (or undated, last) by title without case, then slug."""
    return sorted(views, key=lambda v: (-(v.date or dt.date.min).toordinal(), v.title.lower(), v.slug))


@dataclass(frozen=True)
class SourceRef:
    id: str
    known: bool
    title: str = ""
    publisher: str = ""
    date_iso: str = ""
    date_text: str = ""
    url: str | None = None

    @property
    def href(self) -> str:
        return f"sources/{url_path(self.id)}/index.html"


def source_ref(sources: dict[str, Source], source_id: str) -> SourceRef:
    s = sources.get(source_id)
    if s is None:
        return SourceRef(source_id, False)
    return SourceRef(
        s.id, True, s.title, s.publisher, s.date.isoformat() if s.date else "", date_text(s.date), s.url
    )


@dataclass(frozen=True)
class NoteView:
    number: int
    result: CheckResult | None
    html: Markup | None
    refs: list[str]
    sources: list[SourceRef]
    warnings: list[Diagnostic]
    quoted_from: list[SourceRef] = dataclasses.field(default_factory=list)  # when not all of `sources`

    @property
    def css(self) -> str:
        if self.result is None:
            return "footnote"
        return f"fc-note fc-{self.result.kind} fc-{self.result.status}"


def note_view(note: Note, sources: dict[str, Source]) -> NoteView:
    r = note.result
    refs = [source_ref(sources, s) for s in r.sources] if r else []
    warnings = [d for d in r.diagnostics if not d.is_error] if r else []
    # a quote is credited to the sources that hold it, where others are cited with it
    known = [ref for ref in refs if ref.known]
    quoted_from = [ref for ref in known if r and ref.id in r.quoted_in]
    if len(quoted_from) == len(known):
        quoted_from = []
    return NoteView(note.number, r, note.html, note.refs, refs, warnings, quoted_from)


def json_ld(
    site: Site, view: ArticleView, sources: dict[str, Source], cited: Sequence[str], tags: Sequence[str] = ()
) -> Markup:
    """schema.org NewsArticle; `tags`: the front matter's, all of them as written (two that share
    a tag page are still two keywords)."""
    base = site.config.base_url
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": view.title,
        "datePublished": view.date_iso,
        "url": f"{base}articles/{url_path(view.slug)}/",
        "mainEntityOfPage": f"{base}articles/{url_path(view.slug)}/",
        "publisher": {"@type": "Organization", "name": site.config.title},
        "citation": [_citation(sources[s], base) for s in cited if s in sources],
    }
    if view.author:
        data["author"] = {"@type": "Person", "name": view.author}
    if view.summary:
        data["description"] = view.summary
    keywords = list(tags) or [t.name for t in view.tags]
    if keywords:
        data["keywords"] = keywords
    return safe_json(data)


def _citation(s: Source, base: str) -> dict:
    item = {
        "@type": "CreativeWork",
        "name": s.title,
        "publisher": {"@type": "Organization", "name": s.publisher},
        "url": s.url or f"{base}sources/{url_path(s.id)}/",
    }
    if s.date:
        item["datePublished"] = s.date.isoformat()
    if s.author:
        item["author"] = s.author
    return item


def safe_json(data: object) -> Markup:
    """JSON for a <script> element: nothing in it can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return Markup(text)
