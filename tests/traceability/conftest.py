"""Fixtures for the traceability tests: a records store on a temp SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from traceability.records import RecordStore

from .events import GTIN


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    records = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    yield records
    records.close()


@pytest.fixture
def stocked(store: RecordStore) -> RecordStore:
    """A store with one chilled product and lot L1 holding serials 1001–1010."""
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(
        GTIN,
        "L1",
        expiry=date(2026, 12, 5),
        origin="NO",
        quantity=10,
        serials=range(1001, 1011),
    )
    return store
