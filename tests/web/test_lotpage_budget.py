"""The stability budget on the lot page, the product page and the API: what the lot's
journey left per step, in both languages; unmonitored time shown, never judged; the
expiry derived from the shelf life. Real SQLite records, the in-memory series of
``tests.support.webapp`` (one reading per 10 min; a reading holds at most 15 min)."""

from __future__ import annotations

import html as markup
import re
from datetime import date

import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN
from tests.support.webapp import PAGE, SteppedSeries, app_for, bearer, make_client
from tests.support.webapp import text_of as raw_text_of
from traceability.records.store import RecordStore

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def text_of(html: str, element_id: str) -> str:
    return markup.unescape(raw_text_of(html, element_id))


def steps_of(html: str) -> list[str]:
    found = re.search(r'<ul id="budget-steps">(.*?)</ul>', html, re.S)
    assert found, "no budget steps"
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [markup.unescape(" ".join(re.sub(r"<[^>]+>", " ", li).split())) for li in items]


def page(store: RecordStore, series: SteppedSeries, lang: str = "en") -> str:
    with make_client(app_for(store, series)) as client:
        return str(client.get(PAGE, params={"lang": lang}).text)


def test_the_page_shows_what_the_journey_left_of_each_step(with_events: RecordStore) -> None:
    # Band 0–4 °C. At the dock 10 min at 9 °C (≤ 12 °C step: 10 of 30 spent) and, in the
    # cold room, 10 min at -1 °C (below step down to -3 °C: 10 of 15 spent).
    with_events.update_product(GTIN, stability_budget="above:12:30;above:20:5;below:-3:15")
    series = SteppedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0, -1.0, 2.0]})
    html = page(with_events, series)
    assert text_of(html, "lot-status") == "Within tolerance"
    assert "within the product's stability budget" in text_of(html, "cold-words")
    assert steps_of(html) == [
        "above the range, up to 12.0 °C: 20 of 30 min left",
        "above the range, up to 20.0 °C: 5 of 5 min left",
        "below the range, down to -3.0 °C: 5 of 15 min left",
    ]
    assert 'id="budget-beyond"' not in html
    chinese = page(with_events, series, "zh-CN")
    assert steps_of(chinese)[0] == "高于范围，最高 12.0 °C: 剩余 20 分钟（共 30 分钟）"


def test_a_step_overrun_and_time_beyond_every_step_break_the_cold_chain(
    with_events: RecordStore,
) -> None:
    # 20 min at 9 °C against 15 allowed up to 12 °C; the 25 °C reading, the dock's last,
    # holds 15 min (the longest a reading holds) at a temperature no step allows.
    with_events.update_product(GTIN, stability_budget="above:12:15")
    series = SteppedSeries({DOCK: [9.0, 9.0, 25.0], COLD_ROOM: [2.0]})
    html = page(with_events, series)
    assert text_of(html, "lot-status") == "Broken"
    assert steps_of(html) == [
        "above the range, up to 12.0 °C: 20 min spent, 15 min allowed: used up"
    ]
    assert text_of(html, "budget-beyond") == (
        "15 min at a temperature the product's stability data do not allow at all."
    )


def test_without_a_budget_the_page_shows_no_steps(with_events: RecordStore) -> None:
    html = page(with_events, SteppedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0]}))
    assert text_of(html, "lot-status") == "Broken"  # no budget: no time allowed
    assert 'id="budget"' not in html


def test_unmonitored_minutes_are_shown_and_do_not_change_the_verdict(
    with_events: RecordStore,
) -> None:
    # Unit 1001 at the dock 09:00–12:00, 1002 in the cold room 10:00–12:00; three readings
    # each from the stay's start: 35 min covered (the last holds 15 min), 145 + 85 not.
    series = SteppedSeries({DOCK: [3.0, 3.0, 3.0], COLD_ROOM: [2.0, 2.0, 2.0]})
    html = page(with_events, series)
    assert text_of(html, "lot-status") == "Held"
    assert text_of(html, "unmonitored") == "230 min without readings: not judged."
    chinese = page(with_events, series, "zh-CN")
    assert text_of(chinese, "unmonitored") == "230 分钟没有读数：未纳入判定。"


def test_the_api_exposure_carries_the_budget_per_step(with_events: RecordStore) -> None:
    with_events.update_product(GTIN, stability_budget="above:12:30")
    series = SteppedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0]})
    with make_client(app_for(with_events, series), bearer(with_events, "read")) as client:
        body = client.get(f"/lots/{GTIN}/L1/exposure").json()
    assert body["status"] == "at_risk"
    assert body["reasons"] == ["10 min at ≤ 12 °C of 30 allowed"]
    budget = body["budget"]
    assert budget["steps"] == [
        {"step": {"side": "above", "limit_c": 12.0, "minutes": 30.0}, "used_min": 10.0,
         "left_min": 20.0}
    ]  # fmt: skip
    assert (budget["left_min"], budget["beyond_min"], budget["exhausted"]) == (20.0, 0.0, False)


def test_the_product_page_lists_the_steps(with_events: RecordStore) -> None:
    with_events.update_product(GTIN, stability_budget="above:12:30;below:-3:15")
    with make_client(app_for(with_events)) as client:
        html = client.get(f"/01/{GTIN}").text
    assert text_of(html, "stability-budget") == (
        "above the range, up to 12.0 °C: 30 min; below the range, down to -3.0 °C: 15 min"
    )


def test_a_lot_without_an_expiry_is_dated_by_its_shelf_life(with_events: RecordStore) -> None:
    with_events.update_product(GTIN, shelf_life_days=10)
    with_events.update_lot(GTIN, "L1", expiry=None, production_date=date(2026, 11, 1))
    html = page(with_events, SteppedSeries({DOCK: [3.0], COLD_ROOM: [2.0]}))
    assert text_of(html, "expiry-date") == (
        "2026-11-11 (by its shelf life from the production date)"
    )
    assert text_of(html, "expiry") == "2026-11-11"
