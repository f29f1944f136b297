"""The console's overview over FakeGate, real SQLite records (the places, the lots at them)
and an in-memory reader: sites → places with status, band, door and active incidents;
a fresh reading changes the status; refusals are HTML pages; both languages; the page's
own reloads (over the real gate) are no use of the session."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from influx.quoting import epoch_ns
from tests.support.accounts import Clock, service
from tests.support.consolegate import signed_in
from tests.support.consolepages import (
    VIEWER,
    FakeDoors,
    FakeTemperatures,
    FlakyPlaces,
    console_app,
)
from tests.support.events import COLD_ROOM, DOCK
from tests.support.webapp import NOW, SteppedSeries, add_places, capture_journey, make_client
from tests.traceability.coldchain.test_telemetry import write
from traceability.alarms.places import RecordPlaces
from traceability.coldchain.doors import DoorState
from traceability.coldchain.doortelemetry import InfluxDoorReader
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB
from web.console.auth import ConsoleAuth
from web.problem import Problem

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
REEFER = "urn:epc:id:sgln:4012345.00003.0"


@pytest.fixture
def temperatures() -> FakeTemperatures:
    reader = FakeTemperatures()
    reader.set(COLD_ROOM, 2.0, NOW - timedelta(minutes=1))
    reader.set(DOCK, 3.8, NOW - timedelta(minutes=2))
    return reader


@pytest.fixture
def doors() -> FakeDoors:
    found = FakeDoors()
    found.doors[COLD_ROOM] = DoorState(open=True, since=NOW - timedelta(minutes=3))
    return found


@pytest.fixture
def client(
    stocked: RecordStore, temperatures: FakeTemperatures, doors: FakeDoors
) -> Iterator[TestClient]:
    """L1 (0–4 °C) is at the dock (unit 1001) and in the cold room (1002); the reefer is
    empty and silent."""
    add_places(stocked)
    capture_journey(stocked)
    stocked.add_location(Location(urn=REEFER, name="Reefer HH-1", kind="reefer", site="hh"))
    series = SteppedSeries({COLD_ROOM: [2.0, 2.2, 4.6, 2.1]})
    app = console_app(stocked, temperatures, lambda: NOW, series=series, doors=doors)
    with make_client(app) as test_client:
        yield test_client


def tile(html: str, name: str) -> str:
    """The text of the tile of the place called ``name``."""
    for match in re.finditer(r"<article class=\"tile[^>]*>(.*?)</article>", html, re.S):
        if f"<h3>{name}</h3>" in match.group(1):
            return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())
    raise AssertionError(f"no tile {name!r}")


def status(html: str, name: str) -> str:
    for match in re.finditer(
        r"<article class=\"tile status-(\w+)\"[^>]*>(.*?)</article>", html, re.S
    ):
        if f"<h3>{name}</h3>" in match.group(2):
            return match.group(1)
    raise AssertionError(f"no tile {name!r}")


def test_the_overview_shows_each_place_with_its_status(client: TestClient) -> None:
    response = client.get("/console", headers=VIEWER)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    room = tile(html, "Cold room 2, Hamburg")
    assert "2.0 °C OK" in room
    assert "Band 0.0 °C to 4.0 °C" in room
    assert "read 2026-11-22 11:59 UTC" in room
    assert "Door open (signal 2026-11-22 11:57 UTC)" in room
    assert status(html, "Cold room 2, Hamburg") == "ok"
    dock = tile(html, "Dock door 1, Hamburg cold store")
    assert "3.8 °C Warning 0.2 °C below the upper limit 4.0 °C" in dock
    assert "Door" not in dock  # the dock reports no door
    reefer = tile(html, "Reefer HH-1")
    assert "No readings No reading yet" in reefer
    assert "No band: no product stored here now" in reefer
    # sites: the dock and the reefer report under site hh, the room under none
    assert re.search(r"<h2[^>]*>hh</h2>.*Dock door 1.*Reefer HH-1", html, re.S)
    assert re.search(r"<h2[^>]*>Other places</h2>.*Cold room 2", html, re.S)
    assert html.index(">hh</h2>") < html.index(">Other places</h2>")  # no site: last
    # the room's sparkline against its band, the out-of-band bucket marked
    svg = re.search(r'<svg[^>]*class="spark".*?</svg>', html, re.S)
    assert svg is not None
    assert "<title>Last 6 h against the band 0.0 °C to 4.0 °C</title>" in svg.group(0)
    assert svg.group(0).count('class="out"') == 1
    assert svg.group(0).count('class="envelope"') == 3
    # no incidents service: no panel; the script and the no-script refresh
    assert 'id="active-incidents"' not in html
    assert '<script src="/static/console.js" defer></script>' in html
    refresh = '<noscript><meta http-equiv="refresh" content="30; url=/console?auto=1"></noscript>'
    assert refresh in html


def test_a_fresh_reading_changes_the_status(
    client: TestClient, temperatures: FakeTemperatures
) -> None:
    temperatures.set(COLD_ROOM, 5.1, NOW - timedelta(seconds=10))
    html = client.get("/console", headers=VIEWER).text
    assert status(html, "Cold room 2, Hamburg") == "excursion"
    assert "5.1 °C Excursion 1.1 °C above the upper limit 4.0 °C" in tile(
        html, "Cold room 2, Hamburg"
    )
    temperatures.set(COLD_ROOM, 0.3, NOW - timedelta(seconds=5))
    html = client.get("/console", headers=VIEWER).text
    assert "0.3 °C Warning 0.3 °C above the lower limit 0.0 °C" in tile(
        html, "Cold room 2, Hamburg"
    )
    temperatures.set(COLD_ROOM, -0.4, NOW - timedelta(seconds=5))
    html = client.get("/console", headers=VIEWER).text
    assert "0.4 °C below the lower limit 0.0 °C" in tile(html, "Cold room 2, Hamburg")


def test_a_silent_probe_is_offline_and_a_silent_store_unavailable(
    client: TestClient, temperatures: FakeTemperatures
) -> None:
    temperatures.set(DOCK, 2.5, NOW - timedelta(minutes=25))
    html = client.get("/console", headers=VIEWER).text
    assert status(html, "Dock door 1, Hamburg cold store") == "offline"
    assert "Probe offline No reading for 25 min" in tile(html, "Dock door 1, Hamburg cold store")
    temperatures.down = True
    temperatures.calls = 0
    html = client.get("/console", headers=VIEWER).text
    assert [status(html, p) for p in ("Cold room 2, Hamburg", "Reefer HH-1")] == [
        "unavailable",
        "unavailable",
    ]
    assert "The telemetry store did not answer" in tile(html, "Cold room 2, Hamburg")
    assert temperatures.calls == 1  # asked once a round, not once per place


def test_without_a_session_the_overview_sends_to_the_login_form(client: TestClient) -> None:
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


def test_an_unknown_page_is_the_console_404(client: TestClient) -> None:
    response = client.get("/console/nowhere", headers=VIEWER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<h1 id="error-heading">Not found</h1>' in response.text
    assert "/console/nowhere: the console has no such page" in response.text
    assert client.get("/console/", headers=VIEWER, follow_redirects=False).status_code == 308


def test_the_overview_in_chinese(client: TestClient) -> None:
    response = client.get("/console?lang=zh-CN", headers=VIEWER)
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert "冷链实况" in html
    assert "2.0 °C 正常" in tile(html, "Cold room 2, Hamburg")
    assert "门已打开" in tile(html, "Cold room 2, Hamburg")
    assert "距上限 4.0 °C 仅 0.2 °C" in tile(html, "Dock door 1, Hamburg cold store")
    assert "无温度范围：此处当前未存放产品" in tile(html, "Reefer HH-1")
    assert response.cookies.get("tracehub_lang") == "zh-CN"
    assert "冷链实况" in client.get("/console", headers=VIEWER).text  # remembered


@pytest.mark.integration
def test_the_overview_over_the_real_influxdb(stocked: RecordStore, influxdb: InfluxDB) -> None:
    add_places(stocked)
    capture_journey(stocked)
    database = "c" + uuid.uuid4().hex[:12]

    def reading(minute: int, celsius: float) -> str:
        ns = epoch_ns(NOW.replace(hour=11, minute=minute))
        return f"temperature,site=hh,location={COLD_ROOM},device=p1 celsius={celsius} {ns}"

    door = f"coldroom,site=hh,location={COLD_ROOM},plc=plc-1 door_open=true"
    write(influxdb.url, database, [reading(50, 2.0), reading(55, 2.4), f"{door} {epoch_ns(NOW)}"])
    with (
        InfluxTemperatureReader(influxdb.url, database) as reader,
        InfluxDoorReader(influxdb.url, database) as doors,
    ):
        app = console_app(stocked, reader, lambda: NOW, series=reader, doors=doors)
        with make_client(app) as client:
            html = client.get("/console", headers=VIEWER).text
            room = tile(html, "Cold room 2, Hamburg")
            assert "2.4 °C OK" in room
            assert "read 2026-11-22 11:55 UTC" in room
            assert "Door open (signal 2026-11-22 12:00 UTC)" in room
            svg = re.search(r'<svg[^>]*class="spark".*?</svg>', html, re.S)
            assert svg is not None
            assert svg.group(0).count('class="envelope"') == 1  # a quiet span: one coarse bucket
            assert status(html, "Dock door 1, Hamburg cold store") == "nodata"
            write(influxdb.url, database, [reading(59, 6.2)])
            html = client.get("/console", headers=VIEWER).text
            assert "6.2 °C Excursion 2.2 °C above the upper limit 4.0 °C" in tile(
                html, "Cold room 2, Hamburg"
            )


def test_records_that_do_not_answer_are_a_503_page(
    stocked: RecordStore, temperatures: FakeTemperatures
) -> None:
    add_places(stocked)
    records = RecordPlaces(stocked, CustodyService(stocked), clock=lambda: NOW, ttl_s=0)
    app = console_app(stocked, temperatures, lambda: NOW, places=FlakyPlaces(records, 1))
    with make_client(app) as client:
        response = client.get("/console", headers=VIEWER)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "Unavailable, try again" in response.text
        assert client.get("/console", headers=VIEWER).status_code == 200  # it came back


def test_another_modules_page_answers_its_refusals_as_a_console_page(
    stocked: RecordStore, temperatures: FakeTemperatures
) -> None:
    async def devices(request: Request) -> Response:
        raise Problem(403, "role required", "vera is viewer; needs admin")

    extra = [Route("/console/devices", devices)]
    app = console_app(stocked, temperatures, lambda: NOW, extra_routes=extra)
    with make_client(app) as client:
        response = client.get("/console/devices?lang=zh-CN", headers=VIEWER)
    assert response.status_code == 403
    assert '<h1 id="error-heading">无权操作</h1>' in response.text
    assert "vera is viewer; needs admin" in response.text
    assert '<a href="/console/devices" aria-current="page">设备</a>' in response.text


def test_the_pages_own_reloads_are_no_use_of_the_session(
    stocked: RecordStore, temperatures: FakeTemperatures
) -> None:
    clock = Clock()
    accounts = service(stocked, clock)  # idle timeout 15 minutes
    secret = b"s" * 32
    wall = signed_in(accounts, secret, "wall", "viewer")
    desk = signed_in(accounts, secret, "desk", "viewer")
    app = console_app(stocked, temperatures, lambda: NOW, gate=ConsoleAuth(accounts, secret))
    with make_client(app) as client:
        page = client.get("/console", headers=wall)
        assert 'data-reload="/console?auto=1"' in page.text  # the script's reload
        assert '<meta http-equiv="refresh" content="30; url=/console?auto=1">' in page.text
        clock.advance(minutes=10)
        assert client.get("/console?auto=1", headers=wall).status_code == 200
        assert client.get("/console", headers=desk).status_code == 200  # someone's use
        clock.advance(minutes=5)
        gone = client.get("/console?auto=1", headers=wall, follow_redirects=False)
        assert gone.status_code == 303  # 15 minutes since the last use: logged off
        assert gone.headers["location"].startswith("/console/login?next=")
        assert client.get("/console?auto=1", headers=desk).status_code == 200


def test_open_in_grafana_only_when_a_dashboard_is_configured(
    client: TestClient, stocked: RecordStore, temperatures: FakeTemperatures
) -> None:
    assert 'id="grafana"' not in client.get("/console", headers=VIEWER).text
    board = "https://grafana.example/d/tracehub-coldchain"
    app = console_app(stocked, temperatures, lambda: NOW, grafana=board)
    with make_client(app) as linked:
        html = linked.get("/console", headers=VIEWER).text
        assert (
            f'<a id="grafana" href="{board}" rel="noopener noreferrer" target="_blank">'
            "Open in Grafana</a>"
        ) in html
        assert "在 Grafana 中打开</a>" in linked.get("/console?lang=zh-CN", headers=VIEWER).text
