from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gs1.epcis.event import epcis_document, event_id
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
    with pytest.raises(EventRejected, match=r"ex:reading: nan is not a finite number") as info:
        service.capture({**object_event(), "ex:reading": float("nan")})
    assert info.value.field == "ex:reading"
    assert stocked.pending_events(limit=10) == []


def _lot_class_event(lot: str, field: str = "quantityList") -> dict[str, object]:
    event = object_event()
    event.pop("epcList")
    event[field] = [{"epcClass": f"urn:epc:class:lgtin:4012345.011111.{lot}", "quantity": 4}]
    return event


def test_a_lot_class_links_the_event_to_its_lot(stocked: RecordStore) -> None:
    outcome = CaptureService(stocked).capture(_lot_class_event("L1"))
    assert outcome.lots == ((GTIN, "L1"),)


@pytest.mark.parametrize("field", ["quantityList", "inputQuantityList"])
def test_a_lot_class_the_ledger_cannot_chain_is_refused_naming_the_field(
    stocked: RecordStore, field: str
) -> None:
    """The attack that killed the anchoring thread: a 250-character lot is refused at the
    door, with the field and the limit, and nothing is stored."""
    event = _lot_class_event("A" * 250, field)
    if field == "inputQuantityList":  # a transformation consuming the lot
        event.pop("action")
        event.update(
            type="TransformationEvent", outputQuantityList=_lot_class_event("L1")["quantityList"]
        )
    with pytest.raises(EventRejected) as info:
        CaptureService(stocked).capture(event)
    assert info.value.field == f"{field}[0].epcClass"
    assert "lot is 250 characters long; GS1 allows at most 20" in info.value.reason
    assert stocked.pending_events(limit=10) == []


def test_a_lot_class_outside_character_set_82_is_refused(stocked: RecordStore) -> None:
    with pytest.raises(EventRejected) as info:
        CaptureService(stocked).capture(_lot_class_event("L%201"))  # a space
    assert info.value.field == "quantityList[0].epcClass"
    assert "character set 82" in info.value.reason


def test_a_document_with_one_bad_lot_class_names_its_index(stocked: RecordStore) -> None:
    good, bad = _lot_class_event("L1"), _lot_class_event("B" * 21)
    bad["eventTime"] = "2026-11-22T10:05:00.000Z"
    document = epcis_document([good, bad], datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
    report = CaptureService(stocked).capture_document(document)
    assert not report.ok
    assert report.captured == ()
    (error,) = report.errors
    assert (error.index, error.field) == (1, "quantityList[0].epcClass")
