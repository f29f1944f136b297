"""The incidents API over real SQLite records and ledger: 401 without a token (also with
public reads on: incidents name places and devices), 403 for a scope or role the step
needs (reading needs operator, not read), the lifecycle through JSON, problem+json for
refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.webapp import app_for, bearer, make_client
from tests.traceability.incidents.conftest import SIGNER, at, make_alarm
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.model import incident_id
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def api(stocked: RecordStore, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
    service = IncidentService(stocked, ledger, SIGNER, dispositions=capture)
    alarm = make_alarm()
    service.raised(alarm)
    service.cleared(alarm.model_copy(update={"cleared_at": at(10, 48), "peak_c": 9.9}))
    with make_client(app_for(stocked, incidents=service)) as client:
        yield client, incident_id(alarm.id)
    ledger.close()


def test_reads_and_steps_need_a_token(api: tuple[TestClient, str]) -> None:
    client, iid = api
    assert client.get("/incidents").status_code == 401
    response = client.post(f"/incidents/{iid}/ack", json={"comment": "x"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_reading_incidents_needs_operator_not_read_even_with_public_reads(
    stocked: RecordStore, tmp_path: Path
) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    service = IncidentService(stocked, ledger, SIGNER)
    alarm = make_alarm()
    service.raised(alarm)
    iid = incident_id(alarm.id)
    try:
        with make_client(app_for(stocked, incidents=service, public_read=True)) as client:
            assert client.get("/lots/04012345111118/L1/custody").status_code == 200  # public
            for path in ("/incidents", f"/incidents/{iid}"):
                assert client.get(path).status_code == 401
                reader = client.get(path, headers=bearer(stocked, "read"))
                assert reader.status_code == 403
                assert "lacks the 'operator' scope" in reader.json()["detail"]
                for scopes in (("operator",), ("admin",)):
                    assert client.get(path, headers=bearer(stocked, *scopes)).status_code == 200
    finally:
        ledger.close()


def test_a_reader_cannot_ack_and_an_operator_cannot_dispose(
    api: tuple[TestClient, str], stocked: RecordStore
) -> None:
    client, iid = api
    reader = bearer(stocked, "read", name="dash")
    assert client.get("/incidents", headers=reader).status_code == 403
    refused = client.post(f"/incidents/{iid}/ack", json={"comment": "x"}, headers=reader)
    assert refused.status_code == 403
    assert "lacks the 'operator' scope" in refused.json()["detail"]
    li = bearer(stocked, "operator", name="li")
    listed = client.get("/incidents", headers=li)
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["incidents"]] == [iid]
    response = client.post(
        f"/incidents/{iid}/dispose",
        json={"gtin": GTIN, "lot": "L1", "disposition": "release", "reason": "fine"},
        headers=li,
    )
    assert response.status_code == 403
    assert "lacks the 'quality' scope" in response.json()["detail"]


def test_the_lifecycle_through_the_api(api: tuple[TestClient, str], stocked: RecordStore) -> None:
    client, iid = api
    li = bearer(stocked, "operator", name="li")  # reading incidents is operator's too
    qa = bearer(stocked, "quality", "operator", name="qa")
    early = client.post(f"/incidents/{iid}/close", json={"comment": "x"}, headers=li)
    assert early.status_code == 409
    assert "is open: it cannot be closed now" in early.json()["detail"]
    acked = client.post(f"/incidents/{iid}/ack", json={"comment": "door closed"}, headers=li)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    impacts = [{"gtin": GTIN, "lot": "L1", "minutes_out": 14, "impact": "within budget"}]
    assessed = client.post(
        f"/incidents/{iid}/assess", json={"comment": "short", "impacts": impacts}, headers=qa
    )
    assert assessed.status_code == 200, assessed.text
    bad = client.post(
        f"/incidents/{iid}/dispose",
        json={"gtin": GTIN, "lot": "L1", "disposition": "sell", "reason": "x"},
        headers=qa,
    )
    assert bad.status_code == 400
    disposed = client.post(
        f"/incidents/{iid}/dispose",
        json={"gtin": GTIN, "lot": "L1", "disposition": "release", "reason": "fine"},
        headers=qa,
    )
    assert disposed.status_code == 200, disposed.text
    assert disposed.json()["dispositions"] == {f"{GTIN}/L1": "release"}
    closed = client.post(f"/incidents/{iid}/close", json={"comment": "done"}, headers=li)
    assert closed.json()["state"] == "closed"
    shown = client.get(f"/incidents/{iid}", headers=li).json()
    assert (shown["ongoing"], shown["cleared_at"], shown["peak_c"]) == (
        False,
        "2026-12-03T10:48:00Z",
        9.9,
    )
    assert [(s["step"], s["actor"], s["role"]) for s in shown["steps"]] == [
        ("opened", "tracehub", "system"),
        ("cleared", "tracehub", "system"),
        ("acknowledged", "li", "operator"),
        ("assessed", "qa", "quality"),
        ("disposed", "qa", "quality"),
        ("closed", "li", "operator"),
    ]
    assert client.get("/incidents/inc-nope", headers=li).status_code == 404
    assert client.get("/incidents?state=closed", headers=li).json()["incidents"][0]["id"] == iid


def test_a_step_through_the_api_refreshes_the_cached_lot_page(
    api: tuple[TestClient, str], stocked: RecordStore, tmp_path: Path
) -> None:
    """Each step tells the page cache to forget the incident's lots (the page tells it)."""
    from web.pagecache import PageCache

    forgotten: list[tuple[str, str]] = []

    class Recording(PageCache):
        def invalidate(self, gtin: str, lot: str) -> None:
            forgotten.append((gtin, lot))
            super().invalidate(gtin, lot)

    _, iid = api
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    service = IncidentService(stocked, ledger, SIGNER)
    qa = bearer(stocked, "quality", "operator", name="qa")
    try:
        with make_client(app_for(stocked, incidents=service, cache=Recording(60))) as client:
            response = client.post(f"/incidents/{iid}/ack", json={"comment": "x"}, headers=qa)
            assert response.status_code == 200, response.text
            refused = client.post(f"/incidents/{iid}/ack", json={"comment": "y"}, headers=qa)
            assert refused.status_code == 409
    finally:
        ledger.close()
    assert forgotten == [(GTIN, "L1")]  # once: the refused step changed nothing
