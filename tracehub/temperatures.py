"""The temperatures a lot's exposure is judged by, wired once for every reader of them
(lot pages, the lot alarms, the demo, ``tracehub verify``'s page claims): the gateway's
probes in InfluxDB and the rooms' sensor-only EPCIS events in the records (issue #15),
or the events alone where no InfluxDB is configured.
"""

from __future__ import annotations

from traceability.coldchain.eventsensors import CombinedSeries, EventSensorSeries, GatewaySeries
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.records.store import RecordStore


def lot_series(store: RecordStore, gateway: GatewaySeries | None) -> TemperatureSeries:
    """Both sources (``gateway``: the InfluxDB reader), or the events alone without one."""
    events = EventSensorSeries(store)
    return events if gateway is None else CombinedSeries(gateway, events)


def lot_exposure(store: RecordStore, gateway: GatewaySeries | None) -> ExposureService:
    """The exposure of lots over ``lot_series`` (the page's, the alarms', ``verify``'s)."""
    return ExposureService(store, lot_series(store, gateway))
