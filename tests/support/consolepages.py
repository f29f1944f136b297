"""Builders for the console page tests: in-memory temperature and door readers, and an app
serving ``console_routes`` over FakeGate, real records (``RecordPlaces`` over SQLite) and
the given ports, with the static files the pages link."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from tests.support.consolegate import FakeGate
from traceability.alarms.places import RecordPlaces
from traceability.coldchain.doors import DoorReader, DoorState
from traceability.coldchain.exposure import TemperatureSeries
from traceability.coldchain.telemetry import TemperaturePoint
from traceability.custody import CustodyService
from traceability.errors import StoreUnavailable, TelemetryUnavailable
from traceability.incidents.service import IncidentService
from traceability.records.entities import Product
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from web.app import STATIC
from web.console.board import BoardSettings, LatestReadings, PlaceSource
from web.console.gate import ConsoleGate, Signature
from web.console.pages import console_routes
from web.console.render import ConsoleRenderer

VIEWER = {"X-Test-User": "vera:viewer"}
OPERATOR = {"X-Test-User": "li:operator"}
QUALITY = {"X-Test-User": "qa:quality"}


class FakeTemperatures:
    """``TemperatureReader``: the newest reading per place, set by the test."""

    def __init__(self) -> None:
        self.points: dict[str, TemperaturePoint] = {}
        self.down = False
        self.calls = 0

    def set(self, location: str, celsius: float, at: datetime) -> None:
        self.points[location] = TemperaturePoint(time=at, celsius=celsius)

    def latest(self, location: str) -> TemperaturePoint | None:
        self.calls += 1
        if self.down:
            raise TelemetryUnavailable("InfluxDB did not answer (test)")
        return self.points.get(location)


class FakeDoors:
    def __init__(self) -> None:
        self.doors: dict[str, DoorState] = {}

    def door(self, location: str) -> DoorState | None:
        return self.doors.get(location)


@dataclass
class SignedCalls:
    """What ``on_signed`` was told, in order."""

    calls: list[tuple[Signature, str, str]] = field(default_factory=list)

    def __call__(self, signature: Signature, action: str, subject: str) -> None:
        self.calls.append((signature, action, subject))


def console_app(
    store: RecordStore,
    temperatures: LatestReadings,
    now: Callable[[], datetime],
    *,
    gate: ConsoleGate | None = None,
    incidents: IncidentService | None = None,
    series: TemperatureSeries | None = None,
    doors: DoorReader | None = None,
    settings: BoardSettings | None = None,
    on_signed: SignedCalls | None = None,
    places: PlaceSource | None = None,
    grafana: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """``places``: default the records' (``RecordPlaces``, uncached)."""
    if places is None:
        places = RecordPlaces(store, CustodyService(store), clock=now, ttl_s=0)
    routes = console_routes(
        gate or FakeGate(),
        ConsoleRenderer(),
        places,
        incidents,
        temperatures,
        series=series,
        doors=doors,
        settings=settings or BoardSettings(poll_s=0, spark_refresh_s=0),
        now=now,
        on_signed=on_signed,
        grafana=grafana,
        extra_routes=extra_routes,
    )
    return Starlette(routes=[*routes, Mount("/static", StaticFiles(directory=STATIC))])


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each event of a Server-Sent Events stream's lines, and
    ``("", {})`` for each block without data (a comment, the retry line): the reader's
    tick, so a caller waiting for an event can count its deadline."""
    name, data = "message", ""
    for line in lines:
        if line == "":
            yield (name, json.loads(data)) if data else ("", {})
            name, data = "message", ""
        elif line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data += line[len("data: ") :]


class FlakyPlaces:
    """The records' places, away (``StoreUnavailable``) for the next ``outages`` rounds."""

    def __init__(self, places: PlaceSource, outages: int = 0) -> None:
        self._places = places
        self.outages = outages

    def located(self) -> Sequence[Location]:
        if self.outages > 0:
            self.outages -= 1
            raise StoreUnavailable("the records database did not answer (test)")
        return self._places.located()

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        return self._places.products_at(urn, start, end)
