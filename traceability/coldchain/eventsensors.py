"""``TemperatureSeries`` over the records' sensor-only EPCIS events, and the one that
joins it with the gateway's probes in InfluxDB.

``EventSensorSeries``: a room's readings captured as EPCIS events (``sensorElementList``,
read by ``sensorreadings``), one ``ProbeSeries`` per device (``epcis:<deviceID>``) as a
raw run: sensor events are few (a logger's report every few minutes at most), so
nothing is summarised and every reading counts exactly. The events of a stay are found
by their indexed place and event time (``records.sensorevents``) over the stay plus
``max_hold`` before it (the reading that holds into it), widened by ``REPORT_REACH``
either side since a report's own time may lie that far from its event's.

``CombinedSeries``: the gateway's probes and the EPCIS ones side by side (the exposure
judges each probe alone, so nothing is averaged across sources); the chart's buckets
merged where both cut the same span. It answers ``window_totals`` from the gateway's
series, as the lot page asks its series (InfluxDB holds the sealed readings).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from traceability.coldchain.buckets import Bucket, raw_buckets
from traceability.coldchain.exposure import TemperatureSeries
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.coldchain.sensorreadings import REPORT_REACH, SensorReading, room_readings
from traceability.records.entities import StoredEvent


class SensorEvents(Protocol):
    """What the series reads of the records (``RecordStore``)."""

    def sensor_events_at(
        self, location: str, start: datetime, end: datetime
    ) -> list[StoredEvent]: ...


class EventSensorSeries:
    """``TemperatureSeries`` over the stored sensor-only events (see the module doc)."""

    def __init__(self, store: SensorEvents) -> None:
        self._store = store

    def readings(self, location: str, start: datetime, end: datetime) -> list[SensorReading]:
        """The readings at ``location`` taken in ``[start, end)``, time order."""
        found = self._store.sensor_events_at(location, start - REPORT_REACH, end + REPORT_REACH)
        return [
            r
            for r in room_readings((e.id, e.document()) for e in found)
            if r.location == location and start <= r.time < end
        ]

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        points = [
            (r.device, r.ns, r.celsius) for r in self.readings(location, start - max_hold, end)
        ]
        return points_series(sorted(set(points)), start, end, max_hold)

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        points = {(r.device, r.ns, r.celsius) for r in self.readings(location, start, end)}
        return raw_buckets(sorted((ns, c) for _, ns, c in points), width, low, high)


WindowKey = tuple[str, datetime]  # device, window start (``anchoring.seals``)


class GatewaySeries(TemperatureSeries, Protocol):
    """The gateway's readings (``InfluxTemperatureReader``): probes, buckets, and what
    InfluxDB holds per device window (``anchoring.seals.WindowTotals``)."""

    def window_totals(
        self, devices: Sequence[str], start: datetime, end: datetime, window: timedelta
    ) -> dict[WindowKey, tuple[int, float]]: ...


class CombinedSeries:
    """The gateway's probes and the EPCIS sensor probes as one ``TemperatureSeries``."""

    def __init__(self, gateway: GatewaySeries, events: TemperatureSeries) -> None:
        self._gateway = gateway
        self._events = events

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        return [
            *self._gateway.probes(location, start, end, low, high, max_hold),
            *self._events.probes(location, start, end, low, high, max_hold),
        ]

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        return merge_buckets(
            [
                *self._gateway.buckets(location, start, end, low, high, width),
                *self._events.buckets(location, start, end, low, high, width),
            ]
        )

    def window_totals(
        self, devices: Sequence[str], start: datetime, end: datetime, window: timedelta
    ) -> dict[WindowKey, tuple[int, float]]:
        return self._gateway.window_totals(devices, start, end, window)


def merge_buckets(buckets: Sequence[Bucket]) -> list[Bucket]:
    """Buckets of the same span (start and width) as one, oldest first. Spans that only
    share a start stay apart: InfluxDB's quiet day and an hour of events are not one."""
    merged: dict[tuple[datetime, timedelta], Bucket] = {}
    for b in buckets:
        known = merged.get((b.start, b.width))
        merged[(b.start, b.width)] = b if known is None else _joined(known, b)
    return [merged[key] for key in sorted(merged)]


def _joined(a: Bucket, b: Bucket) -> Bucket:
    count = a.count + b.count
    outs = [t for t in (a.first_out, a.last_out, b.first_out, b.last_out) if t is not None]
    return Bucket(
        start=a.start,
        width=a.width,
        count=count,
        mean_c=(a.mean_c * a.count + b.mean_c * b.count) / count if count else a.mean_c,
        min_c=min(a.min_c, b.min_c),
        max_c=max(a.max_c, b.max_c),
        out_of_range=a.out_of_range + b.out_of_range,
        # A mean stands for its readings only when both sides' did (``Bucket.samples``).
        samples=(*a.samples, *b.samples) if a.samples and b.samples else (),
        first_out=min(outs) if outs else None,
        last_out=max(outs) if outs else None,
    )


__all__ = ["CombinedSeries", "EventSensorSeries", "GatewaySeries", "SensorEvents", "merge_buckets"]
