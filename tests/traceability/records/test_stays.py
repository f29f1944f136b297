"""Stays in the records store: round trip, the room must exist, bad stays name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from traceability.errors import RecordNotFound
from traceability.records.locations import Location
from traceability.records.stays import Stay
from traceability.records.store import RecordStore

GTIN = "04012345111118"
ROOM = "urn:epc:id:sgln:4012345.00002.0"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def test_stay_round_trip(logistics: RecordStore, room: Location) -> None:
    logistics.add_location(room)
    stay = Stay(
        id="st1",
        gtin=GTIN,
        lot="L1",
        location=ROOM,
        start=T0,
        end=T0.replace(day=21),
        basis="mass",
        part=100,
        room=1000,
    )
    logistics.add_stay(stay)
    assert logistics.stays_of_lot(GTIN, "L1") == [stay]


def test_a_stays_location_must_exist(logistics: RecordStore) -> None:
    with pytest.raises(RecordNotFound, match="location: location urn:x is unknown"):
        logistics.add_stay(
            Stay(
                id="s",
                gtin=GTIN,
                lot="L1",
                location="urn:x",
                start=T0,
                end=T0.replace(day=21),
                basis="mass",
                part=1,
                room=2,
            )
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"part": 5, "room": 2}, "part"),
        ({"end": T0}, "end"),
        ({"refrigerant": "R-404A"}, "refrigerant"),
        ({"basis": "volume"}, "basis"),
    ],
)
def test_bad_stays_name_the_field(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "id": "s",
        "gtin": GTIN,
        "lot": "L1",
        "location": ROOM,
        "start": T0,
        "end": T0.replace(day=21),
        "basis": "mass",
        "part": 1,
        "room": 2,
    }
    values.update(kwargs)
    with pytest.raises(ValidationError, match=field):
        Stay.model_validate(values)
