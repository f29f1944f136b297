"""Custody timelines through aggregation and transformation; forward/backward trace;
which lots were in a room during an excursion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.traceability.test_capture_document import PALLET, aggregation, document, transformation
from traceability.capture import CaptureService
from traceability.custody import CustodyService
from traceability.records.store import RecordStore

REEFER = "urn:epc:id:sgln:4012345.00003.0"
U1 = "urn:epc:id:sgtin:4012345.011111.1001"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 22, hour, minute, tzinfo=UTC)


@pytest.fixture
def custody(stocked: RecordStore) -> CustodyService:
    stocked.add_logistic_unit(PALLET, "pallet")
    capture = CaptureService(stocked)
    pallet_move = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-22T11:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [PALLET],
        "action": "OBSERVE",
        "bizStep": "loading",
        "readPoint": {"id": REEFER},
    }
    report = capture.capture_document(
        document(
            object_event(time="2026-11-22T09:00:00Z", read_point=DOCK),
            object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM),
            aggregation(eventTime="2026-11-22T10:30:00Z", readPoint={"id": COLD_ROOM}),
            pallet_move,
            aggregation(action="DELETE", eventTime="2026-11-22T12:00:00Z", readPoint={"id": DOCK}),
            transformation(),
        )
    )
    assert report.ok, report.errors
    return CustodyService(stocked)


def test_unit_moves_with_its_pallet(custody: CustodyService) -> None:
    stays = custody.timeline(U1).stays
    assert [(s.location, s.start) for s in stays] == [
        (DOCK, at(9)),
        (COLD_ROOM, at(10)),
        (REEFER, at(11)),
        (DOCK, at(12)),
    ]
    assert stays[2].via == PALLET
    assert stays[1].end == at(11)
    assert stays[-1].end is None


def test_lot_timeline_and_where_now(custody: CustodyService) -> None:
    spans = custody.lot_timeline(GTIN, "L1").locations()
    assert spans[REEFER] == [(at(11), at(12))]
    assert custody.where_now(GTIN, "L1")[U1] == DOCK


def test_lots_in_reefer_during_an_excursion(custody: CustodyService) -> None:
    assert custody.lots_at(REEFER, at(11, 15), at(11, 45)) == [(GTIN, "L1")]
    assert custody.lots_at(REEFER, at(12, 30), at(13)) == []


def test_backward_and_forward_trace(custody: CustodyService) -> None:
    made = "urn:epc:id:sgtin:4012345.011111.2001"
    used = "urn:epc:id:sgtin:4012345.011111.1002"
    assert custody.trace_back(made) == [used]
    assert custody.trace_forward(used) == [made]
    assert U1 in custody.trace_back(PALLET)


TRAILER = "urn:epc:id:giai:4012345.TRAILER1"
CARRIER = "urn:epc:id:pgln:4098765.00000"
OWNER = "urn:epc:id:pgln:4012345.00000"


def _event(kind: str, time: str, read_point: str, **fields: object) -> dict[str, object]:
    return {
        "type": kind,
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "readPoint": {"id": read_point},
        **fields,
    }


@pytest.fixture
def associated(stocked: RecordStore) -> CustodyService:
    from traceability.records.locations import Location

    stocked.add_location(
        Location(urn=COLD_ROOM, name="Cold room", kind="cold_room", custodian=OWNER)
    )
    capture = CaptureService(stocked)
    report = capture.capture_document(
        document(
            object_event(time="2026-11-22T09:00:00Z", read_point=COLD_ROOM),
            # The unit is tied to a reefer trailer (GIAI) and handed to the carrier.
            _event(
                "AssociationEvent",
                "2026-11-22T10:00:00Z",
                DOCK,
                action="ADD",
                parentID=TRAILER,
                childEPCs=[U1],
                bizStep="loading",
                destinationList=[
                    {"type": "owning_party", "destination": OWNER},
                    {"type": "possessing_party", "destination": CARRIER},
                ],
            ),
            # Only the trailer is read at the reefer's location: its unit was there too.
            _event(
                "ObjectEvent", "2026-11-22T11:00:00Z", REEFER, action="OBSERVE", epcList=[TRAILER]
            ),
            _event(
                "AssociationEvent",
                "2026-11-22T12:00:00Z",
                DOCK,
                action="DELETE",
                parentID=TRAILER,
                childEPCs=[U1],
            ),
            # After the association ends the trailer leaves without the unit.
            _event(
                "ObjectEvent",
                "2026-11-22T13:00:00Z",
                COLD_ROOM,
                action="OBSERVE",
                epcList=[TRAILER],
            ),
        )
    )
    assert report.ok, report.errors
    return CustodyService(stocked)


def test_associated_unit_travels_with_its_trailer_until_the_delete(
    associated: CustodyService,
) -> None:
    stays = associated.timeline(U1).stays
    assert [(s.location, s.start, s.via) for s in stays] == [
        (COLD_ROOM, at(9), None),
        (DOCK, at(10), None),
        (REEFER, at(11), TRAILER),
        (DOCK, at(12), None),
    ]
    assert ("04012345111118", "L1") in associated.lots_at(REEFER, at(10, 30), at(11, 30))


def test_custodian_from_the_destination_party_else_the_location(
    associated: CustodyService,
) -> None:
    stays = associated.timeline(U1).stays
    # The cold room's recorded custodian; then the possessing party the event names.
    assert stays[0].custodian == OWNER
    assert stays[1].custodian == CARRIER
    assert stays[2].custodian is None  # a reefer location with no recorded custodian


def test_shipping_and_departing_end_the_stay_and_the_next_event_places_the_lot(
    stocked: RecordStore,
) -> None:
    capture = CaptureService(stocked)
    for event in (
        object_event(time="2026-11-22T09:00:00Z", read_point=COLD_ROOM),
        # Shipping read at the cold room: the lot leaves it (no bizLocation: in transit).
        object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM, bizStep="shipping"),
        object_event(time="2026-11-22T12:00:00Z", read_point=DOCK, bizStep="receiving"),
        # Departing with a bizLocation: it is in the reefer from then on.
        object_event(
            time="2026-11-22T13:00:00Z",
            read_point=DOCK,
            bizStep="departing",
            bizLocation={"id": REEFER},
        ),
        object_event(time="2026-11-22T15:00:00Z", read_point=REEFER, bizStep="shipping"),
    ):
        assert capture.capture(event).event_id
    timeline = CustodyService(stocked).lot_timeline(GTIN, "L1")
    assert [(s.location, s.start, s.end) for s in timeline.stays] == [
        (COLD_ROOM, at(9), at(10)),
        (DOCK, at(12), at(13)),
        (REEFER, at(13), at(15)),
    ]
    assert timeline.current is None
    assert CustodyService(stocked).where_now(GTIN, "L1") == {U1: None}


def test_a_lot_shipped_back_to_the_same_room_starts_a_new_stay(stocked: RecordStore) -> None:
    capture = CaptureService(stocked)
    capture.capture(object_event(time="2026-11-22T09:00:00Z", read_point=COLD_ROOM))
    capture.capture(
        object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM, bizStep="shipping")
    )
    capture.capture(object_event(time="2026-11-22T11:00:00Z", read_point=COLD_ROOM))
    timeline = CustodyService(stocked).lot_timeline(GTIN, "L1")
    assert [(s.start, s.end) for s in timeline.stays] == [(at(9), at(10)), (at(11), None)]
    # The hour in transit is not time in the room.
    assert timeline.locations() == {COLD_ROOM: [(at(9), at(10)), (at(11), None)]}


def test_units_packed_into_a_pallet_nobody_registered_travel_with_it(
    stocked: RecordStore,
) -> None:
    """A partner packs units of lot L1 into its own SSCC, never registered here, then
    ships it and another site receives it: capture warns (unknown_parent) and stores;
    custody and recall follow the children with the pallet, in separate documents."""
    theirs = "urn:epc:id:sscc:4099999.0000000042"
    other_site = "urn:epc:id:sgln:4099999.00001.0"
    u2 = "urn:epc:id:sgtin:4012345.011111.1002"
    capture = CaptureService(stocked)

    def pallet_event(time: str, step: str, **extra: object) -> dict[str, object]:
        return {
            "type": "ObjectEvent",
            "eventTime": time,
            "eventTimeZoneOffset": "+00:00",
            "epcList": [theirs],
            "action": "OBSERVE",
            "bizStep": step,
            **extra,
        }

    packed = capture.capture_document(
        document(
            object_event(time="2026-11-22T09:00:00Z", read_point=COLD_ROOM),
            aggregation(
                parent=theirs,
                childEPCs=[U1, u2],
                eventTime="2026-11-22T10:00:00Z",
                readPoint={"id": DOCK},
            ),
        )
    )
    assert packed.ok, packed.errors
    assert "unknown_parent" in {w.code for w in packed.warnings if w.index == 1}
    shipped = capture.capture_document(
        document(pallet_event("2026-11-22T11:00:00Z", "shipping", readPoint={"id": DOCK}))
    )
    received = capture.capture_document(
        document(
            pallet_event(
                "2026-11-22T15:00:00Z",
                "receiving",
                readPoint={"id": other_site},
                bizLocation={"id": other_site},
            )
        )
    )
    assert shipped.ok
    assert received.ok
    # The pallet's own events are filed under the lot they carried (its evidence).
    assert shipped.captured[0].lots == ((GTIN, "L1"),)
    assert received.captured[0].lots == ((GTIN, "L1"),)
    custody = CustodyService(stocked)
    for unit in (U1, u2):
        stays = custody.timeline(unit).stays
        assert [(s.location, s.start, s.end) for s in stays][-1] == (other_site, at(15), None)
        assert stays[-1].via == theirs
    where = custody.where_now(GTIN, "L1")
    assert where[U1] == other_site
    assert where[u2] == other_site
    assert (GTIN, "L1") in custody.lots_at(other_site, at(15), at(16))
    assert custody.trace_back(theirs) == sorted([U1, u2])
