from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette

from traceability.anchoring import AnchoringService
from traceability.capture import CaptureService
from traceability.errors import TelemetryUnavailable
from traceability.exposure import Bucket, ExposureService
from traceability.records import RecordStore
from traceability.telemetry import InfluxTemperatureReader, TemperaturePoint
from traceability.web import create_app

from .events import COLD_ROOM, DOCK, GTIN, object_event
from .fake_anchorer import FakeAnchorer

if TYPE_CHECKING:
    from starlette.testclient import TestClient

# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code. Imported lazily so this
# narrow filter applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

PAGE = f"/01/{GTIN}/10/L1"


def make_client(app: Starlette) -> TestClient:
    from starlette.testclient import TestClient

    return TestClient(app)


class FixedReader:
    """An in-memory TemperatureReader: readings per location, or down."""

    def __init__(self, readings: dict[str, TemperaturePoint], down: bool = False) -> None:
        self.readings = readings
        self.down = down
        self.asked: list[str] = []

    def latest(self, location: str) -> TemperaturePoint | None:
        self.asked.append(location)
        if self.down:
            raise TelemetryUnavailable("InfluxDB did not answer (test)")
        return self.readings.get(location)


def reading(celsius: float) -> TemperaturePoint:
    return TemperaturePoint(time=datetime(2026, 11, 22, 10, 5, tzinfo=UTC), celsius=celsius)


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.fixture
def with_events(stocked: RecordStore) -> RecordStore:
    capture = CaptureService(stocked)
    capture.capture(object_event(serial="1001", time="2026-11-22T09:00:00Z"))
    capture.capture(object_event(serial="1002", time="2026-11-22T10:00:00Z", read_point=COLD_ROOM))
    return stocked


@pytest.fixture
def reader() -> FixedReader:
    return FixedReader({COLD_ROOM: reading(3.2)})


@pytest.fixture
def client(with_events: RecordStore, reader: FixedReader) -> Iterator[TestClient]:
    with make_client(create_app(with_events, reader, "embedded EVM")) as test_client:
        yield test_client


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_lot_page_shows_product_location_and_temperature(
    client: TestClient, reader: FixedReader
) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Chilled salmon 200 g" in html
    assert text_of(html, "gtin") == GTIN
    assert text_of(html, "lot") == "L1"
    assert text_of(html, "expiry") == "2026-12-05"
    assert text_of(html, "band") == "0.0 °C to 4.0 °C"
    assert text_of(html, "last-location") == COLD_ROOM
    assert text_of(html, "last-time") == "2026-11-22T10:00:00.000Z"
    assert "3.2 °C at 2026-11-22T10:05:00.000Z" in html
    assert "inside the band" in html
    assert reader.asked == [COLD_ROOM]
    assert text_of(html, "anchor-status") == "2 of 2 events not yet anchored."


def test_reading_outside_the_band_is_flagged(client: TestClient, reader: FixedReader) -> None:
    reader.readings[COLD_ROOM] = reading(7.5)
    html = client.get(PAGE).text
    assert "7.5 °C" in html
    assert "outside the band" in html


def test_page_renders_when_telemetry_is_down(client: TestClient, reader: FixedReader) -> None:
    reader.down = True
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "temperature unavailable" in response.text


def test_page_renders_with_the_real_reader_and_no_influxdb(with_events: RecordStore) -> None:
    # Port 1 on loopback: nothing listens, the real adapter gets "connection refused".
    with (
        InfluxTemperatureReader("http://127.0.0.1:1", timeout=1.0) as influx,
        make_client(create_app(with_events, influx, "embedded EVM")) as client,
    ):
        response = client.get(PAGE)
    assert response.status_code == 200
    assert "temperature unavailable" in response.text


def test_anchored_lot_shows_chain_block_tx_and_root(
    with_events: RecordStore, reader: FixedReader
) -> None:
    summary = AnchoringService(with_events, FakeAnchorer()).anchor_pending()
    assert summary is not None
    with make_client(create_app(with_events, reader, "embedded EVM")) as client:
        html = client.get(PAGE).text
    assert text_of(html, "anchor-status") == "All 2 events anchored on embedded EVM."
    assert text_of(html, "chain") == "embedded EVM (chain id 1337)"
    assert text_of(html, "block") == str(summary.block_number)
    assert text_of(html, "tx") == summary.tx_hash
    assert text_of(html, "root") == summary.root.hex()


def test_short_gtin_redirects_to_the_14_digit_path(client: TestClient) -> None:
    response = client.get("/01/4012345111118/10/L1", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"].endswith(PAGE)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/01/04012345111119/10/L1", "GTIN 04012345111119: check digit should be 8"),
        ("/01/123/10/L1", "GTIN 123: has 3 digits"),
        (f"/01/{GTIN}/10/L%231", "lot L#1: contains '#'"),
        (f"/01/{GTIN}/10/L9", f"lot L9 of {GTIN} is not registered here"),
        ("/01/04006381333931/10/L1", "product 04006381333931 is not registered here"),
    ],
)
def test_helpful_404s(client: TestClient, path: str, problem: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert problem in text_of(response.text, "problem").replace("&#39;", "'")


def test_stylesheet_is_served_locally(client: TestClient) -> None:
    html = client.get(PAGE).text
    assert 'href="http://testserver/static/tracehub.css"' in html
    css = client.get("/static/tracehub.css")
    assert css.status_code == 200
    assert "font" in css.text
    assert "http" not in css.text  # no CDN, no remote fonts


class SteppedSeries:
    """An in-memory TemperatureSeries: one 10-minute bucket per reading, or down."""

    def __init__(self, celsius: dict[str, list[float]], down: bool = False) -> None:
        self.celsius = celsius
        self.down = down

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        if self.down:
            raise TelemetryUnavailable("InfluxDB did not answer (test)")
        return [
            Bucket(
                start=start + i * width,
                width=width,
                count=1,
                mean_c=c,
                min_c=c,
                max_c=c,
                out_of_range=int((low is not None and c < low) or (high is not None and c > high)),
            )
            for i, c in enumerate(self.celsius.get(location, []))
            if start + i * width < end
        ]


def _exposure_page(store: RecordStore, series: SteppedSeries) -> str:
    exposure = ExposureService(
        store, series, bucket=timedelta(minutes=10), now=datetime(2026, 11, 22, 12, tzinfo=UTC)
    )
    app = create_app(
        store, FixedReader({}), "embedded EVM", exposure=exposure, today=lambda: date(2026, 11, 1)
    )
    with make_client(app) as client:
        response = client.get(PAGE)
    assert response.status_code == 200
    text: str = response.text
    return text


def test_lot_page_shows_cold_chain_status_mkt_and_excursions(with_events: RecordStore) -> None:
    # The dock stay has one 10-minute bucket at 9 °C (band 0–4, no budget): compromised.
    html = _exposure_page(with_events, SteppedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0]}))
    assert text_of(html, "lot-status") == "Compromised"
    assert text_of(html, "excursions") == "1, 10 min out of range"
    assert text_of(html, "mkt").endswith("°C")
    assert "out of range exceeds the budget" in text_of(html, "status-reasons")


def test_lot_page_keeps_rendering_without_influxdb(with_events: RecordStore) -> None:
    html = _exposure_page(with_events, SteppedSeries({}, down=True))
    assert text_of(html, "lot-status") == "cold-chain record unavailable"
    assert text_of(html, "anchor-status")  # the rest of the page is there


def test_lot_page_without_readings_says_so(with_events: RecordStore) -> None:
    html = _exposure_page(with_events, SteppedSeries({}))
    assert text_of(html, "lot-status") == "no temperature record for this lot's locations"


@pytest.mark.parametrize(
    ("today", "warning"),
    [
        (date(2026, 11, 1), None),
        (date(2026, 11, 30), "lot L1 expires in 5 day(s) (2026-12-05); mark it down (FEFO)"),
        (date(2026, 12, 6), "lot L1 expired on 2026-12-05; do not sell"),
    ],
)
def test_near_expiry_warning(with_events: RecordStore, today: date, warning: str | None) -> None:
    app = create_app(
        with_events, FixedReader({}), "embedded EVM", near_expiry_days=7, today=lambda: today
    )
    with make_client(app) as client:
        html = client.get(PAGE).text
    if warning is None:
        assert 'id="expiry-warning"' not in html
    else:
        assert text_of(html, "expiry-warning") == warning
