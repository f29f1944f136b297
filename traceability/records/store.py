"""The records store: products, lots, units, locations, legs, events and anchored batches.

``RecordStore`` is the one object callers hold; each kind of record lives in its own
module as a mixin over ``traceability.records.database.Database`` (engine, transactions, schema
upgrade on open):

* ``traceability.records.catalog``   products, lots (FEFO, near expiry), units, logistic units
* ``traceability.records.logistics`` locations, shipments, legs and stays (carbon inputs)
* ``traceability.records.eventlog``  captured EPCIS events and their EPC links
* ``traceability.records.batchlog``  anchored batches

SQLAlchemy Core 2 over any URL; SQLite (``sqlite:///path``) is the default and the SQL
stays portable to PostgreSQL (no SQLite-only statements outside the connect hook).
"""

from __future__ import annotations

from traceability.records.batchlog import BatchRecords
from traceability.records.catalog import CatalogRecords
from traceability.records.database import DEFAULT_URL
from traceability.records.entities import (
    Batch,
    BatchLeaf,
    EpcLink,
    LastLocation,
    Lot,
    NewEvent,
    Product,
    StoredEvent,
    StoreResult,
)
from traceability.records.eventlog import EventRecords
from traceability.records.logistics import LogisticsRecords

__all__ = [
    "DEFAULT_URL",
    "Batch",
    "BatchLeaf",
    "EpcLink",
    "LastLocation",
    "Lot",
    "NewEvent",
    "Product",
    "RecordStore",
    "StoreResult",
    "StoredEvent",
]


class RecordStore(CatalogRecords, LogisticsRecords, EventRecords, BatchRecords):
    """The records database. Build with ``RecordStore.open(url)``; ``close()`` when done."""
