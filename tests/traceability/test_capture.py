from __future__ import annotations

import json

import pytest

from gs1.epcis.event import event_id
from gs1.errors import EventRejected
from ledger.canonical import canonicalize
from tests.support.events import DOCK, GTIN, object_event
from traceability.capture import CaptureService
from traceability.records.store import RecordStore


def test_capture_links_known_units_to_their_lot(stocked: RecordStore) -> None:
    outcome = CaptureService(stocked).capture(object_event(serial="1003"))
    assert outcome.created
    assert outcome.event_id == event_id(object_event(serial="1003"))
    assert outcome.lots == ((GTIN, "L1"),)
    assert outcome.unknown_epcs == ()
    [stored] = stocked.events_for_lot(GTIN, "L1")
    assert stored.id == outcome.event_id
    assert stored.read_point == DOCK
    assert stored.biz_step == "arriving"
    assert stored.body == canonicalize(object_event(serial="1003")).decode()


def test_capture_is_idempotent(stocked: RecordStore) -> None:
    service = CaptureService(stocked)
    first = service.capture(object_event())
    redelivered = service.capture(object_event(recordTime="2026-11-22T10:00:05Z"))
    assert first.created
    assert not redelivered.created
    assert redelivered.event_id == first.event_id
    assert len(stocked.events_for_lot(GTIN, "L1")) == 1


def test_record_time_is_not_stored(stocked: RecordStore) -> None:
    outcome = CaptureService(stocked).capture(object_event(recordTime="2026-11-22T10:00:05Z"))
    stored = stocked.get_event(outcome.event_id)
    assert stored is not None
    assert "recordTime" not in json.loads(stored.body)


def test_unknown_units_are_stored_but_not_linked(stocked: RecordStore) -> None:
    outcome = CaptureService(stocked).capture(
        object_event(
            epcList=[
                "urn:epc:id:sgtin:4012345.011111.9999",
                "urn:epc:id:sscc:4012345.0000000001",
            ]
        )
    )
    assert outcome.created
    assert outcome.lots == ()
    assert outcome.unknown_epcs == (
        "urn:epc:id:sgtin:4012345.011111.9999",
        "urn:epc:id:sscc:4012345.0000000001",
    )
    assert stocked.get_event(outcome.event_id) is not None
    assert stocked.events_for_lot(GTIN, "L1") == []


def test_invalid_events_are_rejected_with_the_field(stocked: RecordStore) -> None:
    service = CaptureService(stocked)
    with pytest.raises(EventRejected) as info:
        service.capture(object_event(epcList=["urn:epc:id:sgtin:4012345.011111.a b"]))
    assert info.value.field == "epcList"
    with pytest.raises(
        EventRejected, match=r"has no canonical JSON form: \$.ex:reading: nan"
    ) as info:
        service.capture({**object_event(), "ex:reading": float("nan")})
    assert info.value.field == "event"
    assert stocked.pending_events(limit=10) == []
