"""The EPCIS query API and lot endpoints over HTTP (Starlette test client); capture
itself is tests/web/test_capture.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gs1.epcis.schema import document_errors
from tests.support.epcis import captured
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.webapp import bearer
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

    app = create_app(stocked, None, "test chain")
    return TestClient(app, headers=bearer(stocked, "capture", "read"))


def test_capture_then_query(client: TestClient, stocked: RecordStore) -> None:
    doc = document(object_event(), object_event(serial="1002", read_point=COLD_ROOM))
    assert captured(client, doc, path="/epcis/capture")["created"] == 2
    again = captured(client, doc)
    assert (again["created"], again["duplicates"]) == (0, 2)
    ids = [e.id for e in stocked.query_events(gtin=GTIN, lot="L1", location=COLD_ROOM)]
    assert len(ids) == 1
    assert all(i.startswith("ni:///sha-256;") for i in ids)

    query = client.get(
        "/epcis/events",  # the alias of /events, with the standard's parameters
        params={"MATCH_epc": "urn:epc:idpat:sgtin:4012345.011111.*", "EQ_readPoint": COLD_ROOM},
    )
    assert query.status_code == 200
    body: dict[str, Any] = query.json()
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in events] == ids
    assert document_errors(body) == []


def test_custody_and_recall(client: TestClient) -> None:
    captured(client, document(object_event(read_point=COLD_ROOM)))
    custody = client.get(f"/lots/{GTIN}/L1/custody").json()
    assert custody["stays"][0]["location"] == COLD_ROOM
    recall = client.get(f"/lots/{GTIN}/L1/recall").json()
    assert recall["units"] == [
        {"epc": "urn:epc:id:sgtin:4012345.011111.1001", "location": COLD_ROOM}
    ]
    assert client.get("/lots/123/L1/recall").status_code == 400
    assert client.get(f"/lots/{GTIN}/L1/exposure").status_code == 503
