"""An error declaration is kept beside the event it corrects (``gs1.epcis.event
.DECLARATION_SUFFIX``): it hashes to the same id (the event hash leaves errorDeclaration
out), and before it was stored once, as a "duplicate", so a partner's correction was lost.
Over the real app: captured through ``POST /capture``, found by ``EXISTS_errorDeclaration``
with the corrected event's eventID, and ``GET /events/{eventID}`` answers both."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.support.epcis import captured
from tests.support.events import object_event
from tests.support.webapp import bearer
from tests.traceability.test_capture_document import document
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
DECLARATION = {
    "declarationTime": "2026-11-22T12:00:00.000Z",
    "reason": "incorrect_data",
    "correctiveEventIDs": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
}


@pytest.fixture
def client(stocked: RecordStore) -> TestClient:
    from starlette.testclient import TestClient

    app = create_app(stocked, None, "test chain")
    return TestClient(app, headers=bearer(stocked, "capture", "read", name="partner-1"))


def test_an_error_declaration_is_stored_beside_the_event_it_corrects(
    client: TestClient, stocked: RecordStore
) -> None:
    original = object_event()
    first = captured(client, document(original))
    assert (first["created"], first["duplicates"]) == (1, 0)
    declared = captured(client, document({**original, "errorDeclaration": DECLARATION}))
    assert (declared["success"], declared["created"], declared["duplicates"]) == (True, 1, 0)
    again = captured(client, document({**original, "errorDeclaration": DECLARATION}))
    assert (again["created"], again["duplicates"]) == (0, 1)  # still idempotent

    everything = client.get("/events").json()["epcisBody"]["queryResults"]["resultsBody"]
    ids = {e["eventID"] for e in everything["eventList"]}
    assert len(everything["eventList"]) == 2  # two records ...
    assert len(ids) == 1  # ... of one eventID
    (event_id,) = ids
    assert event_id.startswith("ni:///sha-256;")
    assert "#" not in event_id

    answer = client.get("/events", params={"EXISTS_errorDeclaration": ""})
    found = answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [(e["eventID"], e["errorDeclaration"]["reason"]) for e in found] == [
        (event_id, "incorrect_data")
    ]
    both = client.get(f"/events/{quote(event_id, safe='')}").json()
    listed = both["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert ["errorDeclaration" in e for e in listed] == [False, True]
    by_id = client.get("/events", params={"EQ_eventID": event_id}).json()
    assert len(by_id["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
