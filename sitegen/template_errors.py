"""Template errors as SG902: a Jinja2 error (or a RecursionError in a template) as a diagnostic
pointing at the template line that failed, in the site's terms."""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.compiler
import jinja2.lexer
import jinja2.parser
import jinja2.runtime
import jinja2.utils

from sitegen.diagnostics import Diagnostic, Span, error


class MissingName(jinja2.UndefinedError):
    """An undefined name or attribute, with what it was looked up on, to say so in the
    template's own terms (not "'sitegen.views.ArticleView object' has no attribute")."""

    def __init__(self, message: str | None = None, *, obj: object, name: str | None) -> None:
        super().__init__(message)
        self.obj, self.name = obj, name


class TemplateTrouble(jinja2.TemplateError):
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
    elif isinstance(exc, TemplateTrouble) and exc.where is not None:
        filename, line = exc.where, exc.line
    template, site_file = _template_file(root, str(filename or name))
    rel = f"templates/{template}" if site_file is not None else f"(built-in)/{template}"
    if isinstance(exc, jinja2.TemplateNotFound):
        names = getattr(exc, "templates", None) or [exc.name]
        message = (
            f"{' or '.join(str(n) for n in names)} not found: looked in the site's templates/ "
            "and among the built-in templates"
        )
    elif isinstance(exc, MissingName) and exc.name is not None:
        message = _missing(exc, exc.name, name, given)
    else:
        message = getattr(exc, "message", None) or str(exc)
    span = _whole_line(site_file, rel, line or 1) if site_file is not None else Span.point(rel, line or 1)
    return error("SG902", span, f"template error in {template}: {message}", help=_template_help(exc))


def _missing(exc: MissingName, missing: str, template: str, given: Mapping[str, object] | None) -> str:
    """`titel` undefined, in the template's terms: on what it was looked up (the name the
    template gave it, when it was one of those given), and the nearest name there is."""
    obj = exc.obj
    if obj is jinja2.utils.missing:
        names = list(given or ())
        message = f"`{missing}` is undefined"
        if given is not None:
            message += f"; {template} is given {listed([f'`{n}`' for n in names]) if names else 'nothing'}"
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
    if isinstance(exc, TemplateTrouble) and exc.help:
        return exc.help
    if isinstance(exc, MissingName) and exc.obj is None:
        return "a value that may be missing is tested before it is used: {% if value %}…{% endif %}"
    if isinstance(exc, jinja2.UndefinedError):
        return "templates use StrictUndefined: every variable must exist"
    if isinstance(exc, jinja2.TemplateNotFound):
        return (
            f"the built-in templates are {', '.join(builtin_names())} (each also as "
            f"{BUILTIN_PREFIX}/NAME); a site's templates/ may add others"
        )
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return "see the Jinja2 template syntax: https://jinja.palletsprojects.com/templates/"
    return "a template's expression failed on the values it was given"


@functools.cache
def builtin_names() -> list[str]:
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


def recursion_trouble(root: Path, exc: RecursionError) -> TemplateTrouble:
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
        return TemplateTrouble(
            "the template is nested too deeply to compile",
            help="nest fewer tags, parentheses or brackets inside one another",
            where=seen.compiled[0],
            line=seen.compiled[1],
        )
    if not counts[kind]:  # none of the above: say what Python said
        return TemplateTrouble("rendering went deeper than Python allows", where=filename, line=line or 1)
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
    return TemplateTrouble(what, help=advice, where=filename, line=line or 1)


def listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
