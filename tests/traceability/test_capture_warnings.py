"""Business rules only warn: unknown parents, lots and locations are stored, reported as
warnings and flagged on the event; looked up once per document (issue #15)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gs1.epcis.event import epcis_document
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from traceability.capture import CaptureService
from traceability.records.locations import Location
from traceability.records.store import NewEvent, RecordStore

CREATED = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
STRANGER = "urn:epc:id:sscc:4012345.0000000999"


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return epcis_document(list(events), CREATED)


def lot_event(lot: str, serial: int = 0, read_point: str = DOCK) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-22T10:{serial % 60:02d}:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "storing",
        "readPoint": {"id": read_point},
        "quantityList": [{"epcClass": f"urn:epc:class:lgtin:4012345.011111.{lot}", "quantity": 5}],
    }


def packing(parent: str, *serials: str) -> dict[str, Any]:
    return {
        "type": "AggregationEvent",
        "eventTime": "2026-11-22T10:05:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": parent,
        "childEPCs": [f"urn:epc:id:sgtin:4012345.011111.{s}" for s in serials],
        "action": "ADD",
        "bizStep": "packing",
        "readPoint": {"id": DOCK},
    }


@pytest.fixture
def known(stocked: RecordStore) -> RecordStore:
    """Lot L1 (units 1001-1010), the dock and the cold room recorded."""
    stocked.add_location(Location(urn=DOCK, name="Dock 1", kind="dock_door"))
    stocked.add_location(Location(urn=COLD_ROOM, name="Cold room 2", kind="cold_room"))
    return stocked


def test_what_the_records_know_raises_no_warning(known: RecordStore) -> None:
    known.add_logistic_unit("urn:epc:id:sscc:4012345.0000000001", "pallet")
    report = CaptureService(known).capture_document(
        document(
            object_event(),
            lot_event("L1"),
            packing("urn:epc:id:sscc:4012345.0000000001", "1002"),
        )
    )
    assert report.ok, report.errors
    assert report.warnings == ()
    assert all(o.flags == () for o in report.captured)
    assert all(e.flags == () for e in known.pending_events(limit=10))


def test_unknown_units_lots_locations_and_parents_are_warnings_and_flags(
    known: RecordStore,
) -> None:
    elsewhere = "urn:epc:id:sgln:4099999.00001.0"
    doc = document(
        object_event(serial="7777", read_point=elsewhere, bizLocation={"id": COLD_ROOM}),
        lot_event("NOPE", read_point=DOCK),
        packing(STRANGER, "1001"),
    )
    report = CaptureService(known).capture_document(doc)
    assert report.ok, report.errors
    assert [o.created for o in report.captured] == [True] * 3
    assert [(w.index, w.field, w.code) for w in report.warnings] == [
        (0, "epcList", "unknown_lot"),
        (0, "readPoint.id", "unknown_location"),
        (1, "quantityList[0].epcClass", "unknown_lot"),
        (2, "parentID", "unknown_parent"),
    ]
    reasons = [w.reason for w in report.warnings]
    assert "urn:epc:id:sgtin:4012345.011111.7777 is not a registered unit" in reasons[0]
    assert elsewhere in reasons[1]
    assert "lot NOPE of GTIN 04012345111118 is not in the records" in reasons[2]
    assert STRANGER in reasons[3]
    assert [o.flags for o in report.captured] == [
        ("unknown_lot", "unknown_location"),
        ("unknown_lot",),
        ("unknown_parent",),
    ]
    for outcome in report.captured:
        stored = known.get_event(outcome.event_id)
        assert stored is not None
        assert stored.flags == outcome.flags
    # The unknown lot class still links the event to the lot it names.
    assert report.captured[1].lots == ((GTIN, "NOPE"),)


def test_a_parent_named_earlier_in_the_document_or_stored_before_is_known(
    known: RecordStore,
) -> None:
    service = CaptureService(known)
    first = service.capture_document(document(packing(STRANGER, "1001")))
    assert [w.code for w in first.warnings] == ["unknown_parent"]
    later = service.capture_document(
        document({**packing(STRANGER, "1002"), "eventTime": "2026-11-22T10:06:00Z"})
    )
    assert later.warnings == ()  # a stored event named it: seen before
    other = "urn:epc:id:sscc:4012345.0000000002"
    same_document = service.capture_document(
        document(
            packing(STRANGER, "1003") | {"childEPCs": [other], "eventTime": "2026-11-22T10:07:00Z"},
            packing(other, "1004"),
        )
    )
    assert same_document.ok, same_document.errors
    assert same_document.warnings == ()


def test_a_single_event_carries_its_flags(known: RecordStore) -> None:
    outcome = CaptureService(known).capture(object_event(serial="7777"))
    assert outcome.flags == ("unknown_lot",)
    stored = known.get_event(outcome.event_id)
    assert stored is not None
    assert stored.flags == ("unknown_lot",)


def test_warnings_are_reported_with_rollback_errors(known: RecordStore) -> None:
    report = CaptureService(known).capture_document(
        document(object_event(serial="7777"), object_event(bizStep="arivng"))
    )
    assert report.captured == ()
    assert [e.index for e in report.errors] == [1]
    assert [(w.index, w.code) for w in report.warnings] == [(0, "unknown_lot")]


@contextmanager
def counted(store: RecordStore) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = store._engine  # the one engine behind every record call
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _mixed(size: int, offset: int) -> list[dict[str, Any]]:
    """Events naming unknown units, lots, places and parents (no carriers: custody's
    carried-lots lookup is another module's cost)."""
    events: list[dict[str, Any]] = []
    for i in range(size):
        n = offset + i
        place = f"urn:epc:id:sgln:4099999.00001.{n}"
        events.append(object_event(serial=str(5000 + n), read_point=place))
        events.append(lot_event(f"X{n}", n, read_point=place))
        events.append(
            packing(f"urn:epc:id:sgtin:4012345.011111.{9000 + n}", str(6000 + n))
            | {"eventTime": f"2026-11-22T11:{n % 60:02d}:00Z"}
        )
    return events


def test_the_rules_cost_the_same_queries_for_3_or_60_events(known: RecordStore) -> None:
    service = CaptureService(known)
    with counted(known) as small:
        assert service.capture_document(document(*_mixed(1, 0))).ok
    with counted(known) as large:
        report = service.capture_document(document(*_mixed(20, 100)))
    assert report.ok, report.errors[:1]
    # per trio: unit + place, lot + place, parent + child unit
    assert len(report.warnings) == 20 * 6
    reads = [s for s in small if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in large if s.lstrip().upper().startswith("SELECT")]) == len(reads)


def test_on_stored_runs_in_the_capture_transaction_with_the_new_events(
    known: RecordStore,
) -> None:
    seen: list[tuple[list[str], datetime]] = []

    def hook(conn: Connection, created: Sequence[NewEvent], at: datetime) -> None:
        # Inside the transaction: the rows are visible to this connection already.
        ids = [e.id for e in created]
        rows = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()
        assert rows >= len(ids)
        seen.append((ids, at))

    service = CaptureService(known, on_stored=hook)
    report = service.capture_document(document(object_event(), object_event(serial="1002")))
    assert [ids for ids, _ in seen] == [[o.event_id for o in report.captured]]
    single = service.capture(object_event(serial="1003"))
    assert seen[-1][0] == [single.event_id]
    service.capture_document(document(object_event()))  # nothing new: no call
    assert len(seen) == 2


def test_a_failing_hook_stores_nothing(known: RecordStore) -> None:
    def hook(conn: Connection, created: Sequence[NewEvent], at: datetime) -> None:
        raise RuntimeError("outbox full")

    with pytest.raises(RuntimeError):
        CaptureService(known, on_stored=hook).capture_document(document(object_event()))
    assert known.pending_events(limit=10) == []
