"""The auditor API: hashed bearer tokens, raw events, raw telemetry windows from a real
InfluxDB, exposure with URNs, evidence bundles; the EPCIS read API behind the same token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN
from tests.support.webapp import NOW, add_places, capture_journey, ledgered
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB
from web.app import create_app
from web.auditor import TokenCheck, token_digest

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

TOKEN = "auditor-" + "s3cret" * 4
BEARER = {"Authorization": f"Bearer {TOKEN}"}
LOT = f"/auditor/lots/{GTIN}/L1"


def ns(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp() * 1e9)


def line(location: str, celsius: float, moment: str) -> str:
    return f"temperature,location={location},device=probe-1 celsius={celsius},seq=1i {ns(moment)}"


@pytest.fixture
def database(influxdb: InfluxDB) -> str:
    name = f"auditor_{uuid.uuid4().hex[:8]}"
    httpx.post(
        f"{influxdb.url}/query", params={"q": f'CREATE DATABASE "{name}"'}
    ).raise_for_status()
    lines = [
        line(DOCK, 3.5, "2026-11-22T08:30:00+00:00"),
        line(DOCK, 3.0, "2026-11-22T09:05:00+00:00"),
        line(DOCK, 3.1, "2026-11-22T09:40:00+00:00"),
        line(COLD_ROOM, 2.0, "2026-11-22T10:10:00+00:00"),
    ]
    httpx.post(
        f"{influxdb.url}/write", params={"db": name, "precision": "ns"}, content="\n".join(lines)
    ).raise_for_status()
    return name


@pytest.fixture
def client(
    stocked: RecordStore, influxdb: InfluxDB, database: str, tmp_path: Path
) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    add_places(stocked)
    capture_journey(stocked)
    setup = ledgered(stocked, tmp_path / "records.db")
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        app = create_app(
            stocked,
            reader,
            "embedded EVM",
            evidence=setup.evidence,
            auditor_tokens=[token_digest(TOKEN)],
            now=lambda: NOW,
        )
        with TestClient(app) as test_client:
            yield test_client


def test_token_digests_are_validated() -> None:
    with pytest.raises(ValueError, match="TRACEHUB_WEB_AUDITOR_TOKENS: each entry must be"):
        TokenCheck(["plain-token"])
    check = TokenCheck([token_digest("a"), " ", token_digest("b").upper()])
    assert check.allows("Bearer b")
    assert check.allows("bearer a")
    assert not check.allows("Bearer c")
    assert not check.allows("Basic a")
    assert not check.allows(None)
    assert not TokenCheck([]).enabled


@pytest.mark.integration
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_requests_without_a_valid_token_are_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    for path in ("events", "telemetry", "exposure", "evidence"):
        response = client.get(f"{LOT}/{path}", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization" in response.json()["detail"]
    # the EPCIS read API is behind the same token once tokens are configured
    assert client.get("/epcis/events", headers=headers).status_code == 401
    assert client.get(f"/lots/{GTIN}/L1/custody", headers=headers).status_code == 401
    assert client.get(f"/lots/{GTIN}/L1/custody", headers=BEARER).status_code == 200


@pytest.mark.integration
def test_raw_events_with_urns(client: TestClient) -> None:
    body = client.get(f"{LOT}/events", headers=BEARER).json()
    assert [e["readPoint"]["id"] for e in body["events"]] == [DOCK, COLD_ROOM]
    assert all(e["eventID"].startswith("ni:///sha-256;") for e in body["events"])
    assert [e["tracehub:batch"] for e in body["events"]] == [1, 1]


@pytest.mark.integration
def test_telemetry_window_is_clipped_to_the_lots_stays(client: TestClient) -> None:
    response = client.get(
        f"{LOT}/telemetry",
        params={"from": "2026-11-22T08:00:00Z", "to": "2026-11-22T09:30:00Z"},
        headers=BEARER,
    )
    assert response.status_code == 200, response.text
    series = {s["location"]: s["points"] for s in response.json()["series"]}
    # 08:30 is before the lot reached the dock (09:00); 09:40 is after the window
    assert series[DOCK] == [{"time": "2026-11-22T09:05:00.000Z", "celsius": 3.0}]
    assert series[COLD_ROOM] == []  # the lot reached the cold room at 10:00


@pytest.mark.integration
@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "yesterday"}, "from: 'yesterday' is not an ISO 8601 time"),
        ({"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T09:00:00Z"}, "from/to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-11-22T09:00:00Z"}, "at most 31 days"),
    ],
)
def test_bad_windows_are_named(client: TestClient, params: dict[str, str], detail: str) -> None:
    response = client.get(f"{LOT}/telemetry", params=params, headers=BEARER)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


@pytest.mark.integration
def test_evidence_bundle_and_unknown_lot(client: TestClient) -> None:
    bundle = client.get(f"{LOT}/evidence", headers=BEARER).json()
    assert bundle["format"] == "tracehub-evidence/2"
    kinds = [item["entry"]["kind"] for item in bundle["items"]]
    assert kinds.count("epcis-event") == 2
    # and every version of the master data the lot depends on: product, lot, 2 places
    assert sorted(k for k in kinds if k.startswith("master-")) == [
        "master-location", "master-location", "master-lot", "master-product",
    ]  # fmt: skip
    missing = client.get(f"/auditor/lots/{GTIN}/L9/events", headers=BEARER)
    assert missing.status_code == 404
    assert "lot L9" in missing.json()["detail"]
    assert client.get(f"{LOT}/exposure", headers=BEARER).status_code == 503  # no exposure


def test_without_tokens_the_api_is_disabled(stocked: RecordStore) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(stocked, None, "c")) as client:
        response = client.get(f"{LOT}/events", headers=BEARER)
        assert response.status_code == 503
        assert "TRACEHUB_WEB_AUDITOR_TOKENS" in response.json()["detail"]
        assert client.get("/epcis/events").status_code == 200  # open, as before


def test_now_is_utc() -> None:
    assert NOW.tzinfo is UTC
