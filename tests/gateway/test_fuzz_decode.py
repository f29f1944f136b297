"""Fuzzing the gateway's decoders with hypothesis: temperature and RFID JSON, VDA 5050
AGV messages, OPC UA cold-room values. No exception escapes; every rejection says why
(tests/fuzz/targets.py). The seed corpus in tests/data/gateway/fuzz/decode runs first."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.decode import Rejection
from sensors.coldroom import QUANTITIES
from tests.fuzz.targets import (
    DECODE_CORPUS,
    check_coldroom,
    check_decode,
    corpus,
    split_seed,
)

SEEDS = [split_seed(data) for data in corpus(DECODE_CORPUS)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json_seeds() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for topic, payload in SEEDS:
        try:
            document = json.loads(payload)
        except ValueError:
            continue
        if isinstance(document, dict):
            out.append((topic, document))
    return out


JSON_DOCS = _json_seeds()
VALID_DOCS = [
    (t, d)
    for t, d in JSON_DOCS
    if not isinstance(check_decode(t, json.dumps(d).encode()), Rejection)
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
odd_numbers = st.sampled_from([10**400, -(10**400), 2**63, 2**64, -1, 1e308, -0.0, 1e-320])


def test_the_corpus_is_not_empty_and_covers_every_decoder() -> None:
    prefixes = {topic.split("/")[0] for topic, _ in SEEDS}
    assert {"tracehub", "uagv", "opcua"} <= prefixes
    kinds = {topic.split("/")[3] for topic, _ in SEEDS if topic.startswith("tracehub/")}
    assert {"temperature", "rfid"} <= kinds


@pytest.mark.parametrize(("topic", "payload"), SEEDS)
def test_every_corpus_entry_decodes_or_explains(topic: str, payload: bytes) -> None:
    check_decode(topic, payload)


def test_valid_seeds_stay_valid() -> None:
    valid = [check_decode(t, p) for t, p in SEEDS if not p.startswith(b"not")]
    assert sum(not isinstance(r, Rejection) for r in valid) >= 5


@FUZZ
@given(topic=st.sampled_from([t for t, _ in SEEDS]), payload=st.binary(max_size=512))
def test_random_bytes_on_every_topic(topic: str, payload: bytes) -> None:
    check_decode(topic, payload)


@FUZZ
@given(
    topic=st.text(alphabet=st.sampled_from("tracehub/v1uagv2opcu+#$ \x00é-_.:"), max_size=60),
    payload=st.sampled_from([p for _, p in SEEDS]),
)
def test_random_topics(topic: str, payload: bytes) -> None:
    check_decode(topic, payload)


extreme_times = st.builds(
    lambda d, h, m: d.isoformat() + f"{'+' if h >= 0 else '-'}{abs(h):02d}:{m:02d}",
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.integers(-23, 23),
    st.sampled_from([0, 30, 59]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path in a JSON document (nested objects and arrays too)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid document with a few values anywhere in it replaced by arbitrary JSON,
    huge numbers or extreme timestamps, or removed (structure-aware)."""
    topic, document = draw(st.sampled_from(JSON_DOCS))
    doc = json.loads(json.dumps(document))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "odd", "time"]))
        if action == "delete":
            _set(doc, path, None, delete=True)
        elif action == "odd":
            _set(doc, path, draw(odd_numbers))
        elif action == "time":
            _set(doc, path, draw(extreme_times))
        else:
            _set(doc, path, draw(json_values))
    if draw(st.booleans()):
        doc[draw(st.text(max_size=10))] = draw(json_values)
    return topic, json.dumps(doc).encode()


@FUZZ
@given(mutated())
def test_structured_mutations_of_valid_messages(case: tuple[str, bytes]) -> None:
    check_decode(*case)


@FUZZ
@given(
    case=mutated(),
    text=st.text(max_size=40),
)
def test_string_fields_with_any_text(case: tuple[str, bytes], text: str) -> None:
    topic, payload = case
    document = json.loads(payload)
    for key, value in list(document.items()):
        if isinstance(value, str):
            document[key] = text
    check_decode(topic, json.dumps(document).encode())


plc_values = st.one_of(
    st.none(), st.booleans(), st.integers(), odd_numbers, st.floats(), st.text(max_size=20),
    st.binary(max_size=20), st.lists(st.integers(), max_size=3), st.complex_numbers(),
    st.decimals(allow_nan=True),
)  # fmt: skip
timestamps = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)),
                                            timezone(timedelta(hours=-12))])),
    st.none(), st.integers(), st.text(max_size=10),
)  # fmt: skip


@FUZZ
@given(quantity=st.sampled_from(QUANTITIES), value=plc_values, ts=timestamps)
def test_opcua_values_never_escape(quantity: Any, value: Any, ts: Any) -> None:
    check_coldroom(quantity, value, ts)


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"]
)
def test_timestamps_beyond_influxdb_are_rejected_not_raised(ts: str) -> None:
    """Found by fuzzing: an offset pushing a date past year 1/9999 raised OverflowError
    out of the decoder (a poison message for the drain)."""
    checked = 0
    for topic, document in VALID_DOCS:
        key = "timestamp" if topic.startswith("uagv/") else "ts"
        if key in document and not topic.endswith("/connection"):  # stored ones only
            result = check_decode(topic, json.dumps({**document, key: ts}).encode())
            assert isinstance(result, Rejection), (topic, result)
            assert result.field == key, result
            checked += 1
    assert checked >= 3


def test_agv_numbers_beyond_a_double_are_rejected_not_raised() -> None:
    topic, state = next((t, d) for t, d in JSON_DOCS if t.endswith("/state"))
    bad = {**state, "batteryState": {**state["batteryState"], "batteryCharge": 10**400}}
    result = check_decode(topic, json.dumps(bad).encode())
    assert isinstance(result, Rejection)


def test_opcua_regressions_found_by_fuzzing() -> None:
    now = datetime(2026, 11, 22, 10, tzinfo=UTC)
    # float(10**400) raised OverflowError out of the OPC UA callback before.
    assert isinstance(check_coldroom("temperature_c", 10**400, now), Rejection)
    assert isinstance(check_coldroom("temperature_c", math.nan, now), Rejection)
    assert isinstance(check_coldroom("temperature_c", 4.5, "yesterday"), Rejection)
    assert isinstance(check_coldroom("temperature_c", 4.5, datetime.min), Rejection)
    assert isinstance(
        check_coldroom("temperature_c", 4.5, datetime.min.replace(tzinfo=UTC)),
        Rejection,
    )
    assert not isinstance(check_coldroom("door_open", 1, now), Rejection)
