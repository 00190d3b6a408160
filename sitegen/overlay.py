"""The error overlay `watch` shows over every open page while the site fails to build: the
diagnostics (or the internal error) as an HTML fragment, with the source lines they point at."""

from __future__ import annotations

from html import escape
from pathlib import Path

from sitegen.diagnostics import Diagnostic, source_lines
from sitegen.site import resolved

_STYLE = """<style>
.sg{position:fixed;inset:0;z-index:2147483647;background:rgba(20,20,20,.55);overflow:auto;
font:15px/1.45 system-ui,sans-serif;color:#1a1a1a}
.sg-panel{max-width:60rem;margin:2rem auto;background:#fff;border-top:6px solid #b00020;
padding:1rem 1.5rem;box-shadow:0 4px 24px rgba(0,0,0,.4)}
.sg h2{margin:.2rem 0 .5rem;color:#b00020;font-size:1.3rem}
.sg ol{padding-left:1.2rem}.sg li{margin:1rem 0}
.sg-code{font-weight:700}.sg-error .sg-code{color:#b00020}.sg-warning .sg-code{color:#8a5a00}
.sg-loc{font-family:ui-monospace,monospace;color:#444}
.sg pre{background:#f4f4f4;padding:.5rem .75rem;overflow-x:auto;font:13px/1.4 ui-monospace,monospace}
.sg button{float:right;font-size:1.4rem;border:0;background:none;cursor:pointer}
</style>"""


def overlay_html(
    diags: list[Diagnostic], texts: dict[str, str], root: Path, internal: str | None = None
) -> str:
    """The diagnostics of a failed build as an HTML fragment; every value is escaped."""
    errors = sum(1 for d in diags if d.is_error)
    title = "Rebuild failed" if internal else f"Build failed: {errors} error{'' if errors == 1 else 's'}"
    items = [f'<li class="sg-error">{escape(internal)}</li>'] if internal else []
    for d in diags:
        s = d.span
        snippet = _snippet(d, _text(texts, root, s.file))
        help_html = f'<p class="sg-help">help: {escape(d.help)}</p>' if d.help else ""
        items.append(
            f'<li class="sg-{escape(d.severity.value)}"><p><span class="sg-code">'
            f"{escape(d.severity.value)}[{escape(d.code)}]</span> {escape(d.message)}</p>"
            f'<p class="sg-loc">{escape(s.file)}:{s.line}:{s.column}</p>{snippet}{help_html}</li>'
        )
    return (
        f'{_STYLE}<div class="sg" role="alertdialog" aria-modal="true" aria-labelledby="sg-title">'
        f'<div class="sg-panel"><button type="button" aria-label="Dismiss">×</button>'
        f'<h2 id="sg-title">{title}</h2><p>The last good version of the site stays served; '
        f"this goes away after the next good build.</p><ol>{''.join(items)}</ol></div></div>"
    )


def _text(texts: dict[str, str], root: Path, rel: str) -> str | None:
    if rel in texts:
        return texts[rel]
    path = resolved(root / rel)
    try:  # e.g. a template, which the build does not keep
        if path is None:
            return None
        if path.is_relative_to(root.resolve()) and path.is_file() and path.stat().st_size < 2_000_000:
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass
    return None


def _snippet(d: Diagnostic, text: str | None) -> str:
    s = d.span
    lines = source_lines(text) if text else []
    if not 1 <= s.line <= len(lines):
        return ""
    line = lines[s.line - 1].replace("\t", " ")
    start = max(s.column - 1, 0)
    end = s.end_column - 1 if s.end_line == s.line else len(line)
    width = max(min(end, len(line) + 1) - start, 1)
    if len(line) > 200:  # a huge line: the part around the span
        left = max(start - 60, 0)
        line, start, width = "…" + line[left : left + 200] + "…", start - left + 1, min(width, 140)
    gutter = " " * len(str(s.line))
    return f"<pre>{s.line} | {escape(line)}\n{gutter} | {' ' * start}{'^' * width}</pre>"
