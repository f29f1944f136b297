"""Locations, shipment lots, legs, stays and packaging in the records store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.logistics import Leg, Location, Packaging, ShipmentLot, Stay
from traceability.records.store import RecordStore

GTIN = "04012345111118"
ROOM = "urn:epc:id:sgln:4012345.00002.0"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    opened = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    opened.add_product(GTIN, "Chilled salmon", 0, 4)
    opened.add_lot(GTIN, "L1", quantity=10)
    opened.import_rows(
        "shipments",
        [{"id": "S1", "sscc": None, "origin": "a", "destination": "b", "carrier": None}],
    )
    yield opened
    opened.close()


def _room() -> Location:
    return Location(
        urn=ROOM,
        name="Cold room 1",
        kind="cold_room",
        country="DE",
        site="wh1",
        custodian="urn:epc:id:pgln:4012345.00000",
    )


def test_location_round_trip_idempotent_and_conflict(store: RecordStore) -> None:
    store.add_location(_room())
    store.add_location(_room())
    assert store.get_location(ROOM) == _room()
    assert store.locations() == [_room()]
    with pytest.raises(RecordConflict, match="exists with other details"):
        store.add_location(_room().model_copy(update={"name": "Other"}))


def test_leg_and_stay_round_trip(store: RecordStore) -> None:
    store.add_location(_room())
    leg = Leg(
        shipment_id="S1",
        seq=1,
        from_location="a",
        to_location="b",
        mode="road",
        payload_kg=1000,
        vehicle_class="artic-40t",
        distance_km=12.5,
        temperature_controlled=True,
        departed_at=T0,
    )
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
    store.add_leg(leg)
    store.add_stay(stay)
    store.add_shipment_lot(
        ShipmentLot(shipment_id="S1", gtin=GTIN, lot="L1", gross_kg=50, units=10)
    )
    store.add_packaging(Packaging(gtin=GTIN, lot="L1", material="board", mass_kg=0.05))
    assert store.legs_of("S1") == [leg]
    assert store.stays_of_lot(GTIN, "L1") == [stay]
    assert store.shipments_of_lot(GTIN, "L1")[0][0] == "S1"
    assert store.packaging_of(GTIN, "L1")[0].material == "board"


def test_references_must_exist(store: RecordStore) -> None:
    with pytest.raises(RecordNotFound, match="shipment_id: shipment S9 is unknown"):
        store.add_leg(
            Leg(
                shipment_id="S9",
                seq=1,
                from_location="a",
                to_location="b",
                mode="rail",
                payload_kg=1,
                factor_id="x",
                distance_km=1,
            )
        )
    with pytest.raises(RecordNotFound, match="location: location urn:x is unknown"):
        store.add_stay(
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
    with pytest.raises(RecordNotFound, match="lot: lot NOPE is unknown"):
        store.add_packaging(Packaging(gtin=GTIN, lot="NOPE", material="board", mass_kg=1))


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


def test_location_needs_both_coordinates() -> None:
    with pytest.raises(ValidationError, match="latitude: give latitude and longitude together"):
        Location(urn="u", name="n", kind="site", latitude=1.0)
