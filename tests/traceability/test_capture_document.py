"""Capture of EPCIS documents: every event type, per-event errors, rollback/proceed,
idempotency on the event hash id, and the bad-input rules of issue #4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gs1.epcis.event import epcis_document
from gs1.epcis.schema import document_errors
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

PALLET = "urn:epc:id:sscc:4012345.0000000001"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def aggregation(action: str = "ADD", parent: str = PALLET, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "AggregationEvent",
        "eventTime": "2026-11-22T10:05:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": parent,
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": action,
        "bizStep": "packing" if action == "ADD" else "unpacking",
        "readPoint": {"id": DOCK},
    }
    event.update(extra)
    return event


def transformation() -> dict[str, Any]:
    return {
        "type": "TransformationEvent",
        "eventTime": "2026-11-22T10:10:00Z",
        "eventTimeZoneOffset": "+00:00",
        "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.1002"],
        "outputEPCList": ["urn:epc:id:sgtin:4012345.011111.2001"],
        "bizStep": "repackaging",
        "readPoint": {"id": COLD_ROOM},
    }


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return epcis_document(list(events), datetime(2026, 11, 22, 11, 0, tzinfo=UTC))


@pytest.fixture
def service(stocked: RecordStore) -> CaptureService:
    stocked.add_logistic_unit(PALLET, "pallet")
    return CaptureService(stocked, future_tolerance=timedelta(minutes=5), clock=lambda: NOW)


def test_document_with_every_event_type_is_captured(service: CaptureService) -> None:
    association = {
        "type": "AssociationEvent",
        "eventTime": "2026-11-22T10:20:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:grai:4012345.55555.1",
        "childEPCs": ["urn:epc:id:giai:4012345.TEMP1"],
        "action": "ADD",
        "bizStep": "assembling",
    }
    doc = document(object_event(), aggregation(), transformation(), association)
    assert document_errors(doc) == []
    report = service.capture_document(doc)
    assert report.ok
    assert [o.created for o in report.captured] == [True] * 4
    assert report.captured[1].lots == ((GTIN, "L1"),)
    assert all(o.event_id.startswith("ni:///sha-256;") for o in report.captured)
    again = service.capture_document(doc)
    assert [o.created for o in again.captured] == [False] * 4


def test_rollback_stores_nothing_and_names_each_bad_event(
    service: CaptureService, stocked: RecordStore
) -> None:
    doc = document(object_event(), object_event(serial="1002", bizStep="arivng"))
    report = service.capture_document(doc)
    assert report.captured == ()
    assert [(e.index, e.field) for e in report.errors] == [(1, "bizStep")]
    assert stocked.events_for_lot(GTIN, "L1") == []


def test_proceed_stores_the_valid_events(service: CaptureService, stocked: RecordStore) -> None:
    doc = document(object_event(), object_event(serial="1002", bizStep="arivng"))
    report = service.capture_document(doc, behaviour="proceed")
    assert len(report.captured) == 1
    assert len(report.errors) == 1
    assert len(stocked.events_for_lot(GTIN, "L1")) == 1


@pytest.mark.parametrize(
    ("event", "field", "rule"),
    [
        (
            object_event(epcList=["https://id.gs1.org/01/04012345111119/21/1"]),
            "epcList",
            "check digit should be 8",
        ),
        (object_event(bizStep="arivng"), "bizStep", "not a CBV 2.0 bizStep"),
        (
            object_event(time="2026-11-22T12:06:00Z"),
            "eventTime",
            "in the future beyond the tolerance",
        ),
        (
            object_event(epcList=["https://id.gs1.org/01/04012345111118/21/"]),
            "epcList",
            "must not end with '/'",
        ),
        (
            {**transformation(), "action": "ADD"},
            "event",
            "a TransformationEvent has no action",
        ),
    ],
)
def test_bad_input_is_rejected_with_field_and_rule(
    service: CaptureService, event: dict[str, Any], field: str, rule: str
) -> None:
    report = service.capture_document(document(event))
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.field == field
    assert rule in error.reason


def test_parent_packed_earlier_in_the_same_document_is_known(service: CaptureService) -> None:
    other = "urn:epc:id:sscc:4012345.0000000002"
    report = service.capture_document(
        document(
            aggregation(parent=PALLET, childEPCs=[other]),
            aggregation(parent=other, action="DELETE", childEPCs=[]),
        )
    )
    assert report.ok, report.errors


def test_schema_violation_is_reported(service: CaptureService) -> None:
    bad = object_event(bizTransactionList=[{"type": "po"}])  # bizTransaction missing
    report = service.capture_document(document(bad))
    assert report.errors
    assert "JSON Schema" in report.errors[0].reason


def test_an_aggregation_into_an_unknown_parent_is_stored_with_a_warning(
    service: CaptureService, stocked: RecordStore
) -> None:
    stranger = "urn:epc:id:sscc:4012345.0000000999"
    report = service.capture_document(document(aggregation(parent=stranger)))
    assert report.ok, report.errors
    (outcome,) = report.captured
    assert outcome.created
    assert "unknown_parent" in outcome.flags
    warning = next(w for w in report.warnings if w.code == "unknown_parent")
    assert (warning.index, warning.field) == (0, "parentID")
    assert stranger in warning.reason
    stored = stocked.get_event(outcome.event_id)
    assert stored is not None
    assert "unknown_parent" in stored.flags


def test_gs1_example_documents_validate_and_capture(tmp_path: Path) -> None:
    data = Path(__file__).parent.parent / "data" / "gs1" / "event-hash-id"
    import json

    store = RecordStore.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        doc = json.loads((data / "epcisDocWithVariousEventTypes.jsonld").read_text())
        service = CaptureService(store, check_schema=True)
        report = service.capture_document(doc, behaviour="proceed")
        expected = (data / "epcisDocWithVariousEventTypes.hashes").read_text().split()
        captured = {o.event_id for o in report.captured}
        # Aggregations into parents this store never saw are stored, with a warning.
        assert report.ok, report.errors
        assert captured == set(expected)
        assert "unknown_parent" in {w.code for w in report.warnings}
    finally:
        store.close()


@pytest.mark.parametrize(
    "report",
    [
        {"type": "Temperature", "stringValue": " 1e500"},  # padded: past the size check
        {"type": "Temperature", "value": 1, "time": "9999-12-31T23:59:59.9995Z"},
        {"type": "Temperature", "value": 1, "time": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_a_value_the_hash_cannot_hold_refuses_its_event_not_the_document(
    stocked: RecordStore, report: dict[str, Any]
) -> None:
    odd = object_event(
        epcList=[],
        action="OBSERVE",
        sensorElementList=[{"sensorReport": [report]}],
        readPoint={"id": COLD_ROOM},
    )
    doc = epcis_document([object_event(serial="1001"), odd], datetime(2026, 11, 22, tzinfo=UTC))
    result = CaptureService(stocked).capture_document(doc, "proceed")
    assert len(result.captured) == 1  # the good event next to it is stored
    ((field, reason),) = [(e.field, e.reason) for e in result.errors]
    assert field == "event"
    assert "its hash ID cannot hold" in reason
