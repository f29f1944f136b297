"""``/console/stream`` served by uvicorn on loopback and read with httpx as it streams:
every tile first, then only what changed; a new incident is announced; the stream ends
with the session (and an unattended screen's session idles out: the stream's looks are no
use of it); live screens are bounded. Real SQLite records (and ledger for the
incidents); each awaited event has a read deadline, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from ledger.store.sqlstore import LedgerStore
from tests.support.accounts import Clock, service
from tests.support.consolegate import FakeGate, signed_in
from tests.support.consolepages import (
    VIEWER,
    FakeTemperatures,
    FlakyPlaces,
    console_app,
    sse_events,
)
from tests.support.events import COLD_ROOM, DOCK, object_event
from tests.support.webapp import NOW, add_places, capture_journey, make_client
from tests.traceability.incidents.conftest import SIGNER, make_alarm
from traceability.alarms.places import RecordPlaces
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.custody import CustodyService
from traceability.incidents.model import incident_id
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore
from web.console.auth import ConsoleAuth
from web.console.board import BoardSettings
from web.console.gate import SessionUser
from web.server import WebServer

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
LIVE = BoardSettings(poll_s=0.02, spark_refresh_s=0)
Events = Iterator[tuple[str, dict[str, Any]]]


@pytest.fixture
def records(stocked: RecordStore) -> RecordStore:
    add_places(stocked)
    capture_journey(stocked)
    return stocked


@pytest.fixture
def temperatures() -> FakeTemperatures:
    reader = FakeTemperatures()
    reader.set(COLD_ROOM, 2.0, NOW - timedelta(minutes=1))
    reader.set(DOCK, 3.0, NOW - timedelta(minutes=1))
    return reader


class Served:
    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10.0)

    @contextmanager
    def stream(self, headers: dict[str, str]) -> Iterator[tuple[httpx.Response, Events]]:
        with self.http.stream("GET", "/console/stream", headers=headers) as response:
            yield response, sse_events(response.iter_lines())


@pytest.fixture
def served(
    request: pytest.FixtureRequest, records: RecordStore, temperatures: FakeTemperatures
) -> Iterator[Served]:
    options: dict[str, Any] = getattr(request, "param", {})
    app = console_app(records, temperatures, lambda: NOW, **{"settings": LIVE, **options})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    found = Served(server)
    try:
        yield found
    finally:
        found.http.close()  # closes every stream first: uvicorn waits for open ones
        server.stop()


def next_of(events: Events, name: str, within_s: float = 10.0) -> dict[str, Any]:
    """The next ``name`` event; the stream's comments every tick keep the read going, so
    the deadline is counted here."""
    deadline = time.monotonic() + within_s
    for found, data in events:
        if found == name:
            return data
        assert time.monotonic() < deadline, f"no {name!r} event within {within_s} s"
    raise AssertionError(f"the stream ended before an {name!r} event")


def test_every_tile_first_then_only_what_changed(
    served: Served, temperatures: FakeTemperatures
) -> None:
    with served.stream(VIEWER) as (response, events):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = [next_of(events, "place"), next_of(events, "place")]
        assert sorted(p["status"] for p in first) == ["ok", "ok"]
        temperatures.set(COLD_ROOM, 5.1, NOW - timedelta(seconds=5))
        changed = next_of(events, "place")
        assert changed["urn"] == COLD_ROOM  # the dock did not change: not sent again
        assert changed["status"] == "excursion"
        assert changed["html"].startswith(
            f'<article class="tile status-excursion" id="{changed["id"]}"'
        )
        assert "1.1 °C above the upper limit 4.0 °C" in changed["html"]


def test_the_stream_speaks_the_pages_language(served: Served) -> None:
    served.http.cookies.set("tracehub_lang", "zh-CN")
    with served.stream(VIEWER) as (_response, events):
        assert "正常" in next_of(events, "place")["html"]


def test_a_new_incident_is_announced(
    records: RecordStore, temperatures: FakeTemperatures, tmp_path: Path
) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    capture = CaptureService(records, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
    service = IncidentService(records, ledger, SIGNER)
    app = console_app(records, temperatures, lambda: NOW, incidents=service, settings=LIVE)
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    http = httpx.Client(base_url=server.url, timeout=10.0)
    try:
        with http.stream("GET", "/console/stream", headers=VIEWER) as response:
            events = sse_events(response.iter_lines())
            quiet = next_of(events, "incidents")
            assert quiet["new"] == []
            assert 'id="no-active"' in quiet["html"]
            alarm = make_alarm()
            service.raised(alarm)
            told = next_of(events, "incidents")
            iid = incident_id(alarm.id)
            assert [n["id"] for n in told["new"]] == [iid]
            announced = told["new"][0]["html"]
            assert f'<a href="/console/incidents/{iid}">Cold room 1: 9.4 °C' in announced
            assert f'href="/console/incidents/{iid}"' in told["html"]
            tile = next_of(events, "place")  # then its place, which now counts it
            assert tile["urn"] == COLD_ROOM
            assert "1 active incident(s)" in tile["html"]
    finally:
        http.close()
        server.stop()
        ledger.close()


@pytest.mark.parametrize(
    "served", [{"settings": LIVE.model_copy(update={"max_streams": 1})}], indirect=True
)
def test_live_screens_are_bounded(served: Served) -> None:
    with served.stream(VIEWER) as (response, events):
        assert response.status_code == 200
        next_of(events, "place")  # the one screen watches
        refused = served.http.get("/console/stream", headers=VIEWER)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "60"
        assert refused.headers["content-type"].startswith("text/html")
        assert "1 screens are watching already" in refused.text


class ExpiringGate(FakeGate):
    """A session that lives for ``calls`` looks at it (the stream's ticks included),
    remembered for the length of a request as the accounts' gate does."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    async def user(self, request: Request) -> SessionUser | None:
        if hasattr(request.state, "seen"):
            seen: SessionUser | None = request.state.seen
            return seen
        self.calls -= 1
        request.state.seen = await super().user(request) if self.calls >= 0 else None
        return await self.user(request)


def test_the_stream_ends_with_the_session_and_gives_its_slot_back(
    records: RecordStore, temperatures: FakeTemperatures
) -> None:
    gate = ExpiringGate(calls=3)  # require, then two ticks
    bounded = LIVE.model_copy(update={"max_streams": 1})
    app = console_app(records, temperatures, lambda: NOW, gate=gate, settings=bounded)
    with make_client(app) as client:
        body = client.get("/console/stream", headers=VIEWER).text
        names = [name for name, _data in sse_events(iter(body.split("\n"))) if name]
        assert names == ["place", "place", "end"]
        gate.calls = 2
        assert client.get("/console/stream", headers=VIEWER).status_code == 200  # slot free


def test_the_stream_needs_a_session(served: Served) -> None:
    response = served.http.get("/console/stream", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


def test_records_away_for_a_round_do_not_end_the_stream(
    records: RecordStore, temperatures: FakeTemperatures
) -> None:
    gate = ExpiringGate(calls=4)  # require, the round the records are away, one more
    places = FlakyPlaces(RecordPlaces(records, CustodyService(records), lambda: NOW, 0), 1)
    app = console_app(records, temperatures, lambda: NOW, gate=gate, places=places, settings=LIVE)
    with make_client(app) as client:
        body = client.get("/console/stream", headers=VIEWER).text
    assert ": records unavailable" in body
    assert [name for name, _data in sse_events(iter(body.split("\n"))) if name] == [
        "place",
        "place",
        "end",
    ]


def test_an_unattended_screen_logs_off_at_the_idle_timeout(
    records: RecordStore, temperatures: FakeTemperatures
) -> None:
    clock = Clock()
    accounts = service(records, clock)  # idle timeout 15 minutes
    secret = b"s" * 32
    wall = signed_in(accounts, secret, "wall", "viewer")
    app = console_app(
        records, temperatures, lambda: NOW, gate=ConsoleAuth(accounts, secret), settings=LIVE
    )
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    http = httpx.Client(base_url=server.url, timeout=10.0)
    try:
        with http.stream("GET", "/console/stream", headers=wall) as response:
            events = sse_events(response.iter_lines())
            next_of(events, "place")
            clock.advance(minutes=14)
            temperatures.set(COLD_ROOM, 2.5, NOW - timedelta(seconds=5))
            assert next_of(events, "place")["urn"] == COLD_ROOM  # read after the advance
            next_of(events, "")  # so the next tick looked at the session at minute 14
            clock.advance(minutes=1)  # 15 minutes since the login, watched all along
            next_of(events, "end")
        assert http.get("/console", headers=wall).status_code == 303  # logged off
    finally:
        http.close()
        server.stop()
