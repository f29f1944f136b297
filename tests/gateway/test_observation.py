from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gateway.decode import TagObservation, decode
from gateway.observation import ReadPointProfile, object_event

DOCK = "urn:epc:id:sgln:4012345.00001.0"


def observation(epc: str = "3074F4E4E40AD9C0000003E9") -> TagObservation:
    payload = {
        "reader_id": "dock-door-1",
        "seq": 7,
        "ts": "2026-11-22T10:00:00.123Z",
        "epc": epc,
        "antenna": 1,
        "rssi": -52.5,
        "read_point": DOCK,
    }
    decoded = decode("tracehub/v1/cold1/rfid/dock-door-1", json.dumps(payload).encode())
    assert isinstance(decoded, TagObservation)
    return decoded


def test_contract_event_with_default_profile() -> None:
    assert object_event(observation(), DOCK) == {
        "type": "ObjectEvent",
        "eventTime": "2026-11-22T10:00:00.123Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "disposition": "in_progress",
        "readPoint": {"id": DOCK},
    }


def test_read_point_profile_sets_biz_step_disposition_and_location() -> None:
    profile = ReadPointProfile(
        biz_step="shipping",
        disposition="in_transit",
        biz_location="urn:epc:id:sgln:4012345.00002.0",
    )
    event = object_event(observation(), DOCK, {DOCK: profile})
    assert (event["bizStep"], event["disposition"]) == ("shipping", "in_transit")
    assert event["bizLocation"] == {"id": "urn:epc:id:sgln:4012345.00002.0"}


def test_the_event_is_at_the_read_point_given_not_the_payloads() -> None:
    elsewhere = "urn:epc:id:sgln:4012345.00002.0"
    profile = ReadPointProfile(biz_step="shipping")
    event = object_event(observation(), elsewhere, {DOCK: profile, elsewhere: ReadPointProfile()})
    # The reader's placement decides the read point and so the profile.
    assert (event["readPoint"], event["bizStep"]) == ({"id": elsewhere}, "arriving")


def test_sscc_reads_use_the_sscc_urn() -> None:
    event = object_event(observation("3174257BF4499602D2000000"), DOCK)
    assert event["epcList"] == ["urn:epc:id:sscc:0614141.1234567890"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("biz_step", "Arriving Now"), ("disposition", ""), ("biz_location", "dock 2")],
)
def test_bad_profiles_name_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        ReadPointProfile(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)
