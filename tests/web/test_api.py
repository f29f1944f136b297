"""The EPCIS capture/query API and lot endpoints over HTTP (Starlette test client)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gs1.epcis.schema import document_errors
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.test_capture_document import document
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def client(stocked: RecordStore) -> TestClient:
    from starlette.testclient import TestClient

    return TestClient(create_app(stocked, None, "test chain"))


def test_capture_then_query(client: TestClient) -> None:
    doc = document(object_event(), object_event(serial="1002", read_point=COLD_ROOM))
    response = client.post("/epcis/capture", json=doc)
    assert response.status_code == 201, response.text
    ids = [c["eventID"] for c in response.json()["captured"]]
    assert all(i.startswith("ni:///sha-256;") for i in ids)
    again = client.post("/epcis/capture", json=doc)
    assert [c["created"] for c in again.json()["captured"]] == [False, False]

    query = client.get("/epcis/events", params={"gtin": GTIN, "lot": "L1", "location": COLD_ROOM})
    assert query.status_code == 200
    body: dict[str, Any] = query.json()
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in events] == [ids[1]]
    assert document_errors(body) == []


def test_rollback_and_proceed(client: TestClient) -> None:
    doc = document(object_event(), object_event(serial="1002", bizStep="arivng"))
    rolled = client.post("/epcis/capture", json=doc)
    assert rolled.status_code == 400
    assert rolled.json()["errors"] == [
        {"index": 1, "field": "bizStep", "reason": rolled.json()["errors"][0]["reason"]}
    ]
    assert rolled.json()["captured"] == []
    proceeded = client.post(
        "/epcis/capture", json=doc, headers={"GS1-Capture-Error-Behaviour": "proceed"}
    )
    assert proceeded.status_code == 207
    assert len(proceeded.json()["captured"]) == 1


def test_not_a_document(client: TestClient) -> None:
    assert client.post("/epcis/capture", content=b"{").status_code == 400
    response = client.post("/epcis/capture", json={"type": "EPCISDocument"})
    assert response.status_code == 400
    assert "epcisBody.eventList" in response.json()["detail"]


def test_custody_and_recall(client: TestClient) -> None:
    client.post("/epcis/capture", json=document(object_event(read_point=COLD_ROOM)))
    custody = client.get(f"/lots/{GTIN}/L1/custody").json()
    assert custody["stays"][0]["location"] == COLD_ROOM
    recall = client.get(f"/lots/{GTIN}/L1/recall").json()
    assert recall["units"] == [
        {"epc": "urn:epc:id:sgtin:4012345.011111.1001", "location": COLD_ROOM}
    ]
    assert client.get("/lots/123/L1/recall").status_code == 400
    assert client.get(f"/lots/{GTIN}/L1/exposure").status_code == 503
