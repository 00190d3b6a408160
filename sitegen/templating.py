"""Templating: the Jinja2 environment (built-in templates, overridden by the site's), rendering
a template, and template errors met on many pages merged into one."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path

import jinja2
import jinja2.compiler
import jinja2.utils
import markupsafe
from markupsafe import Markup

from sitegen.diagnostics import Diagnostic
from sitegen.site import resolved
from sitegen.template_errors import (
    BUILTIN_PREFIX,
    MissingName,
    TemplateTrouble,
    recursion_trouble,
    template_diagnostic,
)
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


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined, whose error keeps the object and the name that were looked up."""

    __slots__ = ()

    def __init__(self, hint=None, obj=jinja2.utils.missing, name=None, exc=jinja2.UndefinedError):  # type: ignore[no-untyped-def]
        if exc is jinja2.UndefinedError and hint is None and isinstance(name, str):
            exc = functools.partial(MissingName, obj=obj, name=name)
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
            raise TemplateTrouble(f"templates/{template} cannot be read: {why}", where=template) from None
        except UnicodeDecodeError as exc:
            raise TemplateTrouble(
                f"file is not valid UTF-8 (byte {exc.start})",
                help="save the file as UTF-8",
                where=template,
            ) from None
        real = resolved(filename)
        if real is None or not real.is_relative_to(self.site):
            raise TemplateTrouble(
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
            file = Path(folder, name)
            if file.is_symlink():
                target = resolved(file)
                if target is None or not target.is_relative_to(site):
                    continue
            if file.is_file():
                found.append((file.relative_to(top).as_posix(), file))
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
        if rendering and not isinstance(exc, (jinja2.TemplateSyntaxError, TemplateTrouble)):
            # an error of the values: which page's (the same one on every page is one, merged_pages)
            diagnostic = dataclasses.replace(diagnostic, message=f"{diagnostic.message}{_WHILE}{rendering})")
        raise TemplateProblem(diagnostic) from None
    except RecursionError as exc:  # `extends` of itself, a macro calling itself, a template nested too deeply
        raise TemplateProblem(
            template_diagnostic(site_root, name, recursion_trouble(site_root, exc))
        ) from None


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
