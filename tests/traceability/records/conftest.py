"""A records store holding one product, its lot L1 and shipment S1, for the logistics
records (locations, shipments, stays, packaging) to name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traceability.records.locations import Location
from traceability.records.shipments import ShipmentRow
from traceability.records.store import RecordStore

GTIN = "04012345111118"
ROOM = "urn:epc:id:sgln:4012345.00002.0"


@pytest.fixture
def logistics(tmp_path: Path) -> Iterator[RecordStore]:
    opened = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    opened.add_product(GTIN, "Chilled salmon", 0, 4)
    opened.add_lot(GTIN, "L1", quantity=10)
    opened.import_shipments([ShipmentRow(id="S1", origin="a", destination="b")])
    yield opened
    opened.close()


@pytest.fixture
def room() -> Location:
    return Location(
        urn=ROOM,
        name="Cold room 1",
        kind="cold_room",
        country="DE",
        site="wh1",
        custodian="urn:epc:id:pgln:4012345.00000",
    )
