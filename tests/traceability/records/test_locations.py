"""Locations in the records store: round trip, idempotence, conflicts, coordinates."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from traceability.errors import RecordConflict
from traceability.records.locations import Location
from traceability.records.store import RecordStore

ROOM = "urn:epc:id:sgln:4012345.00002.0"


def test_location_round_trip_idempotent_and_conflict(
    logistics: RecordStore, room: Location
) -> None:
    logistics.add_location(room)
    logistics.add_location(room)
    assert logistics.get_location(ROOM) == room
    assert logistics.locations() == [room]
    with pytest.raises(RecordConflict, match="exists with other details"):
        logistics.add_location(room.model_copy(update={"name": "Other"}))


def test_location_needs_both_coordinates() -> None:
    with pytest.raises(ValidationError, match="latitude: give latitude and longitude together"):
        Location(urn="u", name="n", kind="site", latitude=1.0)
