"""The ordered stages: load → parse → check (render and publish follow in build)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sitegen.article import Document, parse_article
from sitegen.checks import CheckReport, check_documents, collect_facts
from sitegen.checks.context import SiteFacts, SiteView
from sitegen.diagnostics import Diagnostic, Summary, sorted_diagnostics, summarize
from sitegen.site import Site, load_site, read_text


@dataclass
class Checked:
    site: Site
    documents: list[Document]
    report: CheckReport
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def summary(self) -> Summary:
        annotations = sum(len(d.annotations) for d in self.documents)
        return summarize(self.diagnostics, len(self.documents), annotations)


def parse_documents(site: Site, *, for_render: bool) -> tuple[list[Document], list[Diagnostic]]:
    documents: list[Document] = []
    diags: list[Diagnostic] = []
    for rel in site.article_paths:
        text, problem = read_text(site.root, rel)
        if problem is not None or text is None:
            if problem is not None:
                diags.append(problem)
            continue
        site.texts[rel] = text
        documents.append(parse_article(rel, text, for_render=for_render))
    return documents, diags


def check_site(root: Path, *, for_render: bool = False) -> Checked:
    site = load_site(root)
    documents, read_problems = parse_documents(site, for_render=for_render)
    view = SiteView(site.config, site.sources, SiteFacts())
    facts, fact_diags = collect_facts(documents, view)
    view = SiteView(site.config, site.sources, facts)
    report = check_documents(documents, view)
    diags = sorted_diagnostics([*site.diagnostics, *read_problems, *fact_diags, *report.diagnostics])
    return Checked(site, documents, report, diags)
