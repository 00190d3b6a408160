"""checks.json is assembled from per-article fragments: it must be json.dumps's text exactly."""

from __future__ import annotations

import json

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.render import CHECK_FIELDS, CheckRow, _json_entries

_check = st.tuples(
    st.text(),
    st.text(),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.text(),
    st.text(),
    st.text(),
    st.text(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_check, min_size=1, max_size=5))
def test_fragments_are_json_dumps_text(checks: list[tuple]) -> None:
    expected = json.dumps(
        {"checks": [dict(zip(CHECK_FIELDS[:7], c[:7], strict=True)) for c in checks]},
        ensure_ascii=False,
        indent=1,
    )
    assert '{\n "checks": [\n' + _json_entries(checks) + "\n ]\n}" == expected


def test_check_rows_read_as_attributes_and_items() -> None:
    """A site's checks_rows.html may write `c.kind` or `c["kind"]`; both give the field."""
    row = CheckRow(zip(CHECK_FIELDS, ("a", "f.md", 3, 4, "seats", "ok", "fine", 2), strict=True))
    for name in CHECK_FIELDS:
        assert getattr(row, name) == row[name]
    assert dict(row) == dict(zip(CHECK_FIELDS, ("a", "f.md", 3, 4, "seats", "ok", "fine", 2), strict=True))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    shown = env.from_string("{{ c.kind }} {{ c['status'] }} {{ c.number }}").render(c=row)
    assert shown == "seats ok 2"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ c.nothing }}").render(c=row)
