"""The overview's state: sites → places with their temperature, band, status, door and
open incidents, read from ports and cached for the poll interval.

A place is a location of the records (every kind but ``site``: rooms, reefers, boxes,
dock doors), grouped under its telemetry site, else its parent location, else its
custodian. Its band is the strictest of the products whose lots are there now (the
highest minimum, the lowest maximum), or none. Status, from the newest reading:

* ``excursion`` — outside the band now;
* ``warning`` — inside, within ``warn_margin_c`` of an edge (the margin is shown);
* ``offline`` — the newest reading is older than ``offline_after_min``;
* ``nodata`` — no reading ever; ``unavailable`` — the telemetry store did not answer (it
  is asked once per round: a store that times out would for every place);
* ``ok`` otherwise (also a place without a band that reports).

One ``Board`` serves every page and stream: ``snapshot()`` computes at most once per
``poll_s`` however many screens watch, and the sparklines (the costlier query) at most
once per ``spark_refresh_s`` per place.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from traceability.coldchain.buckets import Bucket
from traceability.coldchain.doors import DoorReader, DoorState
from traceability.coldchain.exposure import TemperatureSeries
from traceability.errors import TelemetryUnavailable
from traceability.incidents.model import Incident, IncidentState
from traceability.records.entities import Product
from traceability.records.locations import Location

Status = Literal["ok", "warning", "excursion", "offline", "nodata", "unavailable"]
ACTIVE: tuple[IncidentState, ...] = ("open", "acknowledged", "assessed", "disposed")


class PlaceSource(Protocol):
    """What the board knows of places (``traceability.alarms.places.RecordPlaces``)."""

    def located(self) -> Sequence[Location]:
        """Every known location."""
        ...

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        """The products of the lots at ``urn`` at any time in ``[start, end]``."""
        ...


class Reading(Protocol):
    """A temperature reading (``traceability.coldchain.telemetry.TemperaturePoint``)."""

    @property
    def time(self) -> datetime: ...

    @property
    def celsius(self) -> float: ...


class LatestReadings(Protocol):
    """``traceability.coldchain.telemetry.TemperatureReader``, named here: web may not
    import the module of its InfluxDB adapter."""

    def latest(self, location: str) -> Reading | None:
        """The newest reading at ``location``; raises ``TelemetryUnavailable``."""
        ...


class IncidentList(Protocol):
    """The incidents the board counts (``IncidentService``)."""

    def list(self, state: IncidentState | None = None, limit: int = 100) -> list[Incident]: ...


class BoardSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    offline_after_min: float = Field(default=10.0, gt=0)
    warn_margin_c: float = Field(default=0.5, ge=0)
    spark_hours: float = Field(default=6.0, gt=0)
    spark_bucket_min: float = Field(default=10.0, gt=0)
    spark_refresh_s: float = Field(default=60.0, ge=0)
    poll_s: float = Field(default=5.0, ge=0)  # the snapshot's age at most, the stream's tick
    max_streams: int = Field(default=32, ge=1)  # live screens at once
    hidden_kinds: tuple[str, ...] = ("site",)
    incident_limit: int = Field(default=500, ge=1)  # active incidents read per state


class PlaceView(BaseModel):
    """One place as a tile shows it."""

    model_config = ConfigDict(frozen=True)

    urn: str
    name: str
    kind: str
    status: Status
    celsius: float | None = None
    read_at: datetime | None = None
    age_min: float | None = None  # minutes since the newest reading
    low: float | None = None
    high: float | None = None
    edge: Literal["low", "high"] | None = None  # the nearer edge of the band
    margin_c: float | None = None  # how far inside (warning) or outside (excursion) it
    door: DoorState | None = None
    open_incidents: int = 0
    spark: tuple[Bucket, ...] = ()
    note: str = ""  # why the telemetry could not answer

    @property
    def dom_id(self) -> str:
        return "place-" + hashlib.sha256(self.urn.encode()).hexdigest()[:12]


class SiteView(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    places: tuple[PlaceView, ...]


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    sites: tuple[SiteView, ...]
    incidents: tuple[Incident, ...]  # active (not closed), newest raised first

    @property
    def places(self) -> tuple[PlaceView, ...]:
        return tuple(p for s in self.sites for p in s.places)


def band_of(products: Sequence[Product]) -> tuple[float | None, float | None]:
    """The strictest band of ``products``: the highest minimum and the lowest maximum."""
    lows = [p.temp_min_c for p in products if p.temp_min_c is not None]
    highs = [p.temp_max_c for p in products if p.temp_max_c is not None]
    return (max(lows) if lows else None, min(highs) if highs else None)


def classify(
    celsius: float, low: float | None, high: float | None, margin: float
) -> tuple[Status, Literal["low", "high"] | None, float | None]:
    """Status of a fresh reading against the band, its nearer edge and the distance to it."""
    distances: list[tuple[float, Literal["low", "high"]]] = []
    if low is not None:
        distances.append((celsius - low, "low"))
    if high is not None:
        distances.append((high - celsius, "high"))
    if not distances:
        return "ok", None, None
    inside, edge = min(distances, key=lambda d: d[0])  # a tie names the lower edge
    if inside < 0:
        return "excursion", edge, round(-inside, 3)
    return ("warning" if inside <= margin else "ok"), edge, round(inside, 3)


def site_of(location: Location, names: dict[str, str]) -> str:
    """The group a place is shown under (module docstring)."""
    if location.site:
        return location.site
    if location.parent:
        return names.get(location.parent, location.parent)
    return location.custodian or ""


class Board:
    def __init__(
        self,
        places: PlaceSource,
        temperatures: LatestReadings,
        *,
        series: TemperatureSeries | None = None,
        doors: DoorReader | None = None,
        incidents: IncidentList | None = None,
        settings: BoardSettings | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or BoardSettings()
        self._places = places
        self._temperatures = temperatures
        self._series = series
        self._doors = doors
        self._incidents = incidents
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._cached: tuple[float, Snapshot] | None = None
        self._sparks: dict[str, tuple[float, float | None, float | None, tuple[Bucket, ...]]] = {}

    async def snapshot(self) -> Snapshot:
        """The current snapshot, computed off the event loop at most once per ``poll_s``."""
        async with self._lock:
            cached = self._cached
            if cached is not None and self._monotonic() - cached[0] < self.settings.poll_s:
                return cached[1]
            found = await run_in_threadpool(self.compute)
            self._cached = (self._monotonic(), found)
            return found

    def compute(self) -> Snapshot:
        now = self._now()
        active = self._active()
        per_place: dict[str, int] = {}
        for incident in active:
            per_place[incident.location] = per_place.get(incident.location, 0) + 1
        located = list(self._places.located())
        names = {loc.urn: loc.name for loc in located}
        groups: dict[str, list[PlaceView]] = {}
        down: list[str] = []  # why the telemetry failed, once per round
        for location in located:
            if location.kind in self.settings.hidden_kinds:
                continue
            view = self._place(location, now, per_place.get(location.urn, 0), down)
            groups.setdefault(site_of(location, names), []).append(view)
        sites = tuple(
            SiteView(name=name, places=tuple(sorted(views, key=lambda v: (v.name, v.urn))))
            # the places of no site last
            for name, views in sorted(groups.items(), key=lambda g: (not g[0], g[0]))
        )
        return Snapshot(at=now, sites=sites, incidents=active)

    def _active(self) -> tuple[Incident, ...]:
        if self._incidents is None:
            return ()
        limit = self.settings.incident_limit
        found = [i for state in ACTIVE for i in self._incidents.list(state, limit)]
        return tuple(sorted(found, key=lambda i: (i.raised_at, i.id), reverse=True))

    def _place(
        self, location: Location, now: datetime, incidents: int, down: list[str]
    ) -> PlaceView:
        low, high = band_of(self._places.products_at(location.urn, now, now))
        base = {
            "urn": location.urn,
            "name": location.name,
            "kind": location.kind,
            "low": low,
            "high": high,
            "open_incidents": incidents,
        }
        if down:  # a store that timed out for one place would for each: ask it once
            return PlaceView(status="unavailable", note=down[0], **base)
        try:
            latest = self._temperatures.latest(location.urn)
            door = self._doors.door(location.urn) if self._doors is not None else None
            spark = self._spark(location.urn, now, low, high)
        except TelemetryUnavailable as exc:
            down.append(str(exc))
            return PlaceView(status="unavailable", note=str(exc), **base)
        if latest is None:
            return PlaceView(status="nodata", door=door, spark=spark, **base)
        age = max(0.0, (now - latest.time).total_seconds() / 60)
        reading = {"celsius": latest.celsius, "read_at": latest.time, "age_min": round(age, 1)}
        if age > self.settings.offline_after_min:
            return PlaceView(status="offline", door=door, spark=spark, **base, **reading)
        status, edge, margin = classify(latest.celsius, low, high, self.settings.warn_margin_c)
        return PlaceView(
            status=status, edge=edge, margin_c=margin, door=door, spark=spark, **base, **reading
        )

    def _spark(
        self, urn: str, now: datetime, low: float | None, high: float | None
    ) -> tuple[Bucket, ...]:
        if self._series is None:
            return ()
        cached = self._sparks.get(urn)
        fresh = self._monotonic()
        if (
            cached is not None
            and fresh - cached[0] < self.settings.spark_refresh_s
            and cached[1:3] == (low, high)
        ):
            return cached[3]
        span = timedelta(hours=self.settings.spark_hours)
        width = timedelta(minutes=self.settings.spark_bucket_min)
        found = tuple(self._series.buckets(urn, now - span, now, low, high, width))
        self._sparks[urn] = (fresh, low, high, found)
        return found


__all__ = [
    "ACTIVE",
    "Board",
    "BoardSettings",
    "DoorReader",
    "DoorState",
    "IncidentList",
    "LatestReadings",
    "PlaceSource",
    "PlaceView",
    "Reading",
    "SiteView",
    "Snapshot",
    "Status",
    "band_of",
    "classify",
    "site_of",
]
