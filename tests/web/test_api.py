"""The EPCIS capture/query API and lot endpoints over HTTP (Starlette test client)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gs1.epcis.schema import document_errors
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.hostile import ANSWER_WITHIN_S, HEALTHZ_WITHIN_S, serving, under_attack
from tests.support.webapp import bearer
from tests.traceability.test_capture_document import document
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from web.app import create_app
from web.limits import Limits

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
LIMITS = Limits(capture_events=20)


@pytest.fixture
def client(stocked: RecordStore) -> TestClient:
    from starlette.testclient import TestClient

    app = create_app(stocked, None, "test chain")
    return TestClient(app, headers=bearer(stocked, "capture", "read"))


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
    json_type = {"Content-Type": "application/json"}
    assert client.post("/epcis/capture", content=b"{", headers=json_type).status_code == 400
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


# --- bounded work: hostile documents against the running server ---------------------


@pytest.fixture
def site(stocked: RecordStore) -> Iterator[tuple[str, dict[str, str]]]:
    with serving(create_app(stocked, None, "test chain", limits=LIMITS), LIMITS) as url:
        yield url, {"Content-Type": "application/json", **bearer(stocked, "capture", "read")}


def _post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/epcis/capture", content=body, headers=headers, timeout=30)


def _event_with(value: str) -> bytes:
    # An extension field whose value is a numeric string: the event hash writes it as a
    # number, so it is where "1e1000000" once took 23 s of GIL.
    doc = document(object_event(**{"example:reading": "VALUE"}))
    doc["@context"] = [*doc["@context"], {"example": "https://example.com/"}]
    return json.dumps(doc).replace('"VALUE"', value).encode()


@pytest.mark.parametrize(
    ("value", "field", "says"),
    [
        ('"1e1000000"', "example:reading", "exponent"),  # 9 characters, 23 s once
        ('"' + "1" * 5000 + '"', "example:reading", "significant digits"),
        ('"' + "1" * 30_000 + '"', "example:reading", "of 30000 characters"),  # 12 s once
        ("1" * 30_000, "body", "outside the range of a double"),
        ("1" * 50, "body", "number literal of 50 characters"),
        ("1e1000000", "body", "outside the range of a double"),
        ("NaN", "body", "is not JSON: unexpected character"),
    ],
)
def test_hostile_numbers_are_refused_at_once_naming_the_field(
    site: tuple[str, dict[str, str]], value: str, field: str, says: str
) -> None:
    url, headers = site
    outcome = under_attack(url, lambda: _post(url, headers, _event_with(value)))
    answer = outcome.result
    assert answer.status_code == 400, answer.text
    if field == "body":  # refused by the JSON reader: a problem
        assert answer.headers["content-type"] == "application/problem+json"
        assert says in answer.json()["detail"], answer.text
    elif "characters" in says:  # a string over the reader's bound, named by its path
        assert f"epcisBody.eventList[0].{field}" in answer.json()["detail"], answer.text
        assert says in answer.json()["detail"], answer.text
    else:  # refused by event validation: the capture report names event and field
        (error,) = answer.json()["errors"]
        assert (error["index"], error["field"]) == (0, field), answer.text
        assert says in error["reason"], answer.text
    assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()
    assert (
        httpx.get(f"{url}/epcis/events", headers=headers, timeout=10).json()["epcisBody"][
            "queryResults"
        ]["resultsBody"]["eventList"]
        == []
    )  # nothing was stored


def test_deep_nesting_and_long_strings_are_refused(site: tuple[str, dict[str, str]]) -> None:
    url, headers = site
    deep = _post(url, headers, _event_with("[" * 100_000 + "]" * 100_000))
    assert deep.status_code == 400
    assert "nests deeper" in deep.json()["detail"]
    surrogate = _post(url, headers, _event_with('"\\ud800"'))
    assert surrogate.status_code == 400
    assert "surrogate" in surrogate.json()["detail"]


def test_events_per_request_are_limited_and_advertised(
    site: tuple[str, dict[str, str]],
) -> None:
    url, headers = site
    events = [object_event(serial=str(1001 + i % 10)) for i in range(LIMITS.capture_events + 1)]
    answer = _post(url, headers, json.dumps(document(*events)).encode())
    assert answer.status_code == 413
    assert answer.json()["type"] == "epcisException:CaptureLimitExceededException"
    assert f"limit is {LIMITS.capture_events}" in answer.json()["detail"]
    assert answer.headers["GS1-EPCIS-Capture-Limit"] == str(LIMITS.capture_events)
    discovery = httpx.options(f"{url}/epcis/capture", headers=headers, timeout=10)
    assert discovery.status_code == 204
    assert discovery.headers["GS1-EPCIS-Capture-Limit"] == str(LIMITS.capture_events)
    assert discovery.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(LIMITS.capture_body_bytes)
    ok = _post(url, headers, json.dumps(document(object_event())).encode())
    assert ok.status_code == 201
    assert ok.headers["GS1-EPCIS-Capture-Limit"] == str(LIMITS.capture_events)


def test_a_capture_flood_is_refused_beyond_the_queue(stocked: RecordStore) -> None:
    """With one worker and no queue, a capture arriving while another runs gets 503."""
    tight = Limits(capture_workers=1, capture_queue=0)
    started, release = threading.Event(), threading.Event()

    class SlowCapture(CaptureService):
        def capture_document(self, *args: Any, **kwargs: Any) -> Any:
            started.set()
            release.wait(10)
            return super().capture_document(*args, **kwargs)

    app = create_app(stocked, None, "test chain", capture=SlowCapture(stocked), limits=tight)
    headers = {"Content-Type": "application/json", **bearer(stocked, "capture")}
    body = json.dumps(document(object_event())).encode()
    with serving(app, tight) as url, ThreadPoolExecutor(1) as pool:
        first = pool.submit(_post, url, headers, body)
        assert started.wait(10)
        second = _post(url, headers, body)
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "1"
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        release.set()
        assert first.result().status_code == 201
