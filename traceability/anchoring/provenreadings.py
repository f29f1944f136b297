"""The readings ``tracehub verify`` recomputes a lot's cold chain from, out of its bundle.

Two proven sources, both carried by the streams of the places the lot stayed at
(``seals.location_stream``, brought whole into the lot's bundle, ``bundle``):

* the gateway's sealed telemetry windows of anchored batches (``seals``);
* the rooms' sensor-only EPCIS events (issue #15) of anchored batches whose body is the
  one signed (``eventcheck.signed_bodies``; an edited body is left out, and the ledger's
  record check fails it), read by the same functions as the page
  (``coldchain.sensorreadings``), so an ``epcis:`` probe the page shows is re-derived.

A sensor event signed but not anchored yet, with a reading in the lot's stays, leaves
the verdict pending (``SensorEvents.waiting``), as an unanchored seal does. Seals are
asked only of the stays the gateway read (``asked_stays``): a room only sensor events
report on has no gateway window to seal. Pure over the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from traceability.anchoring.claims import ColdChainClaim
from traceability.anchoring.eventcheck import signed_bodies
from traceability.anchoring.feeder import EVENT_KIND
from traceability.anchoring.seals import Span, sealed_windows
from traceability.coldchain.buckets import Bucket, raw_buckets
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.coldchain.sensorreadings import PROBE_PREFIX, SensorReading, room_readings

Point = tuple[str, int, float]  # device, ns, celsius


@dataclass(frozen=True)
class SensorEvents:
    """The bundle's signed sensor-only events: the readings of the anchored ones, and
    the signed ones not anchored yet."""

    anchored: tuple[SensorReading, ...]
    unanchored: Mapping[str, tuple[SensorReading, ...]]  # event id → its readings

    @classmethod
    def of(cls, bundle: Mapping[str, Any]) -> SensorEvents:
        anchored_batches = {
            b.get("id")
            for b in bundle.get("batches") or []
            if isinstance(b, dict) and b.get("anchor")
        }
        batch_of = {
            str(item["entry"].get("record_id")): item.get("batch")
            for item in bundle.get("items") or []
            if isinstance(item, dict)
            and isinstance(item.get("entry"), dict)
            and item["entry"].get("kind") == EVENT_KIND
        }
        bodies = signed_bodies(dict(bundle))
        anchored = {i: b for i, b in bodies.items() if batch_of.get(i) in anchored_batches}
        waiting = {
            event_id: tuple(room_readings([(event_id, body)]))
            for event_id, body in bodies.items()
            if event_id not in anchored
        }
        return cls(
            anchored=tuple(room_readings(anchored.items())),
            unanchored={k: v for k, v in waiting.items() if v},
        )

    def waiting(
        self, stays: Sequence[tuple[str, datetime, datetime]], hold: timedelta
    ) -> list[str]:
        """The unanchored events with a reading in a stay (or holding into it)."""
        return sorted(
            event_id
            for event_id, readings in self.unanchored.items()
            if any(
                r.location == loc and start - hold <= r.time < end
                for r in readings
                for loc, start, end in stays
            )
        )


def asked_stays(claim: ColdChainClaim, stays: Sequence[Span]) -> list[Span]:
    """The stays sealed telemetry must cover: all but those the page read from sensor
    events alone (a bundle from before the page named its probes: every stay)."""
    if claim.probes is None:
        return list(stays)
    events_only = {
        (p.location, p.start)
        for p in claim.probes
        if p.devices and all(d.startswith(PROBE_PREFIX) for d in p.devices)
    }
    return [s for s in stays if (s[0], s[1]) not in events_only]


@dataclass(frozen=True)
class SealedSeries:
    """``TemperatureSeries`` over the proven readings only: anchored seals and anchored
    sensor events."""

    # location → (device, ns, celsius), sorted
    readings: Mapping[str, Sequence[Point]]

    @classmethod
    def of(cls, bundle: Mapping[str, Any], sensors: SensorEvents | None = None) -> SealedSeries:
        found: dict[str, list[Point]] = {}
        for seal in sealed_windows(bundle).values():
            if not seal.anchored:
                continue
            for row in seal.record.get("readings") or []:
                try:
                    if row.get("celsius") is None:
                        continue
                    point = (seal.device, int(row["time"]), float(row["celsius"]))
                    found.setdefault(str(row["location"]), []).append(point)
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a malformed seal: ``telemetrycheck`` names it
        for reading in (sensors or SensorEvents.of(bundle)).anchored:
            point = (reading.device, reading.ns, reading.celsius)
            found.setdefault(reading.location, []).append(point)
        return cls({loc: sorted(set(points)) for loc, points in found.items()})

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        a, b = _ns(start), _ns(end)
        points = [(ns, c) for _, ns, c in self.readings.get(location, ()) if a <= ns < b]
        return raw_buckets(sorted(points), width, low, high)

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        return points_series(self.readings.get(location, ()), start, end, max_hold)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(moment: datetime) -> int:
    """Exact to the microsecond (integer arithmetic), as ``influx.quoting.epoch_ns``: the
    web's lot page imports this module, and web may not import influx."""
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


__all__ = ["SealedSeries", "SensorEvents", "asked_stays"]
