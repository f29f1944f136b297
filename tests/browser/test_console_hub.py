"""The console of a running hub in a real browser (headless Debian chromium): real
mosquitto and InfluxDB, the hub's SQLite records and ledger, its ``ConsoleAuth`` and
sessions, the demo's master data, users made as ``tracehub users add`` makes them.

A new operator logs in with their one-time password and sets their own; readings written
to InfluxDB as the gateway writes them turn cold room 1's tile into an excursion live
(no reload), the alarm's incident is announced; the operator acknowledges and assesses
it and is refused the disposition; a quality user's wrong password signs nothing, the
right one disposes the lot with an e-signature the audit trail keeps; logging out ends
the session on the server. CSRF and the idle timeout (``TRACEHUB_CONSOLE_IDLE_MIN``)
are tested through the browser too.

With ``TRACEHUB_DOCS_SCREENSHOTS=1`` the overview's screenshots (phone and desktop, in
English and Chinese) are also written to ``docs/images/console-*.png`` for the README;
otherwise only to the artifacts folder, so a test run leaves the tree clean.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from influx.client import InfluxClient
from tests.support.accounts import PASSWORD, ready_user
from tests.support.hubs import hub_settings
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from tracehub import demo
from tracehub.consolesite import console_accounts
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import AlarmsSettings
from web.console.incidentpages import meaning_of
from web.console.session import SESSION_COOKIE

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
ROOM_TILE = f'article[data-urn="{demo.COLD_ROOM}"]'
LOT_KEY = f"{demo.GTIN}/{demo.LOT}"
TO_LOGIN = re.compile(r"/console/login\?next=")
LOGGED_OUT = re.compile(r"/console/login\?out=1$")
IDLE_MIN = 5.0
RULES = """
rules:
  - id: temperature-band
    kind: temperature
    band: product
    for_min: 0.1
    severity: critical
    applies_to: {kinds: [cold_room]}
"""


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto, influxdb: InfluxDB
) -> Iterator[Hub]:
    """The demo's master data, three of its units stored in cold room 1 ten minutes ago."""
    folder = tmp_path_factory.mktemp("console-hub")
    rules = folder / "alarms.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = hub_settings(folder / "state", "console-ui", mosquitto, influxdb)
    settings = settings.model_copy(
        update={
            "hub": settings.hub.model_copy(update={"console_idle_min": IDLE_MIN}),
            "alarms": AlarmsSettings(file=rules, interval_s=1),
        }
    )
    with Hub(settings) as running:
        demo.seed(running.master)
        _store_units(running)
        yield running


def _store_units(hub: Hub) -> None:
    at = datetime.now(UTC) - timedelta(minutes=10)
    event = {
        "type": "ObjectEvent",
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [demo.unit_urn(s) for s in (1001, 1002, 1003)],
        "action": "OBSERVE",
        "bizStep": "storing",
        "disposition": "in_progress",
        "readPoint": {"id": demo.COLD_ROOM},
        "bizLocation": {"id": demo.COLD_ROOM},
    }
    CaptureService(hub.store, ledger=EventLeaves(hub.ledger, hub.signer)).capture(event)


def _write_readings(
    hub: Hub, place: str, probe: str, readings: list[tuple[datetime, float]]
) -> None:
    """Readings as the gateway writes them (measurement ``temperature``)."""
    site, database = hub.settings.hub.site, hub.settings.influx.database
    lines = [
        f"temperature,device={probe},location={place},site={site} "
        f"celsius={celsius},seq={i}i {int(at.timestamp() * 1e9)}"
        for i, (at, celsius) in enumerate(readings)
    ]
    assert hub.settings.influx.url is not None
    with InfluxClient(hub.settings.influx.url, database) as client:
        client.create_database()
        client.write(lines)


def _in_band_history(hub: Hub) -> None:
    """Six hours of ordinary readings up to a minute ago (the sparklines' span), at the
    dock and in the room: a gentle defrost-cycle wave inside the band."""
    now = datetime.now(UTC)
    times = [now - timedelta(minutes=m) for m in range(360, 0, -5)]
    room = [(at, round(4.2 + 0.6 * math.sin(i / 6), 1)) for i, at in enumerate(times)]
    dock = [(at, round(5.6 + 0.8 * math.sin(i / 9 + 1), 1)) for i, at in enumerate(times)]
    _write_readings(hub, demo.COLD_ROOM, "probe-cold1-01", room)
    _write_readings(hub, demo.DOCK_DOOR, "probe-dock1-01", dock)


def _too_warm(hub: Hub) -> None:
    """The compressor fails: 11.5 °C in cold room 1 for the last minute."""
    now = datetime.now(UTC)
    readings = [(now - timedelta(seconds=60 - 5 * i), 11.5) for i in range(13)]
    _write_readings(hub, demo.COLD_ROOM, "probe-cold1-01", readings)


class Screen:
    """A browser context of its own (cookies, viewport), recording the page's script
    errors and the console's error lines (a refused request logs one)."""

    def __init__(self, browser: Browser, url: str, viewport: ViewportSize = PHONE) -> None:
        self.url = url
        self.context: BrowserContext = browser.new_context(viewport=viewport, locale="en-US")
        self.page: Page = self.context.new_page()
        self.script_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.script_errors.append(str(e)))

    def login(self, name: str, password: str, new: str | None = None) -> None:
        page = self.page
        page.goto(self.url + "/console")
        page.wait_for_url(TO_LOGIN)  # no session: the form first
        page.fill("#name", name)
        page.fill("#password", password)
        page.click("#login")
        if new is not None:
            page.wait_for_selector("#login-change")  # a one-time password: set your own
            page.fill("#password", password)
            page.fill("#new", new)
            page.fill("#repeat", new)
            page.click("#login")
        page.wait_for_selector('[data-stream][data-live="on"]')

    def session_cookie(self) -> SetCookieParam:
        (cookie,) = [c for c in self.context.cookies() if c["name"] == SESSION_COOKIE]
        return {"name": cookie["name"], "value": cookie["value"], "url": self.url}

    def session_id(self) -> str:
        return self.session_cookie()["value"].partition(".")[0]

    def csrf(self) -> str:
        token = self.page.get_attribute("form.who input[name=csrf]", "value")
        assert token
        return token

    def close(self) -> None:
        self.context.close()  # closes the page's stream: the server's stop does not wait


def _dispositions(hub: Hub) -> list[str]:
    return [e.action for e in hub.parts.audit.entries() if e.action == "incident.dispose"]


def test_watch_an_excursion_live_act_on_it_and_dispose_with_a_signature(
    browser: Browser, hub: Hub, artifacts: Path
) -> None:
    accounts = console_accounts(hub.settings, hub.store)
    issued = accounts.add("li.wei", "operator", "Li Wei")
    _in_band_history(hub)
    operator = Screen(browser, hub.web.url)
    try:
        operator.login("li.wei", issued.password, new=PASSWORD)
        page = operator.page
        assert page.inner_text("h1") == "Cold chain now"
        assert "Li Wei" in page.inner_text("form.who")
        assert page.get_attribute(ROOM_TILE, "data-status") == "ok"
        loaded = page.evaluate("performance.timeOrigin")

        _too_warm(hub)
        page.wait_for_selector(f'{ROOM_TILE}[data-status="excursion"]')
        assert "11.5 °C" in page.inner_text(ROOM_TILE)
        announced = page.wait_for_selector("#announcements [data-incident]")
        assert announced is not None
        iid = announced.get_attribute("data-incident")
        assert iid is not None
        page.wait_for_selector(f"{ROOM_TILE} a.bad")  # the tile counts it too
        assert page.evaluate("performance.timeOrigin") == loaded  # all of it live, no reload
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        incident = hub.incidents.get(iid)
        assert incident is not None
        assert incident.lots == (LOT_KEY,)
        _screenshots(browser, hub, artifacts)

        # A forged acknowledgement (a token not this session's) is refused, and takes nothing.
        forged = page.request.post(
            f"{hub.web.url}/console/incidents/{iid}/ack",
            form={"csrf": "forged", "comment": "not me"},
            max_redirects=0,
        )
        assert forged.status == 403
        assert "csrf" in forged.text()
        untouched = hub.incidents.get(iid)
        assert untouched is not None
        assert untouched.state == "open"

        page.click(f'#announcements [data-incident="{iid}"] a')
        page.wait_for_url(f"**/console/incidents/{iid}")
        assert page.locator("#dispose-form").count() == 0  # not an operator's step
        page.fill("#ack-comment", "Compressor 2 tripped; restarted it, door kept shut")
        page.click("#ack-form button")
        page.wait_for_selector('li[data-step="acknowledged"]')
        page.fill("#impact-0", "within the stability budget")
        page.fill("#assess-comment", "short excursion, 11.5 °C")
        page.click("#assess-form button")
        page.wait_for_selector('li[data-step="assessed"]')
        assert "li.wei" in page.inner_text("#timeline")

        # The operator is refused the disposition: its signing page and its POST.
        refused = page.goto(
            f"{hub.web.url}/console/incidents/{iid}/dispose?lot={LOT_KEY}&disposition=release"
        )
        assert refused is not None
        assert refused.status == 403
        assert "li.wei is operator; needs quality" in page.inner_text("#error-detail")
        posted = page.request.post(
            f"{hub.web.url}/console/incidents/{iid}/dispose",
            form={
                "csrf": _csrf_of(page, hub),
                "lot": LOT_KEY,
                "disposition": "release",
                "reason": "looks fine",
                "password": PASSWORD,
            },
            max_redirects=0,
        )
        assert posted.status == 403
        assert _dispositions(hub) == []
        assert operator.script_errors == []
    finally:
        operator.close()

    _dispose_as_quality(browser, hub, iid)


def _csrf_of(page: Page, hub: Hub) -> str:
    page.goto(hub.web.url + "/console")
    token = page.get_attribute("form.who input[name=csrf]", "value")
    assert token
    return token


def _dispose_as_quality(browser: Browser, hub: Hub, iid: str) -> None:
    ready_user(console_accounts(hub.settings, hub.store), "qa.schmidt", "quality")
    quality = Screen(browser, hub.web.url)
    page = quality.page
    meaning = meaning_of("quarantine", demo.GTIN, demo.LOT)
    try:
        quality.login("qa.schmidt", PASSWORD)
        page.goto(f"{hub.web.url}/console/incidents/{iid}")
        page.select_option("#dispose-lot", LOT_KEY)
        page.select_option("#dispose-disposition", "quarantine")
        page.click("#dispose-form button")
        page.wait_for_selector("#meaning")
        assert page.inner_text("#meaning") == meaning
        page.fill("#reason", "hold until the lab has tested it")
        page.fill("#password", "not-my-password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#sign")
        assert answer.value.status == 403
        assert "not the user's password" in page.inner_text("#error-detail")
        after_refusal = hub.incidents.get(iid)
        assert after_refusal is not None
        assert after_refusal.undisposed == (LOT_KEY,)
        assert _dispositions(hub) == []

        page.go_back()
        page.fill("#reason", "hold until the lab has tested it")
        page.fill("#password", PASSWORD)
        page.click("#sign")
        page.wait_for_selector('li[data-step="disposed"]')
        assert f"{LOT_KEY}: Quarantine" in page.inner_text("#lots")
        (entry,) = [e for e in hub.parts.audit.entries() if e.action == "incident.dispose"]
        assert entry.subject.key == iid
        assert entry.lots == (LOT_KEY,)
        assert entry.actor.name == "qa.schmidt"
        assert entry.actor.kind == "user"
        assert entry.reason == "hold until the lab has tested it"
        assert entry.signature is not None
        assert entry.signature.meaning == meaning
        assert (entry.signature.name, entry.signature.role) == ("qa.schmidt", "quality")

        # Logging out ends the session on the server: its cookie, put back, opens nothing.
        session_id = quality.session_id()
        cookie = quality.session_cookie()
        page.goto(hub.web.url + "/console")
        page.click("#logout")
        page.wait_for_url(LOGGED_OUT)
        assert page.locator("p.ok[role=status]").count() == 1
        assert console_accounts(hub.settings, hub.store).session_user(session_id) is None
        quality.context.add_cookies([cookie])
        page.goto(hub.web.url + "/console")
        assert TO_LOGIN.search(page.url), page.url
        assert quality.script_errors == []
    finally:
        quality.close()


def _screenshots(browser: Browser, hub: Hub, artifacts: Path) -> None:
    """The overview as a viewer sees it mid-excursion, phone and desktop, each language."""
    ready_user(console_accounts(hub.settings, hub.store), "vera", "viewer")
    viewer = Screen(browser, hub.web.url, PHONE)
    docs = ROOT / "docs" / "images" if os.environ.get("TRACEHUB_DOCS_SCREENSHOTS") else None
    try:
        viewer.login("vera", PASSWORD)
        page = viewer.page
        for device, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            for lang, title in (("en", "Cold chain now"), ("zh", "冷链实况")):
                page.goto(f"{hub.web.url}/console?lang={'zh-CN' if lang == 'zh' else lang}")
                page.wait_for_selector('[data-stream][data-live="on"]')
                assert page.inner_text("h1") == title
                assert page.get_attribute(ROOM_TILE, "data-status") == "excursion"
                assert page.locator("#active-incidents").count() == 1
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], (device, lang, width)
                shot = artifacts / f"console-{device}-{lang}.png"
                page.screenshot(path=str(shot))
                if docs is not None:
                    shutil.copyfile(shot, docs / shot.name)
        assert viewer.script_errors == []
    finally:
        viewer.close()


def test_forms_without_this_sessions_token_are_refused(browser: Browser, hub: Hub) -> None:
    ready_user(console_accounts(hub.settings, hub.store), "otto", "operator")
    screen = Screen(browser, hub.web.url)
    page = screen.page
    try:
        # The login form's own token: tampered, the login is refused before any check.
        page.goto(hub.web.url + "/console/login")
        page.eval_on_selector("input[name=csrf]", "e => e.value = 'forged'")
        page.fill("#name", "otto")
        page.fill("#password", PASSWORD)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#login")
        assert answer.value.status == 403
        assert page.locator("#login-error").count() == 1
        assert not [c for c in screen.context.cookies() if c["name"] == SESSION_COOKIE]

        screen.login("otto", PASSWORD)
        session_id = screen.session_id()
        for tamper in ("e => e.remove()", "e => e.value = 'forged'"):
            page.goto(hub.web.url + "/console")
            page.eval_on_selector("form.who input[name=csrf]", tamper)
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.click("#logout")
            assert answer.value.status == 403, tamper
            assert "csrf" in page.inner_text("#error-detail")
        accounts = console_accounts(hub.settings, hub.store)
        assert accounts.session_user(session_id) is not None  # neither logged otto out
        page.goto(hub.web.url + "/console")
        page.click("#logout")  # the page's own token
        page.wait_for_url(LOGGED_OUT)
        assert accounts.session_user(session_id) is None
    finally:
        screen.close()


def test_an_idle_session_ends_and_the_live_screen_goes_to_the_login_form(
    browser: Browser, hub: Hub
) -> None:
    """The hub's idle timeout is ``TRACEHUB_CONSOLE_IDLE_MIN`` (5 here, 15 by default):
    the session's last use is moved back in the records rather than waited for."""
    ready_user(console_accounts(hub.settings, hub.store), "ida", "viewer")
    screen = Screen(browser, hub.web.url, DESKTOP)
    page = screen.page
    try:
        screen.login("ida", PASSWORD)
        digest = hashlib.sha256(screen.session_id().encode("ascii")).hexdigest()
        now = datetime.now(UTC)
        hub.store.touch_session(digest, now - timedelta(minutes=IDLE_MIN - 1))
        page.reload()  # used within the timeout: still signed in (and the timer moved on)
        page.wait_for_selector('[data-stream][data-live="on"]')
        assert re.search(r"/console$", page.url), page.url

        hub.store.touch_session(digest, datetime.now(UTC) - timedelta(minutes=IDLE_MIN + 1))
        # Nobody touches the screen: the stream ends with the session, the page reloads
        # itself into the login form.
        page.wait_for_url(TO_LOGIN, timeout=30_000)
        assert page.locator("#name").count() == 1
        assert screen.script_errors == []
    finally:
        screen.close()
