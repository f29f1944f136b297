"""``POST /capture`` per the EPCIS REST binding, over the real app (Starlette test client)
and the real web server (uvicorn) with the hub's worker thread: 202 and a capture job,
the job's outcome, listing and paging, discovery, limits, hostile documents."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.epcis import captured, finished, submitted
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.hostile import ANSWER_WITHIN_S, HEALTHZ_WITHIN_S, serving, under_attack
from tests.support.webapp import bearer
from tests.traceability.test_capture_document import document
from tests.traceability.test_capturejobs import XML_DOCUMENT
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.records.store import RecordStore
from web.app import create_app
from web.limits import Limits

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
LIMITS = Limits(capture_events=20, capture_body_bytes=256 * 1024)


@pytest.fixture
def client(stocked: RecordStore) -> TestClient:
    from starlette.testclient import TestClient

    app = create_app(stocked, None, "test chain", limits=LIMITS)
    return TestClient(app, headers=bearer(stocked, "capture", "read", name="erp-1"))


def test_a_document_is_accepted_as_a_job_and_captured(
    client: TestClient, stocked: RecordStore
) -> None:
    doc = document(object_event(), object_event(serial="1002", read_point=COLD_ROOM))
    answer = client.post("/capture", json=doc)
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    assert location == f"/capture/{answer.json()['captureID']}"
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert answer.headers["GS1-CBV-Version"] == "2.0.0"
    job = finished(client, location)
    assert job["captureID"] == location.rsplit("/", 1)[1]
    assert (job["running"], job["success"], job["captureErrorBehaviour"]) == (
        False,
        True,
        "rollback",
    )
    assert job["errors"] == []
    assert (job["eventCount"], job["captured"], job["created"], job["duplicates"]) == (2, 2, 2, 0)
    assert job["createdAt"] <= job["finishedAt"]
    # Re-posting creates nothing new; the old route is an alias with the same answers.
    again = captured(client, doc, path="/epcis/capture")
    assert (again["success"], again["created"], again["duplicates"]) == (True, 0, 2)
    assert len(stocked.query_events(gtin=GTIN, lot="L1")) == 2


def test_errors_per_event_with_rollback_and_proceed(client: TestClient) -> None:
    doc = document(object_event(), object_event(serial="1002", bizStep="arivng"))
    rolled = captured(client, doc)
    assert (rolled["success"], rolled["captured"], rolled["rejected"]) == (False, 0, 1)
    (error,) = rolled["errors"]
    assert (error["index"], error["field"]) == (1, "bizStep")
    assert error["type"] == "epcisException:ValidationException"
    assert error["detail"].startswith("bizStep: ")
    proceeded = captured(client, doc, behaviour="proceed")
    assert (proceeded["success"], proceeded["captureErrorBehaviour"]) == (False, "proceed")
    assert (proceeded["captured"], proceeded["created"], proceeded["rejected"]) == (1, 1, 1)


def test_what_is_no_document_is_refused_before_a_job_exists(client: TestClient) -> None:
    json_type = {"Content-Type": "application/json"}
    assert client.post("/capture", content=b"{", headers=json_type).status_code == 400
    missing = client.post("/capture", json={"type": "EPCISDocument"})
    assert missing.status_code == 400
    assert missing.json()["type"] == "epcisException:ValidationException"
    assert "epcisBody.eventList" in missing.json()["detail"]
    behaviour = client.post(
        "/capture", json=document(object_event()), headers={"GS1-Capture-Error-Behaviour": "all"}
    )
    assert behaviour.status_code == 400
    assert "GS1-Capture-Error-Behaviour" in behaviour.json()["detail"]
    form = client.post("/capture", content=b"{}", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    assert "application/xml" in form.headers["Accept-Post"]
    assert client.get("/capture").json() == []  # no job was stored


def test_an_xml_document_is_captured(client: TestClient) -> None:
    job = captured(client, XML_DOCUMENT, headers={"Content-Type": "application/xml"})
    assert (job["success"], job["created"]) == (True, 1), job
    broken = client.post("/capture", content=b"<a>", headers={"Content-Type": "text/xml"})
    assert broken.status_code == 400
    assert "not well-formed XML" in broken.json()["detail"]


def test_the_limits_are_advertised_and_applied_before_anything_is_stored(
    client: TestClient,
) -> None:
    discovery = client.options("/capture")
    assert discovery.status_code == 204
    assert discovery.headers["Allow"] == "OPTIONS, POST, GET"
    assert discovery.headers["GS1-EPCIS-Capture-Limit"] == "20"
    assert discovery.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(256 * 1024)
    assert discovery.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert client.options("/epcis/capture").headers["GS1-EPCIS-Capture-Limit"] == "20"
    many = document(*[object_event(serial=str(1001 + i % 10)) for i in range(21)])
    too_many = client.post("/capture", json=many)
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:CaptureLimitExceededException"
    assert too_many.headers["GS1-EPCIS-Capture-Limit"] == "20"
    big = client.post(
        "/capture",
        content=b" " * (256 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413
    assert big.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(256 * 1024)
    assert client.get("/capture").json() == []


def test_jobs_are_listed_per_client_in_pages_admin_sees_all(
    client: TestClient, stocked: RecordStore
) -> None:
    mine = [submitted(client, document(object_event(serial=str(1001 + n)))) for n in range(5)]
    other = bearer(stocked, "capture", name="erp-2")
    theirs = submitted(client, document(object_event(serial="1009")), headers=other)
    seen: list[str] = []
    url = "/capture?perPage=2"
    while True:
        page = client.get(url)
        assert page.status_code == 200
        seen += [f"/capture/{job['captureID']}" for job in page.json()]
        link = page.headers.get("Link")
        if link is None:
            break
        url = link.split(">", 1)[0].lstrip("<")
    assert seen == list(reversed(mine))  # newest first, each once, not erp-2's
    assert client.get(theirs).status_code == 404  # another client's job
    assert client.get(theirs, headers=other).status_code == 200
    admin = bearer(stocked, "admin")
    assert len(client.get("/capture?perPage=100", headers=admin).json()) == 6
    assert client.get("/capture?perPage=0").status_code == 400
    assert client.get("/capture?nextPageToken=nonsense").status_code == 400
    assert client.get("/capture/id-unknown").status_code == 404
    options = client.options(mine[0])
    assert (options.status_code, options.headers["Allow"]) == (204, "OPTIONS, GET")


def test_capture_needs_the_capture_scope(stocked: RecordStore) -> None:
    from starlette.testclient import TestClient

    app = create_app(stocked, None, "test chain")
    anonymous = TestClient(app)
    assert anonymous.post("/capture", json=document(object_event())).status_code == 401
    reader = bearer(stocked, "read")
    assert anonymous.get("/capture", headers=reader).status_code == 403
    assert anonymous.post("/capture", json={}, headers=reader).status_code == 403


# --- the real server, the hub's worker thread -----------------------------------------


@pytest.fixture
def site(stocked: RecordStore) -> Iterator[httpx.Client]:
    """The app under uvicorn with a started worker, as the hub runs it."""
    jobs = CaptureJobs(stocked, CaptureService(stocked))
    jobs.start()
    app = create_app(stocked, None, "test chain", limits=LIMITS, capture_jobs=jobs)
    try:
        with (
            serving(app, LIMITS) as url,
            httpx.Client(
                base_url=url, headers=bearer(stocked, "capture", "read"), timeout=30
            ) as http,
        ):
            yield http
    finally:
        jobs.stop()


def _event_with(value: str) -> bytes:
    # An extension field whose value is a numeric string: the event hash writes it as a
    # number, so it is where "1e1000000" once took 23 s of GIL.
    doc = document(object_event(**{"example:reading": "VALUE"}))
    doc["@context"] = [*doc["@context"], {"example": "https://example.com/"}]
    return json.dumps(doc).replace('"VALUE"', value).encode()


def test_the_worker_captures_what_the_server_accepted(site: httpx.Client) -> None:
    job = captured(site, document(object_event(), object_event(serial="1002")))
    assert (job["success"], job["created"]) == (True, 2), job


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"1e1000000"', "exponent"),  # 9 characters, 23 s once
        ('"' + "1" * 5000 + '"', "significant digits"),
    ],
)
def test_hostile_values_fail_their_job_quickly_and_the_site_stays_live(
    site: httpx.Client, value: str, says: str
) -> None:
    url = str(site.base_url).rstrip("/")
    headers = {"Content-Type": "application/json"}
    outcome = under_attack(
        url, lambda: site.post("/capture", content=_event_with(value), headers=headers)
    )
    assert outcome.result.status_code == 202, outcome.result.text
    assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()
    job = finished(site, outcome.result.headers["Location"], within_s=ANSWER_WITHIN_S * 10)
    (error,) = job["errors"]
    assert (error["index"], error["field"]) == (0, "example:reading"), job
    assert says in error["reason"], job


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"' + "1" * 30_000 + '"', "of 30000 characters"),  # 12 s once
        ("1" * 30_000, "outside the range of a double"),
        ("1" * 50, "number literal of 50 characters"),
        ("NaN", "is not JSON: unexpected character"),
        ("[" * 100_000 + "]" * 100_000, "nests deeper"),
        ('"\\ud800"', "surrogate"),
    ],
)
def test_hostile_json_is_refused_at_once_naming_the_limit(
    site: httpx.Client, value: str, says: str
) -> None:
    answer = site.post(
        "/capture", content=_event_with(value), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"], answer.text
    assert site.get("/capture").json() == []


def test_a_slow_capture_holds_no_request(stocked: RecordStore) -> None:
    """Capture runs in the worker, not the request: while one document is being captured
    the site answers other captures (202) and /healthz at once."""
    started, release = threading.Event(), threading.Event()

    class SlowCapture(CaptureService):
        def capture_document(self, *args: Any, **kwargs: Any) -> Any:
            started.set()
            release.wait(30)
            return super().capture_document(*args, **kwargs)

    jobs = CaptureJobs(stocked, SlowCapture(stocked))
    jobs.start()
    app = create_app(stocked, None, "test chain", capture_jobs=jobs)
    try:
        with (
            serving(app) as url,
            httpx.Client(base_url=url, headers=bearer(stocked, "capture"), timeout=30) as http,
        ):
            first = submitted(http, document(object_event()))
            assert started.wait(30)
            outcome = under_attack(
                url, lambda: submitted(http, document(object_event(serial="1002")))
            )
            assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()
            assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()
            assert http.get(outcome.result).json()["running"] is True
            release.set()
            assert finished(http, first)["success"] is True
            assert finished(http, outcome.result)["success"] is True
    finally:
        release.set()
        jobs.stop()


def test_error_behaviour_all_is_announced_by_the_server_and_refused_from_a_client(
    client: TestClient,
) -> None:
    """The binding: ``all`` "is to be used only by the server to announce it supports
    both rollback and proceed"; a capture request must choose one."""
    assert client.options("/capture").headers["GS1-Capture-Error-Behaviour"] == "all"
    answer = client.post(
        "/capture",
        json=document(object_event()),
        headers={"GS1-Capture-Error-Behaviour": "all"},
    )
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "'all' is what a server announces" in detail
    assert "send rollback or proceed" in detail
    assert client.get("/capture").json() == []


def test_a_client_s_backlog_of_running_jobs_is_bounded(stocked: RecordStore) -> None:
    """Finding 10: each job keeps its document (up to 8 MiB) until it is captured; past
    ``Limits.capture_running`` jobs not captured yet, 429 with Retry-After."""
    from starlette.testclient import TestClient

    jobs = CaptureJobs(stocked, CaptureService(stocked))
    app = create_app(
        stocked, None, "test chain", capture_jobs=jobs, limits=Limits(capture_running=2)
    )
    client = TestClient(app, headers=bearer(stocked, "capture", "read", name="erp-1"))
    for serial in ("1001", "1002"):  # left running: nobody drains them yet
        doc = document(object_event(serial=serial))
        jobs.submit(
            doc,
            json.dumps(doc),
            media_type="application/ld+json",
            behaviour="rollback",
            source="erp-1",
        )
    refused = client.post("/capture", json=document(object_event(serial="1003")))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "5"
    assert "the limit is 2 per client" in refused.json()["detail"]
    # Another client's backlog is its own (its job is captured after the answer, and
    # so are the two left running).
    other = TestClient(app, headers=bearer(stocked, "capture", name="erp-2"))
    assert other.post("/capture", json=document(object_event(serial="1004"))).status_code == 202
    jobs.drain()
    assert captured(client, document(object_event(serial="1003")))["success"] is True


def test_deeply_nested_xml_is_refused_naming_the_limit(client: TestClient) -> None:
    """Finding 9: nested extension elements were read recursively (150,000 levels: a 500,
    RecursionError); now bounded at once. 19,000 levels fit this app's body limit."""
    depth = 19_000
    xml = (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'xmlns:ex="http://ex.com/x" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">'
        "<EPCISBody><EventList><ObjectEvent><eventTime>2026-01-01T00:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>OBSERVE</action>"
        + "<ex:a>" * depth
        + "</ex:a>" * depth
        + "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )
    answer = client.post(
        "/capture", content=xml.encode(), headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json()["type"] == "epcisException:ValidationException"
    assert "deeper than 64 levels" in answer.json()["detail"]
    assert client.get("/capture").json() == []
