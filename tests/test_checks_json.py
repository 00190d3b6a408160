"""checks.json is assembled from per-article fragments: it must be json.dumps's text exactly."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.render import CHECK_FIELDS, _json_entries

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
