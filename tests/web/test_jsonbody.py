"""The bounded JSON reader: exact values, and every refusal naming where and why."""

from __future__ import annotations

import time

import pytest

from web.errors import JsonRefused
from web.jsonbody import JsonLimits, json_path, read_json


def test_ordinary_json_reads_exactly() -> None:
    assert read_json(b'{"a": [1, 2.5, "x", null, true], "b": {"c": -0}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": 0},
    }
    # A 64-bit integer stays an integer (orjson alone would give a double).
    assert read_json(b"18446744073709551616") == 18446744073709551616


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        (b"{", "", "is not JSON"),
        (b"\xff", "", "is not JSON"),
        (b"NaN", "", "is not JSON"),
        (b"1e400", "", "outside the range of a double"),
        (b"1" * 30_000, "", "outside the range of a double"),
        (b"1" * 41, "", "number literal of 41 characters"),
        (b"[" * 100_000 + b"]" * 100_000, "", "nests deeper"),  # crashed the process once
        (b"[" * 33 + b"]" * 33, "[0]" * 32, "nests deeper than 32"),
        (b'{"a": ["' + b"x" * 8193 + b'"]}', "a[0]", "string of 8193 characters"),
        (b'{"' + b"k" * 8193 + b'": 1}', "…", "key of 8193 characters"),
    ],
)
def test_refusals_name_the_place_and_the_limit(body: bytes, path: str, says: str) -> None:
    began = time.perf_counter()
    with pytest.raises(JsonRefused) as refused:
        read_json(body)
    assert time.perf_counter() - began < 0.5
    assert refused.value.path == path
    assert says in refused.value.reason


def test_limits_are_the_callers() -> None:
    tight = JsonLimits(max_depth=2, max_string=3, max_number=2)
    assert read_json(b'[["abc", 99]]', tight) == [["abc", 99]]
    for body in (b"[[[1]]]", b'["abcd"]', b"[100]"):
        with pytest.raises(JsonRefused):
            read_json(body, tight)


def test_json_paths() -> None:
    assert json_path(("epcisBody", "eventList", 3, "epcList")) == "epcisBody.eventList[3].epcList"
    assert json_path(()) == ""
