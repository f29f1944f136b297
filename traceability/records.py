"""The records store: products, lots, units, locations, legs, events and anchored batches.

``RecordStore`` is the one object callers hold; each kind of record lives in its own
module as a mixin over ``traceability.database.Database`` (engine, transactions, schema
upgrade on open):

* ``traceability.catalog``   products, lots (FEFO, near expiry), units, logistic units
* ``traceability.logistics`` locations, shipments, legs and stays (carbon inputs)
* ``traceability.eventlog``  captured EPCIS events and their EPC links
* ``traceability.batchlog``  anchored batches

SQLAlchemy Core 2 over any URL; SQLite (``sqlite:///path``) is the default and the SQL
stays portable to PostgreSQL (no SQLite-only statements outside the connect hook).
"""

from __future__ import annotations

from traceability.batchlog import BatchRecords
from traceability.catalog import CatalogRecords
from traceability.database import DEFAULT_URL
from traceability.entities import (
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
from traceability.eventlog import EventRecords
from traceability.logistics import LogisticsRecords

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
