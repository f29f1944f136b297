"""Packaging in the records store: round trip, and its lot must exist."""

from __future__ import annotations

import pytest

from traceability.errors import RecordNotFound
from traceability.records.packaging import Packaging
from traceability.records.store import RecordStore

GTIN = "04012345111118"


def test_packaging_round_trip(logistics: RecordStore) -> None:
    logistics.add_packaging(Packaging(gtin=GTIN, lot="L1", material="board", mass_kg=0.05))
    assert logistics.packaging_of(GTIN, "L1")[0].material == "board"


def test_a_packagings_lot_must_exist(logistics: RecordStore) -> None:
    with pytest.raises(RecordNotFound, match="lot: lot NOPE is unknown"):
        logistics.add_packaging(Packaging(gtin=GTIN, lot="NOPE", material="board", mass_kg=1))
