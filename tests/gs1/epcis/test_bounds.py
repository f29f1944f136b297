"""The one-walk bounds check agrees with the walk that names the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gs1.epcis.bounds import MAX_DEPTH, MAX_STRING, within_bounds
from gs1.epcis.event import check_bounds
from gs1.errors import EventRejected


def _refused(data: Any) -> bool:
    try:
        check_bounds(data)
    except EventRejected:
        return True
    return False


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**101), max_value=10**101)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["1e1000", "1e5", "-.5", "+" + "9" * 101, "٣" * 3, "x" * (MAX_STRING + 1)])
)
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(data=_JSON)
def test_within_bounds_is_check_bounds_verdict(data: Any) -> None:
    event = {"type": "ObjectEvent", "x": data}
    assert within_bounds(event) == (not _refused(event))


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth - 1):
        node = {"a": node}
    return node


@pytest.mark.parametrize(
    "data",
    [
        _nested(MAX_DEPTH),
        _nested(MAX_DEPTH + 1),
        {"a": ("tuple", "1e1000")},  # not what JSON parses to: the careful walk decides
        {"a": float("nan")},
        {"a": 10**100},
        {"a": 10**100 - 1},
    ],
)
def test_edges_agree(data: dict[str, Any]) -> None:
    assert within_bounds(data) == (not _refused(data))
