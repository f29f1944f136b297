"""The console's lot pages over FakeGate and a real SQLite records store: lots per place
in FEFO order with their budget left, the expiring list, and the recall search for a
seeded journey, in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette

from tests.support.consolegate import FakeGate
from tests.support.consolehtml import rows, section, strip
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.webapp import NOW, TODAY, SteppedSeries, add_places, capture_journey
from traceability.capture import CaptureService
from traceability.coldchain.exposure import ExposureService
from traceability.records.store import RecordStore
from web.console.lots import lot_routes
from web.console.render import ConsoleRenderer
from web.problem import Problem, handle_problem

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
GTIN2 = "04012345222227"  # = urn:epc:id:sgtin:4012345.022222.*
VIEWER = {"X-Test-User": "vera:viewer"}
ROOM = "Cold room 2, Hamburg"
DOCK_NAME = "Dock door 1, Hamburg cold store"


def sgtin2(serial: str) -> list[str]:
    return [f"urn:epc:id:sgtin:4012345.022222.{serial}"]


@pytest.fixture
def records(stocked: RecordStore) -> RecordStore:
    """L1 (no budget, expiry 2026-12-05): 1001 at the dock 09:00, 1002 in the cold room
    10:00. L2 (60 min budget, expiry 2026-11-25): 2001 and 2002 in the cold room 10:00,
    2003 at the dock 11:00. L3 (expired 2026-11-20): at the dock 08:00, shipped 08:30."""
    add_places(stocked)
    capture_journey(stocked)
    stocked.add_product(
        GTIN2, "Chilled cod 300 g", temp_min_c=0.0, temp_max_c=4.0, excursion_budget_min=60
    )
    stocked.add_lot(GTIN2, "L2", expiry=date(2026, 11, 25), serials=range(2001, 2004))
    stocked.add_lot(GTIN2, "L3", expiry=date(2026, 11, 20), serials=[3001])
    capture = CaptureService(stocked)
    for event in (
        object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM, epcList=sgtin2("2001")),
        object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM, epcList=sgtin2("2002")),
        object_event(time="2026-11-22T11:00:00Z", read_point=DOCK, epcList=sgtin2("2003")),
        object_event(time="2026-11-22T08:00:00Z", read_point=DOCK, epcList=sgtin2("3001")),
        object_event(
            time="2026-11-22T08:30:00Z", read_point=DOCK, bizStep="shipping", epcList=sgtin2("3001")
        ),
    ):
        capture.capture(event)
    return stocked


def client_for(
    store: RecordStore, exposure: ExposureService | None = None, **options: Any
) -> TestClient:
    from starlette.testclient import TestClient

    routes = lot_routes(
        FakeGate(),
        ConsoleRenderer(),
        store,
        exposure=exposure,
        today=lambda: TODAY,
        now=lambda: NOW,
        **options,
    )
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    return TestClient(app, headers=VIEWER, follow_redirects=False)


@pytest.fixture
def client(records: RecordStore) -> Iterator[TestClient]:
    series = SteppedSeries({COLD_ROOM: [2.0, 5.0, 2.1], DOCK: [3.0]})
    with client_for(records, ExposureService(records, series, now=NOW)) as test_client:
        yield test_client


def places(html: str) -> dict[str, list[list[str]]]:
    found = re.findall(r'<table data-place="([^"]+)">(.*?)</table>', html, re.S)
    return {urn: rows(table) for urn, table in found}


def test_lots_per_place_now_in_fefo_order_with_the_budget_left(client: TestClient) -> None:
    response = client.get("/console/lots")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    # Places by name; at each, first expiry first; a split lot is listed where each unit is.
    assert places(response.text) == {
        COLD_ROOM: [
            ["Chilled cod 300 g", "L2 report", "expires in 3 d 2026-11-25", "2", "50 min (83 %)"],
            ["Chilled salmon 200 g", "L1 report", "13 d left 2026-12-05", "1", "no budget"],
        ],
        DOCK: [
            ["Chilled cod 300 g", "L2 report", "expires in 3 d 2026-11-25", "1", "50 min (83 %)"],
            ["Chilled salmon 200 g", "L1 report", "13 d left 2026-12-05", "1", "no budget"],
        ],
    }
    assert list(places(response.text)) == [COLD_ROOM, DOCK]  # "Cold room …" < "Dock …"
    assert f'<a href="/01/{GTIN2}/10/L2">L2</a>' in response.text
    assert f'<a href="/01/{GTIN}/10/L1">L1</a>' in response.text
    assert 'id="budgets-off"' not in response.text


def test_expired_and_near_expiry_lots_first_expiry_first(client: TestClient) -> None:
    expiring = section(client.get("/console/lots").text, "expiring")
    assert "Expired and expiring within 7 days" in expiring
    assert rows(expiring) == [
        ["Chilled cod 300 g", "L3", "expired 2026-11-20", "in transit or shipped"],
        ["Chilled cod 300 g", "L2", "expires in 3 d 2026-11-25", f"{ROOM}; {DOCK_NAME}"],
    ]


def test_without_an_exposure_port_the_budget_is_not_computed(records: RecordStore) -> None:
    with client_for(records) as client:
        html = client.get("/console/lots").text
    assert "Stability budgets are not computed" in html
    budgets = {row[-1] for rows_ in places(html).values() for row in rows_}
    assert budgets == {"not computed"}


def test_telemetry_down_says_unavailable_per_lot(records: RecordStore) -> None:
    series = SteppedSeries({}, down=True)
    with client_for(records, ExposureService(records, series, now=NOW)) as client:
        html = client.get("/console/lots").text
    budgets = {row[-1] for rows_ in places(html).values() for row in rows_}
    # L1's product has no budget, but its exposure is still asked (and fails) first.
    assert budgets == {"telemetry unavailable"}


def test_recall_search_names_the_lots_of_the_seeded_journey(client: TestClient) -> None:
    found = client.get(
        "/console/recall",
        params={"place": COLD_ROOM, "from": "2026-11-22T09:30", "to": "2026-11-22T10:30"},
    )
    assert found.status_code == 200
    result = section(found.text, "recall-result")
    assert strip(result).startswith(
        f"2 lot(s) were in {ROOM} between 2026-11-22 09:30 UTC and 2026-11-22 10:30 UTC."
    )
    assert rows(result) == [
        [
            "Chilled salmon 200 g",
            "L1",
            "2026-11-22 10:00 UTC – still there",
            f"{DOCK_NAME}; {ROOM}",
        ],
        ["Chilled cod 300 g", "L2", "2026-11-22 10:00 UTC – still there", f"{ROOM}; {DOCK_NAME}"],
    ]
    assert f'<option value="{COLD_ROOM}" selected>' in found.text


def test_recall_of_a_shipped_lot_and_of_an_empty_window(client: TestClient) -> None:
    shipped = client.get(
        "/console/recall",
        params={"place": DOCK, "from": "2026-11-22T08:00Z", "to": "2026-11-22T08:15+00:00"},
    )
    assert rows(section(shipped.text, "recall-result")) == [
        [
            "Chilled cod 300 g",
            "L3",
            "2026-11-22 08:00 UTC – 2026-11-22 08:30 UTC",
            "in transit or shipped",
        ]
    ]
    empty = client.get(
        "/console/recall",
        params={"place": COLD_ROOM, "from": "2026-11-22T09:00", "to": "2026-11-22T09:30"},
    )
    assert strip(section(empty.text, "recall-result")) == (
        f"No lot was in {ROOM} between 2026-11-22 09:00 UTC and 2026-11-22 09:30 UTC."
    )


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"place": "urn:epc:id:sgln:9.9.9", "from": "2026-11-22T09:00", "to": "2026-11-22T10:00"},
         "place", "Choose a place from the list."),
        ({"place": DOCK, "from": "yesterday", "to": "2026-11-22T10:00"},
         "from", "Give a date and time"),
        ({"place": DOCK, "from": "2026-11-22T10:00", "to": "2026-11-22T09:00"},
         "to", "The end of the period is before its start."),
    ],
)  # fmt: skip
def test_a_bad_recall_field_is_named(
    client: TestClient, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/console/recall", params=params)
    assert response.status_code == 400
    error = re.search(
        r'<p class="error" id="recall-error" data-field="(\w+)">(.*?)</p>', response.text, re.S
    )
    assert error is not None
    assert error.group(1) == field
    assert strip(error.group(2)).startswith(message)
    assert 'id="recall-result"' not in response.text


def test_the_form_alone_proposes_the_last_day(client: TestClient) -> None:
    response = client.get("/console/recall")
    assert response.status_code == 200
    assert 'name="from" value="2026-11-21T12:00"' in response.text
    assert 'name="to" value="2026-11-22T12:00"' in response.text
    assert 'id="recall-result"' not in response.text
    assert f'<option value="{COLD_ROOM}">{ROOM}</option>' in response.text


def test_both_languages_render(client: TestClient) -> None:
    chinese = client.get("/console/lots", params={"lang": "zh-CN"})
    assert '<html lang="zh-CN">' in chinese.text
    assert "各地点当前批次" in chinese.text
    assert "3 天后过期" in chinese.text
    recall = client.get(
        "/console/recall",
        params={
            "lang": "zh-CN",
            "place": DOCK,
            "from": "2026-11-22T08:00",
            "to": "2026-11-22T08:15",
        },
    )
    assert "召回查询" in recall.text
    assert "在途或已发货" in recall.text


def test_a_page_needs_a_session(records: RecordStore) -> None:
    with client_for(records) as client:
        for path in ("/console/lots", "/console/recall"):
            response = client.get(path, headers={"X-Test-User": ""})
            assert response.status_code == 303
            assert response.headers["location"] == "/console/login"


def test_budgets_are_computed_for_at_most_max_budgets_lots_a_page(records: RecordStore) -> None:
    series = SteppedSeries({COLD_ROOM: [2.0, 5.0, 2.1], DOCK: [3.0]})
    exposure = ExposureService(records, series, now=NOW)
    with client_for(records, exposure, max_budgets=1) as client:
        html = client.get("/console/lots").text
    # L2 expires first: its budget is computed; L1's is not (one exposure a page here)
    budgets = {row[1].split()[0]: row[-1] for rows_ in places(html).values() for row in rows_}
    assert budgets == {"L2": "50 min (83 %)", "L1": "not computed"}
