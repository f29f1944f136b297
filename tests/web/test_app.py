"""The consumer pages through Starlette's test client: content, privacy, languages,
Digital Link resolution (redirects, 404s, linksets), the page cache, and the in-page
proof data re-checked in Python. Real SQLite records; the ledger tests anchor on the
embedded EVM."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette

from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, verify_inclusion
from ledger.verify.verifier import Verdict, verify_bundle
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.fake_anchorer import FakeAnchorer
from tests.support.webapp import (
    DOCK_NAME,
    NOW,
    PAGE,
    ROOM_NAME,
    TODAY,
    SteppedSeries,
    add_places,
    capture_journey,
    ledgered,
)
from traceability.anchoring.feeder import AnchoringService
from traceability.capture import CaptureService
from traceability.carbon.lotfootprint import FootprintSummary
from traceability.coldchain.exposure import ExposureService
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def make_client(app: Starlette) -> TestClient:
    from starlette.testclient import TestClient

    return TestClient(app)


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


def proof_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="proof-data">(.*?)</script>', html)
    assert match, "no embedded proof data"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


@pytest.fixture
def with_events(stocked: RecordStore) -> RecordStore:
    add_places(stocked)
    capture_journey(stocked)
    return stocked


def app_for(store: RecordStore, series: SteppedSeries | None = None, **options: Any) -> Starlette:
    exposure = None
    if series is not None:
        exposure = ExposureService(store, series, bucket=timedelta(minutes=10), now=NOW)
    options.setdefault("today", lambda: TODAY)
    options.setdefault("now", lambda: NOW)
    return create_app(store, None, "embedded EVM", exposure=exposure, series=series, **options)


@pytest.fixture
def client(with_events: RecordStore) -> Iterator[TestClient]:
    series = SteppedSeries({DOCK: [3.0, 2.5], COLD_ROOM: [2.0, 2.2, 2.1]})
    with make_client(app_for(with_events, series)) as test_client:
        yield test_client


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


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


class FixedFootprint:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def latest(self, gtin: str, lot: str) -> FootprintSummary | None:
        self.asked.append((gtin, lot))
        return FootprintSummary(
            total_kg=12.5,
            per_unit_kg=1.25,
            per_kg_kg=0.5,
            units=10,
            by_kind=(("leg", 10.0), ("cold_storage", 2.5)),
            standard="ISO 14083:2023; GLEC Framework v3.0",
        )


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


def test_records_anchored_lot_shows_chain_and_proofs_that_verify(
    with_events: RecordStore,
) -> None:
    summary = AnchoringService(with_events, FakeAnchorer()).anchor_pending()
    assert summary is not None
    with make_client(app_for(with_events)) as client:
        html = client.get(PAGE).text
    assert text_of(html, "anchor-status") == "All 2 events anchored on embedded EVM."
    assert text_of(html, "chain") == "embedded EVM (chain id 1337)"
    assert text_of(html, "block") == str(summary.block_number)
    assert text_of(html, "tx") == summary.tx_hash
    assert text_of(html, "root") == summary.root.hex()
    data = proof_data(html)
    assert len(data["items"]) == 2
    for item in data["items"]:
        assert item["entry"] is None  # records path: the leaf as recorded
        assert item["root"] == summary.root.hex()
        assert verify_inclusion(
            bytes.fromhex(item["leaf"]),
            item["index"],
            item["size"],
            [bytes.fromhex(p) for p in item["proof"]],
            summary.root,
        )
    assert 'id="bundle-link"' not in html  # no ledger: no bundle to offer


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
    report = verify_bundle(download.json(), setup.reader)
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


def test_linkset_for_link_type_all(client: TestClient) -> None:
    response = client.get(PAGE + "?linkType=all")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/linkset+json")
    body = response.json()
    (context,) = body["linkset"]
    assert context["anchor"] == f"http://testserver{PAGE}"
    pip = context["https://gs1.org/voc/pip"]
    assert pip[0]["href"] == f"http://testserver{PAGE}"
    assert pip[0]["hreflang"] == ["en", "zh-CN"]
    assert context["https://gs1.org/voc/defaultLink"][0]["href"] == pip[0]["href"]
    assert "https://gs1.org/voc/traceability" not in context  # nothing anchored, no ledger
    by_accept = client.get(PAGE, headers={"Accept": "application/linkset+json"})
    assert by_accept.json() == body
    link_header = client.get(PAGE).headers["link"]
    assert f"<{PAGE}?linkType=all>" in link_header
    assert 'rel="linkset"' in link_header


@pytest.mark.integration
def test_link_type_traceability_redirects_to_the_bundle(
    with_events: RecordStore, tmp_path: Path
) -> None:
    setup = ledgered(with_events, tmp_path / "records.db")
    with make_client(app_for(with_events, evidence=setup.evidence)) as client:
        links = client.get(PAGE + "?linkType=all").json()["linkset"][0]
        assert links["https://gs1.org/voc/traceability"][0]["href"] == (
            f"http://testserver/evidence/{GTIN}/L1"
        )
        response = client.get(PAGE + "?linkType=gs1:traceability", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == f"http://testserver/evidence/{GTIN}/L1"
        # an unknown link type falls back to the default link: the page itself
        assert client.get(PAGE + "?linkType=gs1:nothing").status_code == 200
    with make_client(
        app_for(with_events, evidence=setup.evidence, evidence_public=False)
    ) as client:
        html = client.get(PAGE).text
        assert 'id="bundle-link"' not in html
        assert client.get(f"/evidence/{GTIN}/L1").status_code == 404


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


def test_pages_are_cached_until_the_lot_changes(with_events: RecordStore) -> None:
    series = SteppedSeries({DOCK: [3.0], COLD_ROOM: [2.0]})
    app = app_for(with_events, series)
    with make_client(app) as client:
        first = client.get(PAGE)
        calls = series.calls
        again = client.get(PAGE)
        assert series.calls == calls  # served from the cache: no exposure, no series
        assert again.content == first.content
        etag = first.headers["etag"]
        assert client.get(PAGE, headers={"If-None-Match": etag}).status_code == 304
        zipped = client.get(PAGE, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == first.content  # the client unzips it
        document = {
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-22T11:00:00Z",
            "epcisBody": {"eventList": [object_event(serial="1003", time="2026-11-22T11:00:00Z")]},
        }
        captured = client.post("/epcis/capture", json=document)
        assert captured.status_code == 201, captured.text
        after = client.get(PAGE)
        assert series.calls > calls  # the capture dropped the lot's cached pages
        assert text_of(after.text, "anchor-status") == "3 of 3 events not yet anchored."
    assert app.state.pages.builds >= 2


def test_gzip_body_is_the_page(client: TestClient) -> None:
    page = client.app.state.pages  # type: ignore[attr-defined]
    client.get(PAGE)
    (entry,) = [v for v in page._entries.values()]
    cached = entry[2]
    assert cached.gzipped is not None
    assert gzip.decompress(cached.gzipped) == cached.body


def test_assets_are_served_locally(client: TestClient) -> None:
    html = client.get(PAGE).text
    assert 'href="/static/tracehub.css"' in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # no CDN, no remote asset
    css = client.get("/static/tracehub.css")
    js = client.get("/static/verify.js")
    assert css.status_code == js.status_code == 200
    assert "http" not in css.text
    assert "fetch(" not in js.text  # no server call
    assert "XMLHttpRequest" not in js.text


def test_script_data_cannot_break_out_of_its_tag(with_events: RecordStore) -> None:
    from web.app import _script_json

    assert "</script>" not in str(_script_json({"a": "</script><b>"}))
    assert json.loads(str(_script_json({"a": "</script>&"}))) == {"a": "</script>&"}


def test_stale_pages_are_rebuilt_after_the_ttl(with_events: RecordStore) -> None:
    from web.pagecache import PageCache

    ticks = [0.0]
    series = SteppedSeries({DOCK: [3.0]})
    app = app_for(with_events, series, cache=PageCache(ttl_s=30, clock=lambda: ticks[0]))
    with make_client(app) as client:
        client.get(PAGE)
        calls = series.calls
        ticks[0] = 29.0
        client.get(PAGE)
        assert series.calls == calls
        ticks[0] = 31.0
        client.get(PAGE)
        assert series.calls > calls


def test_now_is_utc() -> None:
    assert NOW.tzinfo is UTC
