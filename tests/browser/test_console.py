"""The console in a real browser (headless Debian chromium) over FakeGate (the user is the
``X-Test-User`` header the browser context sends on every request, EventSource's too):
a cold room's reading changes live, an excursion incident is announced, acknowledged,
assessed and disposed with an e-signature by a quality user; an operator is refused the
disposition. Real SQLite records and ledger, uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.store.sqlstore import LedgerStore
from tests.support.consolegate import PASSWORD
from tests.support.consolepages import FakeTemperatures, SignedCalls, console_app
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.incidents.conftest import NOW, SIGNER, make_alarm
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.model import incident_id
from traceability.incidents.service import IncidentService
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from web.console.board import BoardSettings
from web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

pytestmark = pytest.mark.integration

PHONE: ViewportSize = {"width": 390, "height": 844}
WALL: ViewportSize = {"width": 1920, "height": 1080}
ROOM_TILE = f'article[data-urn="{COLD_ROOM}"]'


@dataclass
class Console:
    url: str
    temperatures: FakeTemperatures
    service: IncidentService
    signed: SignedCalls


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(GTIN, "L1", expiry=date(2026, 12, 5), serials=range(1001, 1011))
    store.add_location(Location(urn=COLD_ROOM, name="Cold room 1", kind="cold_room", site="hh"))
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    capture = CaptureService(store, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
    service = IncidentService(store, ledger, SIGNER, dispositions=capture, clock=lambda: NOW)
    temperatures = FakeTemperatures()
    temperatures.set(COLD_ROOM, 2.5, NOW - timedelta(minutes=1))
    signed = SignedCalls()
    app = console_app(
        store,
        temperatures,
        lambda: NOW,
        incidents=service,
        settings=BoardSettings(poll_s=0.05, spark_refresh_s=0),
        on_signed=signed,
    )
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        yield Console(server.url, temperatures, service, signed)
    finally:
        server.stop()
        ledger.close()
        store.close()


class Screen:
    """A browser context signed in as ``user`` (``name:role``), recording script errors."""

    def __init__(self, browser: Browser, user: str, viewport: ViewportSize = PHONE) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport=viewport, locale="en-US", extra_http_headers={"X-Test-User": user}
        )
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def close(self) -> None:
        self.context.close()  # closes the page's stream: the server's stop does not wait


def test_watch_an_excursion_live_and_dispose_with_a_signature(
    browser: Browser, console: Console, artifacts: Path
) -> None:
    screen = Screen(browser, "qa:quality")
    page = screen.page
    try:
        page.goto(console.url + "/console")
        page.wait_for_selector('[data-stream][data-live="on"]')
        assert page.get_attribute(ROOM_TILE, "data-status") == "ok"
        console.temperatures.set(COLD_ROOM, 9.4, NOW - timedelta(seconds=10))
        page.wait_for_selector(f'{ROOM_TILE}[data-status="excursion"]')
        assert "9.4 °C" in page.inner_text(ROOM_TILE)
        alarm = make_alarm()
        console.service.raised(alarm)
        iid = incident_id(alarm.id)
        page.wait_for_selector(f'#announcements [data-incident="{iid}"]')
        page.wait_for_selector(f"{ROOM_TILE} a.bad")  # the tile counts it too
        assert "1 active incident(s)" in page.inner_text(ROOM_TILE)
        page.screenshot(path=str(artifacts / "console-overview-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.click(f'#announcements [data-incident="{iid}"] a')
        page.wait_for_url(f"**/console/incidents/{iid}")
        page.fill("#ack-comment", "door left open; closed it")
        page.click("#ack-form button")
        page.wait_for_selector('li[data-step="acknowledged"]')
        page.fill("#impact-0", "probe at the door")
        page.fill("#assess-comment", "short excursion")
        page.click("#assess-form button")
        page.wait_for_selector('li[data-step="assessed"]')
        page.select_option("#dispose-disposition", "quarantine")
        page.click("#dispose-form button")
        page.wait_for_selector("#meaning")
        assert page.inner_text("#meaning") == f"approved quarantine of lot L1 (GTIN {GTIN})"
        page.fill("#reason", "hold until the lab has tested it")
        page.fill("#password", "not-it")
        page.click("#sign")
        assert "not the user" in page.inner_text("#error-detail")
        assert console.signed.calls == []
        page.go_back()
        page.fill("#reason", "hold until the lab has tested it")
        page.fill("#password", PASSWORD)
        page.screenshot(path=str(artifacts / "console-sign-phone.png"), full_page=True)
        page.click("#sign")
        page.wait_for_selector('li[data-step="disposed"]')
        assert f"{GTIN}/L1: Quarantine" in page.inner_text("#lots")
        page.screenshot(path=str(artifacts / "console-incident-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        meanings = [signature.meaning for signature, _action, _subject in console.signed.calls]
        assert meanings == [f"approved quarantine of lot L1 (GTIN {GTIN})"]
        # the one refusal was the wrong password's page
        assert screen.errors == [
            "Failed to load resource: the server responded with a status of 403 (Forbidden)"
        ]
    finally:
        screen.close()


def test_an_operator_is_refused_the_disposition(browser: Browser, console: Console) -> None:
    alarm = make_alarm()
    console.service.raised(alarm)
    iid = incident_id(alarm.id)
    screen = Screen(browser, "li:operator")
    page = screen.page
    try:
        page.goto(f"{console.url}/console/incidents/{iid}")
        assert page.locator("#ack-form").count() == 1
        assert page.locator("#dispose-form").count() == 0
        response = page.goto(
            f"{console.url}/console/incidents/{iid}/dispose?lot={GTIN}/L1&disposition=release"
        )
        assert response is not None
        assert response.status == 403
        assert "li is operator; needs quality" in page.inner_text("#error-detail")
    finally:
        screen.close()


@pytest.mark.parametrize(("lang", "title"), [("en", "Cold chain now"), ("zh-CN", "冷链实况")])
def test_the_wall_screen_in_each_language(
    browser: Browser, console: Console, artifacts: Path, lang: str, title: str
) -> None:
    screen = Screen(browser, "vera:viewer", WALL)
    page = screen.page
    try:
        page.goto(f"{console.url}/console?lang={lang}")
        assert page.inner_text("h1") == title
        page.wait_for_selector('[data-stream][data-live="on"]')
        page.screenshot(path=str(artifacts / f"console-wall-{lang}.png"))
        assert screen.errors == []
    finally:
        screen.close()
