"""Shipments in the records store: lots in a shipment, its legs, references that must exist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traceability.errors import RecordNotFound
from traceability.records.shipments import Leg, ShipmentLot
from traceability.records.store import RecordStore

GTIN = "04012345111118"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def test_leg_and_shipment_lot_round_trip(logistics: RecordStore) -> None:
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
    logistics.add_leg(leg)
    logistics.add_shipment_lot(
        ShipmentLot(shipment_id="S1", gtin=GTIN, lot="L1", gross_kg=50, units=10)
    )
    assert logistics.legs_of("S1") == [leg]
    assert logistics.shipments_of_lot(GTIN, "L1")[0][0] == "S1"


def test_a_legs_shipment_must_exist(logistics: RecordStore) -> None:
    with pytest.raises(RecordNotFound, match="shipment_id: shipment S9 is unknown"):
        logistics.add_leg(
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
