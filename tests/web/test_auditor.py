"""The auditor API: clients with the auditor scope, raw events (with who captured each,
from the signed receipts), raw telemetry windows from a real InfluxDB, exposure with
URNs, evidence bundles; the EPCIS read API behind a read token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.masterdata import Site, database_url
from tests.support.webapp import (
    NOW,
    SteppedSeries,
    add_places,
    app_for,
    bearer,
    capture_journey,
    ledgered,
    make_client,
)
from traceability.anchoring.feeder import EventLeaves
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

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
def auditor(stocked: RecordStore) -> dict[str, str]:
    return bearer(stocked, "auditor", name="auditor-1")


@pytest.fixture
def client(
    stocked: RecordStore, influxdb: InfluxDB, database: str, tmp_path: Path
) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    add_places(stocked)
    capture_journey(stocked)
    setup = ledgered(stocked, tmp_path / "records.db")
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        app = create_app(stocked, reader, "embedded EVM", evidence=setup.evidence, now=lambda: NOW)
        with TestClient(app) as test_client:
            yield test_client


@pytest.mark.integration
def test_requests_without_the_auditor_scope_are_refused(
    client: TestClient, stocked: RecordStore, auditor: dict[str, str]
) -> None:
    reader = bearer(stocked, "read", "capture")
    for headers, status in (({}, 401), ({"Authorization": "Bearer thc_wrong"}, 401), (reader, 403)):
        for path in ("events", "telemetry", "exposure", "masterdata", "evidence"):
            response = client.get(f"{LOT}/{path}", headers=headers)
            assert response.status_code == status, (headers, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "auditor" in response.json()["detail"] or status == 401
    # the EPCIS read API wants the read scope: an auditor's token is not a reader's
    assert client.get("/epcis/events").status_code == 401
    assert client.get(f"/lots/{GTIN}/L1/custody", headers=auditor).status_code == 403
    assert client.get(f"/lots/{GTIN}/L1/custody", headers=reader).status_code == 200
    admin = bearer(stocked, "admin")  # admin implies every scope
    assert client.get(f"{LOT}/events", headers=admin).status_code == 200
    assert client.get(f"/lots/{GTIN}/L1/custody", headers=admin).status_code == 200


@pytest.mark.integration
def test_raw_events_with_urns(client: TestClient, auditor: dict[str, str]) -> None:
    body = client.get(f"{LOT}/events", headers=auditor).json()
    assert [e["readPoint"]["id"] for e in body["events"]] == [DOCK, COLD_ROOM]
    assert all(e["eventID"].startswith("ni:///sha-256;") for e in body["events"])
    assert [e["tracehub:batch"] for e in body["events"]] == [1, 1]
    # signed without a receipt (the fixture's ledger was attached after capture)
    assert [e["capturedBy"] for e in body["events"]] == [None, None]


@pytest.mark.integration
def test_telemetry_window_is_clipped_to_the_lots_stays(
    client: TestClient, auditor: dict[str, str]
) -> None:
    response = client.get(
        f"{LOT}/telemetry",
        params={"from": "2026-11-22T08:00:00Z", "to": "2026-11-22T09:30:00Z"},
        headers=auditor,
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
def test_bad_windows_are_named(
    client: TestClient, auditor: dict[str, str], params: dict[str, str], detail: str
) -> None:
    response = client.get(f"{LOT}/telemetry", params=params, headers=auditor)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


@pytest.mark.integration
def test_evidence_bundle_and_unknown_lot(client: TestClient, auditor: dict[str, str]) -> None:
    bundle = client.get(f"{LOT}/evidence", headers=auditor).json()
    assert bundle["format"] == "tracehub-evidence/2"
    kinds = [item["entry"]["kind"] for item in bundle["items"]]
    assert kinds.count("epcis-event") == 2
    # and every version of the master data the lot depends on: product, lot, 2 places
    assert sorted(k for k in kinds if k.startswith("master-")) == [
        "master-location", "master-location", "master-lot", "master-product",
    ]  # fmt: skip
    missing = client.get(f"/auditor/lots/{GTIN}/L9/events", headers=auditor)
    assert missing.status_code == 404
    assert "lot L9" in missing.json()["detail"]
    assert client.get(f"{LOT}/exposure", headers=auditor).status_code == 503  # no exposure


def test_public_reads_open_the_read_api_only(stocked: RecordStore) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(stocked, None, "c", public_read=True)) as client:
        assert client.get("/epcis/events").status_code == 200  # the demo's setting
        assert client.get(f"/lots/{GTIN}/L1/custody").status_code == 200
        assert client.get(f"{LOT}/events").status_code == 401  # auditors still need a token
        assert client.post("/epcis/capture", json={}).status_code == 401  # and writers


def test_now_is_utc() -> None:
    assert NOW.tzinfo is UTC


# master data: labelled as the page labels it ------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with database_url(request.param, tmp_path, request) as url:
        opened = Site(url)
        opened.master.add_product(
            GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0, excursion_budget_min=60.0
        )
        opened.master.add_lot(GTIN, "L1", expiry=date(2027, 11, 1), serials=range(1001, 1003))
        for urn, name in ((DOCK, "Dock door 1"), (COLD_ROOM, "Cold room 1")):
            opened.master.add_location(Location(urn=urn, name=name, kind="cold_room", country="DE"))
        capture = CaptureService(opened.store, ledger=EventLeaves(opened.ledger, opened.signer))
        for time, place in (("2026-11-22T09:00:00Z", DOCK), ("2026-11-22T11:00:00Z", COLD_ROOM)):
            event = object_event(time=time, read_point=place, bizLocation={"id": place})
            capture.capture(event, source="erp-1")
        opened.anchor()
        yield opened
        opened.close()


def _audit(site: Site, path: str) -> httpx.Response:
    series = SteppedSeries({DOCK: [5.0] * 12, COLD_ROOM: [20.0] * 6})  # 20 °C: out of 2–8
    evidence = LedgerEvidence(site.store, site.ledger, site.signer)
    app = app_for(site.store, series, evidence=evidence)
    with make_client(app, bearer(site.store, "auditor")) as client:
        response: httpx.Response = client.get(f"{LOT}/{path}")
    assert response.status_code == 200, response.text
    return response


def _fields(subject: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in subject["fields"]}


def test_events_name_the_client_their_signed_receipt_names(site: Site) -> None:
    body = _audit(site, "events").json()
    assert [e["capturedBy"] for e in body["events"]] == ["erp-1", "erp-1"]
    # A dishonest operator rewrites the sender in the ledger's kept copy of one receipt:
    # it no longer holds to its signed digest, so it names nobody.
    site.sql(
        "UPDATE ledger_records SET canonical = replace(canonical, '\"erp-1\"', '\"wms-9\"') "
        "WHERE canonical LIKE '%tracehub-capture-receipt%' AND canonical LIKE :first",
        first=f"%{body['events'][0]['eventID']}%",
    )
    after = _audit(site, "events").json()
    assert [e["capturedBy"] for e in after["events"]] == [None, "erp-1"]


def test_honest_master_data_is_proven_with_its_versions(site: Site) -> None:
    body = _audit(site, "masterdata").json()
    assert body["state"] == "proven"
    assert body["product"]["state"] == "proven"
    assert _fields(body["product"])["temp_max_c"] == {
        "field": "temp_max_c", "records": 8.0, "signed": 8.0, "version": 1, "state": "proven",
    }  # fmt: skip
    (version,) = body["product"]["versions"]
    assert version["anchored_at"] is not None
    assert body["lot_record"]["state"] == "proven"
    assert [p["key"] for p in body["locations"]] == sorted([DOCK, COLD_ROOM])
    assert _audit(site, "exposure").json()["band"]["state"] == "proven"


def test_a_band_widened_in_sql_is_changed_never_proven(site: Site) -> None:
    site.sql("UPDATE products SET temp_max_c = 25")
    body = _audit(site, "masterdata").json()
    assert body["state"] == "changed"
    assert _fields(body["product"])["temp_max_c"] == {
        "field": "temp_max_c", "records": 25.0, "signed": 8.0, "version": 1, "state": "changed",
    }  # fmt: skip
    exposure = _audit(site, "exposure").json()
    assert exposure["band"]["state"] == "changed"
    # judged against the anchored version 1 (2–8 °C), not the widened row: 20 °C is out
    assert {s["band"]["version"] for s in exposure["stays"]} == {1}
    assert exposure["minutes_out_of_range"] > 0
    assert exposure["status"] != "ok"


def test_a_renamed_place_and_an_honest_pending_change(site: Site) -> None:
    site.sql(f"UPDATE locations SET name = 'Back yard' WHERE urn = '{COLD_ROOM}'")
    site.master.update_lot(GTIN, "L1", expiry=date(2027, 10, 1))  # signed, not anchored
    body = _audit(site, "masterdata").json()
    (room,) = [p for p in body["locations"] if p["key"] == COLD_ROOM]
    assert _fields(room)["name"]["state"] == "changed"
    assert _fields(room)["name"]["signed"] == "Cold room 1"
    assert _fields(body["lot_record"])["expiry"]["state"] == "pending"
    assert [v["anchored_at"] is None for v in body["lot_record"]["versions"]] == [False, True]


def test_without_an_evidence_source_nothing_is_labelled_proven(stocked: RecordStore) -> None:
    app = app_for(stocked)
    with make_client(app, bearer(stocked, "auditor")) as client:
        response = client.get(f"{LOT}/masterdata")
    assert response.status_code == 503
    assert "signed versions" in response.json()["detail"]


def test_a_stability_budget_loosened_in_sql_makes_the_band_changed(site: Site) -> None:
    site.sql("UPDATE products SET stability_budget = 'above:25:600'")
    exposure = _audit(site, "exposure").json()
    assert exposure["band"]["state"] == "changed"
    fields = {f["field"]: f for f in exposure["band"]["fields"]}
    assert fields["stability_budget"]["state"] == "changed"
    assert fields["temp_max_c"]["state"] == "proven"
    # judged against the anchored version (no steps), not the loosened row
    assert {s["band"]["stability_budget"] for s in exposure["stays"]} == {None}
