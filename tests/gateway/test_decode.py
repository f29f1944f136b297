from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decode import (
    MAX_PAYLOAD_BYTES,
    Rejection,
    TagObservation,
    TemperatureObservation,
    decode,
)
from gs1.epc import Sgtin96

T_TOPIC = "tracehub/v1/cold1/temperature/probe-cold1-01"
R_TOPIC = "tracehub/v1/cold1/rfid/dock-door-1"
READING: dict[str, Any] = {
    "device_id": "probe-cold1-01",
    "seq": 42,
    "ts": "2026-11-22T10:00:00.123Z",
    "celsius": 4.2,
    "humidity": 61.0,
    "battery": 87.0,
    "location": "urn:epc:id:sgln:4012345.00001.0",
}
READ: dict[str, Any] = {
    "reader_id": "dock-door-1",
    "seq": 7,
    "ts": "2026-11-22T10:00:00.123Z",
    "epc": "3074257BF7194E4000001A85",
    "antenna": 1,
    "rssi": -52.5,
    "read_point": "urn:epc:id:sgln:4012345.00001.0",
}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_temperature_message() -> None:
    decoded = decode(T_TOPIC, body(READING))
    assert isinstance(decoded, TemperatureObservation)
    assert decoded.site == "cold1"
    assert decoded.reading.celsius == 4.2


def test_rfid_message_carries_the_decoded_epc() -> None:
    decoded = decode(R_TOPIC, body(READ))
    assert isinstance(decoded, TagObservation)
    assert isinstance(decoded.epc, Sgtin96)
    assert decoded.epc.urn == "urn:epc:id:sgtin:0614141.812345.6789"
    assert decoded.read.seq == 7


@pytest.mark.parametrize(
    ("topic", "payload", "field", "reason"),
    [
        ("tracehub/v1/cold1/door/p1", body(READING), "topic", "kind 'door' is unknown"),
        ("other/topic", body(READING), "topic", "does not match"),
        (T_TOPIC, b"\xff\xfe", "payload", "Invalid JSON"),
        (T_TOPIC, b"{", "payload", "Invalid JSON"),
        (T_TOPIC, b"[1, 2]", "payload", "should be an object"),
        (T_TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), "payload", "more than the 65536 allowed"),
        (T_TOPIC, body({**READING, "celsius": 999}), "celsius", "less than or equal to 150"),
        (T_TOPIC, body({**READING, "ts": "2026-11-22T10:00:00"}), "ts", "UTC offset"),
        # A number is not read as epoch seconds (4.2 was stored at 1970-01-01T00:00:04.2).
        (T_TOPIC, body({**READING, "ts": 4.2}), "ts", "a number is not a timestamp"),
        (T_TOPIC, body({**READING, "ts": "1700000000"}), "ts", "RFC 3339"),
        (T_TOPIC, body({k: v for k, v in READING.items() if k != "seq"}), "seq", "Field required"),
        (
            "tracehub/v1/cold1/temperature/probe-other",
            body(READING),
            "device_id",
            "differs from the topic's device id 'probe-other'",
        ),
        (R_TOPIC, body(READING), "reader_id", "Field required"),
        (R_TOPIC, body({**READ, "reader_id": "dock-door-2"}), "reader_id", "differs"),
        (
            R_TOPIC,
            body({**READ, "epc": "E2801160600002054CC2096F"}),
            "epc",
            "unknown EPC header 0xE2",
        ),
        (R_TOPIC, body({**READ, "epc": "307C257BF7194E4000001A85"}), "epc", "bad partition 7"),
    ],
)
def test_rejections_name_the_field(topic: str, payload: bytes, field: str, reason: str) -> None:
    decoded = decode(topic, payload)
    assert isinstance(decoded, Rejection)
    assert decoded.field == field
    assert reason in decoded.reason


def test_rejection_lists_every_bad_field() -> None:
    decoded = decode(T_TOPIC, body({**READING, "celsius": 999, "battery": -3}))
    assert isinstance(decoded, Rejection)
    assert "celsius:" in decoded.reason
    assert "battery:" in decoded.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(topic=st.text(max_size=80), payload=st.binary(max_size=300))
def test_fuzz_arbitrary_bytes_never_raise(topic: str, payload: bytes) -> None:
    assert isinstance(decode(topic, payload), Rejection | TemperatureObservation | TagObservation)


@settings(max_examples=300)
@given(
    topic=st.sampled_from([T_TOPIC, R_TOPIC]),
    base=st.sampled_from([READING, READ]),
    key=st.sampled_from(sorted(set(READING) | set(READ))),
    value=json_values,
)
def test_fuzz_near_valid_json_never_raises(
    topic: str, base: dict[str, Any], key: str, value: Any
) -> None:
    payload = json.dumps({**base, key: value}, allow_nan=True).encode()
    decoded = decode(topic, payload)
    if isinstance(decoded, Rejection):
        assert decoded.reason
        assert decoded.field


def test_a_blank_or_unprintable_key_is_still_named() -> None:
    """Found by the structured fuzzer: an extra key "\\r" gave a dead letter whose field
    was blank, naming nothing."""
    payload = (
        b'{"device_id": "intruder", "seq": 1, "ts": "2026-11-22T10:00:00Z", "celsius": 4.0, '
        b'"location": "urn:epc:id:sgln:4012345.00001.0", "\\r": null}'
    )
    result = decode("tracehub/v1/demo/temperature/intruder", payload)
    assert isinstance(result, Rejection)
    assert result.field == "'\\r'"
    assert result.reason.startswith("'\\r': Extra inputs are not permitted")


@pytest.mark.parametrize(
    "topic",
    [T_TOPIC, R_TOPIC, "uagv/v2/ExampleAGV/AGV-0001/state", "tracehub/v1/cold1/coldroom/plc-1"],
)
def test_a_deeply_nested_payload_is_rejected_not_a_crash(topic: str) -> None:
    # py-evm (loaded in the hub) raises the recursion limit to 100,000: a recursive
    # parser would then overflow the C stack on this payload and kill the process.
    payload = b"[" * 200_000
    decoded = decode(topic, payload[:MAX_PAYLOAD_BYTES])
    assert isinstance(decoded, Rejection)
