"""Orderings of the list pages (index, tags, sources, checks, feed)."""

from __future__ import annotations

import datetime as dt

from sitegen.views import ArticleView, newest_first


def view(slug: str, title: str, date: dt.date | None) -> ArticleView:
    return ArticleView(slug, title, date, None, None, (), False, 0, f"content/articles/{slug}.md")


def test_newest_first_then_title_without_case_then_slug() -> None:
    day, later = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
    views = [
        view("b", "beta", day),
        view("undated", "Alpha", None),
        view("a2", "Alpha", day),
        view("a1", "alpha", day),
        view("new", "Zed", later),
        view("old", "Aardvark", dt.date(1, 1, 1)),
    ]
    assert [v.slug for v in newest_first(views)] == ["new", "a1", "a2", "b", "old", "undated"]


def test_newest_first_keeps_the_input_order_of_full_ties() -> None:
    day = dt.date(2024, 3, 1)
    first, second = view("same", "Title", day), view("same", "TITLE", day)
    assert newest_first([first, second]) == [first, second]
    assert newest_first([second, first]) == [second, first]
