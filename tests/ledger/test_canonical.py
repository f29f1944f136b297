"""RFC 8785 canonicalisation against the upstream vectors and ECMAScript itself."""

from __future__ import annotations

import json
import math
import random
import struct
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonicalize, format_number
from ledger.errors import CanonicalizationError

DATA = Path(__file__).resolve().parent.parent / "data" / "ledger" / "rfc8785"
CASES = sorted(p.name for p in (DATA / "testdata" / "input").glob("*.json"))
SAMPLES = json.loads((DATA / "es6-number-samples.json").read_text())["samples"]


def _double(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits.rjust(16, "0")))[0]
    return value


def test_all_six_upstream_cases_are_present() -> None:
    assert CASES == [
        "arrays.json",
        "french.json",
        "structures.json",
        "unicode.json",
        "values.json",
        "weird.json",
    ]


@pytest.mark.parametrize("name", CASES)
def test_upstream_vector(name: str) -> None:
    parsed = json.loads((DATA / "testdata" / "input" / name).read_text(encoding="utf-8"))
    expected = (DATA / "testdata" / "output" / name).read_bytes()
    outhex = (DATA / "testdata" / "outhex" / name.replace(".json", ".txt")).read_text()
    assert bytes.fromhex(outhex) == expected
    assert canonicalize(parsed) == expected


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["ieee754_hex"] for s in SAMPLES])
def test_es6_number_sample(sample: dict[str, str]) -> None:
    assert canonicalize(_double(sample["ieee754_hex"])) == sample["expected"].encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (123e-9, "1.23e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-1.25e22, "-1.25e+22"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (100.0, "100"),
        (-0.0, "0"),
        (12345678.9, "12345678.9"),
        (42, "42"),
        (-(2**53), "-9007199254740992"),
        (10**21, "1e+21"),
    ],
)
def test_number_thresholds(value: float, expected: str) -> None:
    assert canonicalize(value).decode() == expected


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F602 is D83D DE02 in UTF-16, which sorts before U+FB33 (above the BMP by code point).
    expected = '{"\U0001f602":2,"\ufb33":1}'
    assert canonicalize({"\ufb33": 1, "\U0001f602": 2}) == expected.encode()


def test_string_escaping_is_minimal() -> None:
    text = '"\\/\b\f\n\r\t\x00\x1f\x7f\u2028é'
    expected = '"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é"'
    assert canonicalize(text) == expected.encode()


def test_accepts_tuples_and_any_mapping() -> None:
    assert canonicalize(OrderedDict([("b", (1, 2)), ("a", None)])) == b'{"a":null,"b":[1,2]}'


def test_output_matches_a_roundtrip_through_json() -> None:
    event = {"eventTime": "2026-11-22T10:00:00.123Z", "epcList": ["urn:a"], "n": 4.20}
    once = canonicalize(event)
    assert canonicalize(json.loads(once)) == once


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (math.nan, "$: nan is not allowed"),
        ({"t": [math.inf]}, "$.t[0]: inf is not allowed"),
        (-math.inf, "-inf is not allowed"),
        ({1: "x"}, "object key 1 is int; JSON keys must be str"),
        ({"b": b"raw"}, "$.b: bytes has no JSON form"),
        ([Decimal("1.5")], "$[0]: Decimal has no JSON form"),
        ({"s": "a\ud800b"}, "$.s: string 'a\\ud800b' contains a lone surrogate at index 1"),
        ({"\udc00": 1}, "contains a lone surrogate"),
        (2**53 + 1, "integer 9007199254740993 is not exactly representable"),
        (10**400, "write it as a string"),
    ],
)
def test_rejects_with_a_reason_naming_the_path(value: Any, fragment: str) -> None:
    with pytest.raises(CanonicalizationError) as info:
        canonicalize(value)
    assert fragment in str(info.value)


def test_rejects_a_cycle() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(CanonicalizationError, match="nested too deeply"):
        canonicalize(looped)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**60), 2**60)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_fast_paths_write_what_the_careful_writer_writes(value: Any) -> None:
    """The C-encoder and fast paths must never differ from the path-tracking writer."""
    from ledger.canonical import _write

    parts: list[str] = []
    try:
        _write(value, parts, "$")
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            canonicalize(value)
        return
    assert canonicalize(value) == "".join(parts).encode("utf-8")


# The orjson tier: it may only ever decline (None) or agree with the careful writer.

_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=6)
_RISKY_TEXT = st.text(
    st.sampled_from(["a", "é", "\ue000", "\uffff", "\U0001f602", "\U0010ffff", "\x00", '"', "."]),
    max_size=4,
)


def _careful(value: Any) -> bytes | None:
    from ledger.canonical import _write

    parts: list[str] = []
    try:
        _write(value, parts, "$")
    except CanonicalizationError:
        return None
    return "".join(parts).encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**54), 2**54)
        | st.floats()
        | _ANY_TEXT
        | _RISKY_TEXT,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(_ANY_TEXT | _RISKY_TEXT, inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_orjson_tier_declines_or_agrees(value: Any) -> None:
    from ledger.canonical import _orjson_form

    fast = _orjson_form(value)
    if fast is not None:
        assert fast == _careful(value)


def test_orjson_tier_numbers_over_every_exponent() -> None:
    from ledger.canonical import _orjson_form

    rng = random.Random(6962)
    values = [struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0] for _ in range(20000)]
    # Dense around the bounds where orjson and ES6 switch notation, and short decimals.
    values += [m * 10.0**e for e in range(-9, 24) for m in (1, 1.5, 9.999999999999998, 4.25)]
    values += [round(rng.uniform(-60, 60), rng.randrange(0, 6)) for _ in range(5000)]
    taken = 0
    for number in values:
        fast = _orjson_form([number])
        if fast is not None:
            taken += 1
            assert fast == f"[{format_number(number)}]".encode(), number
    assert taken > 4000  # the tier really handles the common (short, non-integral) numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1.0, -0.0, 100.0], b"[1,0,100]"),
        ({"t": 1e-6}, b'{"t":0.000001}'),
        ({"t": 1e16}, b'{"t":10000000000000000}'),
        ({"t": 1.5e-7, "u": 1e21}, b'{"t":1.5e-7,"u":1e+21}'),
        ({"\ue000": 1, "\U0001f602": 2}, '{"\U0001f602":2,"\ue000":1}'.encode()),
        ({"s": "v1.0,2.0 and 1e-5"}, b'{"s":"v1.0,2.0 and 1e-5"}'),
        ({"n": 2**53 - 1}, b'{"n":9007199254740991}'),
        ({"n": 2**60}, b'{"n":1152921504606847000}'),
        (OrderedDict([("b", 1), ("a", 2)]), b'{"a":2,"b":1}'),
    ],
)
def test_values_orjson_writes_differently_still_come_out_canonical(
    value: Any, expected: bytes
) -> None:
    assert canonicalize(value) == expected


def test_types_orjson_accepts_but_json_has_not_are_refused() -> None:
    import dataclasses
    import enum
    import uuid
    from datetime import UTC, datetime

    import orjson

    class Color(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Point:
        x: int

    for bad in (
        {"id": uuid.UUID(int=7)},
        {"c": Color.RED},
        {"raw": orjson.Fragment(b"{}")},
        {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        {"p": Point(1)},
        {"x": [1.5, math.nan]},
        {"x": math.inf},
    ):
        with pytest.raises(CanonicalizationError):
            canonicalize(bad)


def test_str_and_int_enums_are_their_values_on_every_tier() -> None:
    import enum

    from ledger.canonical import _canonicalize_python

    class Step(enum.StrEnum):
        ARRIVING = "arriving"

    class Level(enum.IntEnum):
        HIGH = 3

    value = {"bizStep": Step.ARRIVING, "level": Level.HIGH}
    assert canonicalize(value) == _canonicalize_python(value) == b'{"bizStep":"arriving","level":3}'


def test_an_epcis_event_takes_the_orjson_tier() -> None:
    from ledger.canonical import _orjson_form

    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-22T10:00:00.123Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4.25}]}],
        "site": "site-1",
    }
    assert _orjson_form(event) is not None
    assert canonicalize(event) == _careful(event)
