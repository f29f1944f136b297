"""The hub's web site against a running hub (mosquitto, InfluxDB, SQLite, the embedded
EVM, uvicorn on a real socket), tried as an attacker on the same network would: no
capture without a client token with the capture scope (nothing stored, nothing signed),
no write in a browser's content types, no other Host than the site's; and the captured
event names its client in the lot's evidence and in `tracehub verify`, which fails when
the receipt is rewritten in the ledger database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.support.epcis import captured
from tests.support.hubs import hub_settings
from traceability.anchoring.feeder import EVENT_KIND
from traceability.anchoring.receipts import RECEIPT_KIND
from tracehub import demo
from tracehub.cli import main
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import (
    WebSettings,
)

pytestmark = pytest.mark.integration

PUBLIC_HOST = "trace.example.test"


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Hub]:
    settings = hub_settings(
        tmp_path / "state",
        "access",
        mosquitto,
        influxdb,
        WebSettings(port=0, public_url=f"https://{PUBLIC_HOST}"),
    )
    with Hub(settings) as running:
        demo.seed(running.master)
        yield running


def _document(*serials: int) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at,
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": at,
                    "eventTimeZoneOffset": "+00:00",
                    "epcList": [demo.unit_urn(serial)],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "readPoint": {"id": demo.DOCK_DOOR},
                }
                for serial in serials
            ]
        },
    }


def _nothing_stored(hub: Hub) -> None:
    """No event row, and no entry signed into the lot's stream but its master data."""
    assert hub.store.events_for_lot(demo.GTIN, demo.LOT) == []
    assert hub.store.pending_events(limit=10) == []
    kinds = {stored.entry.kind for stored in hub.ledger.stream(f"lot:{demo.GTIN}/{demo.LOT}")}
    assert EVENT_KIND not in kinds
    assert RECEIPT_KIND not in kinds


def test_capture_without_the_right_token_stores_and_signs_nothing(hub: Hub) -> None:
    url = f"{hub.web.url}/epcis/capture"
    forged = _document(1001)  # the forged "shipping" event for the lot
    reader = hub.store.add_client("partner", ["read"]).token
    revoked = hub.store.add_client("old-erp", ["capture"]).token
    hub.store.revoke_client("old-erp")
    writer = hub.store.add_client("erp-1", ["capture"]).token

    none = httpx.post(url, json=forged, timeout=10)
    assert none.status_code == 401
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert none.headers["content-type"] == "application/problem+json"
    assert "Bearer <token>" in none.json()["detail"]
    _nothing_stored(hub)

    scoped = httpx.post(url, json=forged, headers={"Authorization": f"Bearer {reader}"})
    assert scoped.status_code == 403
    assert "'capture' scope" in scoped.json()["detail"]
    old = httpx.post(url, json=forged, headers={"Authorization": f"Bearer {revoked}"})
    assert old.status_code == 401
    assert old.json()["title"] == "token revoked"
    plain = httpx.post(
        url,
        content=json.dumps(forged),
        headers={"Authorization": f"Bearer {writer}", "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415
    _nothing_stored(hub)

    # reads are closed too outside the demo; a reader's token opens them
    assert httpx.get(f"{hub.web.url}/epcis/events").status_code == 401
    events = httpx.get(f"{hub.web.url}/epcis/events", headers={"Authorization": f"Bearer {reader}"})
    assert events.status_code == 200


def test_a_wrong_host_gets_400_everywhere(hub: Hub) -> None:
    page = f"{hub.web.url}{demo.lot_path()}"
    for path in (page, f"{hub.web.url}/healthz", f"{hub.web.url}/rpc"):
        # a page on another site whose name now resolves to the hub (DNS rebinding)
        response = httpx.get(path, headers={"Host": "attacker.example:8000"})
        assert response.status_code == 400, path
        assert response.json()["title"] == "wrong host"
    assert httpx.get(page, headers={"Host": PUBLIC_HOST}).status_code == 200
    assert httpx.get(page).status_code == 200  # 127.0.0.1: local tools keep working


def _verify(hub: Hub, *extra: str) -> tuple[int, str]:
    rpc = hub.rpc_url
    assert rpc is not None
    result = CliRunner().invoke(
        main,
        [
            "verify", "--gtin", demo.GTIN, "--lot", demo.LOT,
            "--records", hub.settings.records_url, "--rpc-url", rpc,
            "--trust", f"{hub.web.url}/.well-known/tracehub.json", *extra,
        ],
        env={"TRACEHUB_STATE_DIR": str(hub.settings.hub.state_dir), "COLUMNS": "300"},
    )  # fmt: skip
    return result.exit_code, result.output


def test_the_event_names_its_client_in_the_evidence_and_verify(hub: Hub) -> None:
    writer = hub.store.add_client("erp-1", ["capture"]).token
    auditor = hub.store.add_client("auditor-1", ["auditor"]).token
    with httpx.Client(base_url=hub.web.url, timeout=30) as http:
        job = captured(
            http,
            _document(1001, 1002, 1003),
            path="/epcis/capture",
            headers={"Authorization": f"Bearer {writer}"},
        )
    assert (job["success"], job["created"]) == (True, 3), job
    ids = sorted(e.id for e in hub.store.events_for_lot(demo.GTIN, demo.LOT))
    hub.anchoring.wake()
    assert hub.anchoring.anchored.wait(timeout=60), "nothing was anchored"

    lot = f"{hub.web.url}/auditor/lots/{demo.GTIN}/{demo.LOT}"
    bundle = httpx.get(f"{lot}/evidence", headers={"Authorization": f"Bearer {auditor}"}).json()
    (receipt,) = [i for i in bundle["items"] if i["entry"]["kind"] == RECEIPT_KIND]
    assert receipt["record"]["source"] == "erp-1"
    assert receipt["record"]["events"] == ids
    assert receipt["batch"] is not None  # anchored with the events
    events = httpx.get(f"{lot}/events", headers={"Authorization": f"Bearer {auditor}"}).json()
    assert {e["capturedBy"] for e in events["events"]} == {"erp-1"}

    code, out = _verify(hub)
    assert code == 0, out
    assert "captured by erp-1: 3 events" in out
    # the page counts the events, not their receipt
    page = httpx.get(f"{hub.web.url}{demo.lot_path()}").text
    assert "All 3 events anchored" in page  # nor the audit entry of the lot's master data

    # A dishonest operator makes the receipt name another sender, in the ledger database.
    db = sqlite3.connect(hub.settings.ledger_url.removeprefix("sqlite:///"))
    with db:
        changed = db.execute(
            "UPDATE ledger_records SET canonical = replace(canonical, '\"erp-1\"', '\"wms-9\"') "
            "WHERE canonical LIKE '%tracehub-capture-receipt%'"
        ).rowcount
    db.close()
    assert changed == 1
    code, out = _verify(hub)
    assert code == 1, out
    assert "the receipt was altered" in out
    assert "captured by wms-9" not in out
    assert "source not recorded: 3 events" in out
