"""The consumer pages through Starlette's test client (``web.pages``): content, privacy,
languages, Digital Link resolution (redirects, 404s), and the in-page proof data
re-checked in Python. Real SQLite records; the ledger tests anchor on the embedded EVM."""

from __future__ import annotations

import json
import re
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, verify_inclusion
from ledger.verify.trust import from_keys
from ledger.verify.verifier import Verdict, verify_bundle
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.webapp import (
    DOCK_NAME,
    NOW,
    PAGE,
    ROOM_NAME,
    FixedFootprint,
    SteppedSeries,
    app_for,
    capture_journey,
    ledgered,
    make_client,
    proof_data,
    text_of,
)
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient


# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def test_lot_page_shows_product_lot_journey_and_cold_chain(client: TestClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert text_of(html, "product-name") == "Chilled salmon 200 g"
    assert text_of(html, "gtin") == GTIN
    assert text_of(html, "lot") == "L1"
    assert text_of(html, "expiry") == "2026-12-05"
    assert text_of(html, "origin") == "NO"
    assert text_of(html, "band") == "0.0 °C – 4.0 °C"
    places = re.findall(r'<strong class="place">(.*?)</strong>', html)
    assert places == [DOCK_NAME, ROOM_NAME]  # in journey order
    assert text_of(html, "lot-status") == "Held"
    assert text_of(html, "range") == "2.0 °C – 3.0 °C"
    assert text_of(html, "excursions") == "0, 0 min out of range"
    assert "the lot stayed within 0.0 °C – 4.0 °C" in text_of(html, "cold-words")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert text_of(html, "anchor-status") == "2 of 2 events not yet anchored."
    assert text_of(html, "carbon-total") == "Not computed yet."


def test_consumer_page_keeps_urns_devices_and_raw_readings_out(client: TestClient) -> None:
    html = client.get(PAGE).text
    for secret in (DOCK, COLD_ROOM, "urn:epc", "sgln", "probe-"):
        assert secret not in html, secret
    # the raw readings 2.5 / 2.2 / 2.1 are not shown; min/max aggregates are
    for raw in ("2.5 °C", "2.2 °C", "2.1 °C"):
        assert raw not in html


def test_unnamed_places_are_a_generic_warehouse_location(stocked: RecordStore) -> None:
    capture_journey(stocked)  # no locations registered
    with make_client(app_for(stocked)) as client:
        html = client.get(PAGE).text
    assert re.findall(r'<strong class="place">(.*?)</strong>', html) == [
        "Warehouse location",
        "Warehouse location",
    ]
    assert DOCK not in html


def test_broken_cold_chain_in_plain_words_with_chart_marks(with_events: RecordStore) -> None:
    # The dock stay has one 10-minute bucket at 9 °C (band 0–4, no budget): broken.
    series = SteppedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0]})
    with make_client(app_for(with_events, series)) as client:
        html = client.get(PAGE).text
    assert text_of(html, "lot-status") == "Broken"
    assert text_of(html, "excursions") == "1, 10 min out of range"
    assert "The cold chain was broken: 10 min outside the allowed range" in text_of(
        html, "cold-words"
    )
    assert text_of(html, "range") == "2.0 °C – 9.0 °C"
    assert text_of(html, "excursion-list").startswith(f"{DOCK_NAME}: 2026-11-22 09:10 UTC, 10 min")
    assert html.count('class="excursion"') == 1
    assert 'class="band"' in html
    assert text_of(html, "mkt").endswith("°C")


def test_page_renders_when_telemetry_is_down(with_events: RecordStore) -> None:
    with make_client(app_for(with_events, SteppedSeries({}, down=True))) as client:
        response = client.get(PAGE)
    assert response.status_code == 200
    assert text_of(response.text, "lot-status") == "Record unavailable"
    assert "<svg" not in response.text
    assert text_of(response.text, "anchor-status")  # the rest of the page is there


def test_lot_without_readings_says_so(with_events: RecordStore) -> None:
    with make_client(app_for(with_events, SteppedSeries({}))) as client:
        html = client.get(PAGE).text
    assert text_of(html, "lot-status") == "No record yet"
    assert text_of(html, "cold-words") == "No temperature record for this lot yet."


@pytest.mark.parametrize(
    ("today", "warning"),
    [
        (date(2026, 11, 1), None),
        (date(2026, 11, 30), "Use soon: this lot expires on 2026-12-05 (in 5 days)."),
        (date(2026, 12, 6), "This lot expired on 2026-12-05. Do not use it."),
    ],
)
def test_expiry_warning(with_events: RecordStore, today: date, warning: str | None) -> None:
    app = app_for(with_events, near_expiry_days=7, today=lambda: today)
    with make_client(app) as client:
        html = client.get(PAGE).text
    if warning is None:
        assert 'id="expiry-warning"' not in html
    else:
        assert text_of(html, "expiry-warning") == warning


def test_recall_notice(with_events: RecordStore) -> None:
    CaptureService(with_events).capture(
        object_event(serial="1003", time="2026-11-22T11:00:00Z", disposition="recalled")
    )
    with make_client(app_for(with_events)) as client:
        html = client.get(PAGE).text
    assert "This lot was recalled on 2026-11-22" in text_of(html, "recall")
    with make_client(app_for(with_events)) as client:
        other = client.get(PAGE + "?lang=zh-CN").text
    assert "召回通知" in other


def test_carbon_footprint_with_breakdown(with_events: RecordStore) -> None:
    source = FixedFootprint()
    with make_client(app_for(with_events, footprint=source)) as client:
        html = client.get(PAGE).text
    assert source.asked == [(GTIN, "L1")]
    assert text_of(html, "carbon-total") == (
        "1.250 kg CO₂e per unit · 12.5 kg for the lot of 10 units"
    )
    rows = re.findall(
        r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td><td class=\"num\">(.*?)</td>", html
    )
    assert rows == [("Transport", "10.00 kg", "80%"), ("Cold storage", "2.50 kg", "20%")]


@pytest.mark.integration
def test_a_mirrored_anchor_without_the_ledger_proves_nothing_on_the_page(
    with_events: RecordStore, tmp_path: Path
) -> None:
    """The batch columns on the records are a cache: only the ledger's bundle is proof."""
    setup = ledgered(with_events, tmp_path / "ledger.db")  # real feeder + worker, mirrored
    assert {e.batch_id for e in with_events.events_for_lot(GTIN, "L1")} != {None}
    with make_client(app_for(with_events)) as client:
        html = client.get(PAGE).text
    assert text_of(html, "anchor-status") == "2 of 2 events not yet anchored."
    assert 'id="proof-data"' not in html  # nothing for the browser to check
    assert 'id="bundle-link"' not in html  # no evidence source: no bundle to offer
    setup.ledger.close()


@pytest.mark.integration
def test_ledger_anchored_lot_embeds_entries_and_serves_a_bundle_that_verifies(
    with_events: RecordStore, tmp_path: Path
) -> None:
    setup = ledgered(with_events, tmp_path / "records.db")
    with make_client(app_for(with_events, evidence=setup.evidence)) as client:
        html = client.get(PAGE).text
        data = proof_data(html)
        roots = set(re.findall(r'class="root-hex">([0-9a-f]{64})<', html))
        assert text_of(html, "anchor-status") == "All 2 events anchored on embedded EVM."
        assert len(data["items"]) == 2
        for item in data["items"]:
            # what verify.js does: RFC 8785 entry → RFC 6962 leaf → audit path → shown root
            leaf = leaf_hash(canonicalize(item["entry"]))
            assert leaf.hex() == item["leaf"]
            assert item["root"] in roots
            assert verify_inclusion(
                leaf,
                item["index"],
                item["size"],
                [bytes.fromhex(p) for p in item["proof"]],
                bytes.fromhex(item["root"]),
            )
            assert "urn:epc" not in json.dumps(item["entry"])
        link = re.search(r'id="bundle-link" href="([^"]+)"', html)
        assert link is not None
        download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    # Judged by the site's keys (what its trust document publishes), not the bundle's own.
    trust = from_keys(setup.ledger.public_keys(), "the test site's keys")
    report = verify_bundle(download.json(), setup.reader, trust)
    assert report.verdict == Verdict.VERIFIED, [c for c in report.checks if not c.ok]


def test_short_gtin_redirects_to_the_14_digit_path(client: TestClient) -> None:
    response = client.get("/01/4012345111118/10/L1?lang=zh-CN", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == PAGE + "?lang=zh-CN"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (f"/01/{GTIN}?10=L1", PAGE),
        (f"/01/{GTIN}?10=L1&21=1001", PAGE + "/21/1001"),
        (f"/01/{GTIN}/21/1001?10=L1", PAGE + "/21/1001"),
        (f"/gtin/{GTIN}/lot/L1", PAGE),
        (f"/01/{GTIN}/21/1002", PAGE + "/21/1002"),  # the records know the unit's lot
    ],
)
def test_non_canonical_forms_redirect(client: TestClient, path: str, target: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == target


def test_unit_page_names_the_unit_and_where_it_is(client: TestClient) -> None:
    html = client.get(PAGE + "/21/1002").text
    assert text_of(html, "serial") == "1002"
    assert text_of(html, "unit-place") == ROOM_NAME


def test_product_page(client: TestClient) -> None:
    response = client.get(f"/01/{GTIN}")
    assert response.status_code == 200
    assert text_of(response.text, "product-name") == "Chilled salmon 200 g"
    assert text_of(response.text, "band") == "0.0 °C – 4.0 °C"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/01/04012345111119/10/L1", "GTIN 04012345111119: check digit should be 8"),
        ("/01/123/10/L1", "GTIN 123: has 3 digits"),
        (f"/01/{GTIN}/10/L%231", "lot L#1: contains '#'"),
        (f"/01/{GTIN}/10/L9", f"lot L9 of {GTIN} is not registered here"),
        ("/01/04006381333931/10/L1", "product 04006381333931 is not registered here"),
        (f"/01/{GTIN}/10/L1/21/9999", "unit 9999 is not registered in lot L1"),
        (f"/01/{GTIN}/21/9999", f"unit 9999 of product {GTIN} is not registered here"),
        ("/01/x", "GTIN x"),
    ],
)
def test_helpful_404s(client: TestClient, path: str, problem: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert problem in text_of(response.text, "problem").replace("&#39;", "'")
    assert "/01/&lt;GTIN&gt;/10/&lt;lot&gt;" in response.text  # what a code looks like


def test_404_for_a_known_product_names_it(client: TestClient) -> None:
    response = client.get(f"/01/{GTIN}/10/L9")
    assert "The product is known (Chilled salmon 200 g)" in text_of(response.text, "hint")


def test_404_in_chinese(client: TestClient) -> None:
    response = client.get(f"/01/{GTIN}/10/L9", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 404
    assert text_of(response.text, "problem") == f"产品 {GTIN} 的批次 L9 未在此登记"


@pytest.mark.parametrize(
    ("headers", "query", "lang", "word"),
    [
        ({}, "", "en", "Journey"),
        ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "", "zh-CN", "流转路径"),
        ({"Accept-Language": "zh-TW"}, "", "zh-CN", "流转路径"),
        ({"Accept-Language": "de-DE,en;q=0.5"}, "", "en", "Journey"),
        ({"Accept-Language": "zh-CN"}, "?lang=en", "en", "Journey"),
        ({}, "?lang=zh-CN", "zh-CN", "流转路径"),
    ],
)
def test_language_from_accept_language_or_the_switch(
    client: TestClient, headers: dict[str, str], query: str, lang: str, word: str
) -> None:
    html = client.get(PAGE + query, headers=headers).text
    assert f'<html lang="{lang}">' in html
    assert f"<h2>{word}</h2>" in html
    other = "zh-CN" if lang == "en" else "en"
    assert f'href="?lang={other}"' in html  # the switch


def test_now_is_utc() -> None:
    assert NOW.tzinfo is UTC


@pytest.mark.integration
def test_the_downloaded_bundle_carries_the_page_claims_and_they_recompute(
    with_events: RecordStore, tmp_path: Path
) -> None:
    """What people download says what the page states; the page's own view needs no copy."""
    from functools import partial

    from ledger.verify.report import Outcome
    from traceability.anchoring.claimcheck import claim_checks
    from traceability.anchoring.claims import PageClaims
    from traceability.anchoring.proofs import LedgerEvidence

    setup = ledgered(with_events, tmp_path / "records.db")
    evidence = LedgerEvidence(
        with_events,
        setup.ledger,
        claims=partial(PageClaims, with_events, None, None),
    )
    assert "claims" not in (evidence.bundle(GTIN, "L1") or {})
    with make_client(app_for(with_events, evidence=evidence)) as client:
        html = client.get(PAGE).text
        link = re.search(r'id="bundle-link" href="([^"]+)"', html)
        assert link
        bundle = client.get(link.group(1)).json()
    assert bundle["claims"]["format"] == "tracehub.lot-claims/1"
    checks = claim_checks(bundle)
    assert checks
    assert not [c for c in checks if c.outcome is Outcome.FAIL], checks
    setup.ledger.close()


class DayBuckets(SteppedSeries):
    """A quiet series: InfluxDB's coarse level gives one day-wide bucket per stay."""

    def buckets(self, location, start, end, low, high, width):  # type: ignore[no-untyped-def]
        from datetime import datetime, timedelta

        from traceability.coldchain.exposure import Bucket

        midnight = datetime(start.year, start.month, start.day, tzinfo=start.tzinfo)
        return [
            Bucket(start=midnight, width=timedelta(days=1), count=60, mean_c=3.0, min_c=2.9,
                   max_c=3.1, out_of_range=0)
        ]  # fmt: skip


def test_the_chart_draws_a_coarse_bucket_over_the_stay_only(with_events: RecordStore) -> None:
    with make_client(app_for(with_events, DayBuckets({DOCK: [3.0], COLD_ROOM: [3.0]}))) as client:
        html = client.get(PAGE).text
    ticks = re.findall(r'class="tick"[^>]*>(\d\d-\d\d)<', html)
    # The stays are on 22 Nov: a day-wide bucket must not run the axis to 23 Nov.
    assert ticks == ["11-22", "11-22"], ticks
