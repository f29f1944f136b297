"""The records store: products, lots, units, locations, shipments, events, anchored batches.

``RecordStore`` is the one object callers hold; each kind of record lives in its own
module as a mixin over ``traceability.records.database.Database`` (engine, transactions,
schema upgrade on open, one transaction per import file):

* ``traceability.records.catalog``        products, lots (FEFO), units
* ``traceability.records.logisticunits``  logistic units (pallets, containers) by SSCC
* ``traceability.records.locations``      locations, their custodian and coordinates
* ``traceability.records.shipments``      shipments, their lots, legs and hub activities
* ``traceability.records.stays``          lots' stays in (cold) rooms
* ``traceability.records.packaging``      packaging per unit of a lot
* ``traceability.records.primaryfactors`` the user's own emission factors (JSON)
* ``traceability.records.eventlog``       captured EPCIS events and their EPC links
* ``traceability.records.batchlog``       anchored batches mirrored from the ledger
* ``traceability.records.clients``        API clients, their scopes and hashed tokens
* ``traceability.records.alarmstate``     the alarm engine's state and raised alarms
* ``traceability.records.incidents``      incidents, their alarms and steps (a cache of
  the signed steps)
* ``traceability.records.outbox``         the notification outbox
* ``traceability.records.lookups``        capture's batch lookups of units, lots, places
* ``traceability.records.eventquery``     the EPCIS event query with keyset paging
* ``traceability.records.sensorevents``   events with sensor elements at a place
* ``traceability.records.capturejobs``    capture jobs of ``POST /capture``
* ``traceability.records.subscriptions``  named queries and their subscriptions
* ``traceability.records.subscriptionoutbox``  what each subscription is to be sent
* ``traceability.records.calibrations``  probe calibration certificates, a history each
* ``traceability.records.releasedreports``  released temperature reports, each PDF as signed
* ``traceability.records.instances``     running hub processes (heartbeats) and singleton leases
* ``traceability.records.freshness``     what changed since a cache in another process looked

SQLAlchemy Core 2 over any URL; SQLite (``sqlite:///path``) is the default and the SQL
stays portable to PostgreSQL (no SQLite-only statements outside the connect hook).
"""

from __future__ import annotations

from traceability.records.accounts import AccountRecords
from traceability.records.alarmstate import AlarmStateRecords
from traceability.records.audittrail import AuditRecords
from traceability.records.batchlog import BatchRecords
from traceability.records.calibrations import CalibrationRecords
from traceability.records.capturejobs import CaptureJobRecords
from traceability.records.catalog import CatalogRecords
from traceability.records.clients import ClientRecords
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
from traceability.records.eventquery import EventQueryRecords
from traceability.records.freshness import FreshnessRecords
from traceability.records.incidents import IncidentRecords
from traceability.records.instances import InstanceRecords
from traceability.records.locations import LocationRecords
from traceability.records.logisticunits import LogisticUnitRecords
from traceability.records.lookups import CaptureLookups
from traceability.records.outbox import OutboxRecords
from traceability.records.packaging import PackagingRecords
from traceability.records.primaryfactors import PrimaryFactorRecords
from traceability.records.releasedreports import ReleasedReportRecords
from traceability.records.sensorevents import SensorEventRecords
from traceability.records.shipments import ShipmentRecords
from traceability.records.stays import StayRecords
from traceability.records.subscriptionoutbox import SubscriptionOutboxRecords
from traceability.records.subscriptions import SubscriptionRecords

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


class RecordStore(
    CatalogRecords,
    LogisticUnitRecords,
    LocationRecords,
    ShipmentRecords,
    StayRecords,
    PackagingRecords,
    PrimaryFactorRecords,
    EventRecords,
    BatchRecords,
    ClientRecords,
    AlarmStateRecords,
    IncidentRecords,
    OutboxRecords,
    EventQueryRecords,
    SensorEventRecords,
    CaptureJobRecords,
    SubscriptionRecords,
    CaptureLookups,
    SubscriptionOutboxRecords,
    AccountRecords,
    AuditRecords,
    CalibrationRecords,
    ReleasedReportRecords,
    InstanceRecords,
    FreshnessRecords,
):
    """The records database. Build with ``RecordStore.open(url)``; ``close()`` when done."""
