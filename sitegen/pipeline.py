"""`check` as a library call: load → parse → check, nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sitegen.diagnostics import Diagnostic, Summary, sorted_diagnostics, summarize
from sitegen.engine import Options, Outcome, Run, run, save_cache
from sitegen.site import Site
from sitegen.template_checks import template_problems


@dataclass
class Checked:
    site: Site
    outcomes: list[Outcome]
    diagnostics: list[Diagnostic]
    run: Run | None = None
    counts: tuple[int, int] | None = None  # (articles, annotations) when there are no outcomes at hand

    @property
    def summary(self) -> Summary:
        if self.counts is not None:
            return summarize(self.diagnostics, *self.counts)
        annotations = sum(o.annotations for o in self.outcomes)
        return summarize(self.diagnostics, len(self.outcomes), annotations)


def check_site(root: Path, *, jobs: int = 1, use_cache: bool = False) -> Checked:
    options = Options(render=False, jobs=jobs, use_cache=use_cache, mode="check", freeze_kept=True)
    result = run(root, options)
    save_cache(root, options, result.cache)
    diagnostics = sorted_diagnostics([*result.diagnostics, *template_problems(root)])
    return Checked(result.site, result.outcomes, diagnostics, result)
