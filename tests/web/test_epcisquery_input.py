"""Odd input to the query side answers 400 naming the parameter, or 404, never 500.

The inputs the review found answering 500 (a superscript digit in ``perPage``, non-ASCII
and forged page tokens, times outside the years 1-9999 once in UTC, a non-URI eventID in
``/events/{eventID}``), and each parameter of the binding's ``GET /events`` (and the
standard's pattern names) with garbage values, over the real app on SQLite.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from gs1.epcis.query import parse_query
from tests.support.events import object_event
from tests.support.webapp import bearer
from traceability.capture import CaptureService
from traceability.records.eventquery import fingerprint
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
BINDING = Path("/work/shared/standards/gs1-epcis-2.0/rest-binding/openapi.json")
QUERY_PROBLEM = "epcisException:QueryParameterException"
NOT_FOUND = "epcisException:NoSuchResourceException"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    store = RecordStore.open(f"sqlite:///{tmp_path_factory.mktemp('odd') / 'records.db'}")
    try:
        report = CaptureService(store).capture_document(
            {
                "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-11-22T10:00:00Z",
                "epcisBody": {"eventList": [object_event(serial=s) for s in "123"]},
            }
        )
        assert report.ok, report.errors
        with TestClient(create_app(store, None, "test chain"), raise_server_exceptions=False) as c:
            c.headers.update(bearer(store, "read", "capture", "subscribe", name="partner"))
            yield c
    finally:
        store.close()


def _token(**fields: Any) -> str:
    """A forged ``/events`` token: bound to the empty query, with these fields."""
    data = {"q": fingerprint(parse_query([])), "k": "2026-01-01T00:00:00+00:00", "i": "x"}
    data.update(fields)
    raw = json.dumps(data, allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


ODD: list[tuple[str, int, str | None]] = [
    # (path, status, the parameter the detail starts with; None: a 404)
    ("/capture?perPage=%C2%B2", 400, "perPage"),
    ("/queries?perPage=%C2%B2", 400, "perPage"),
    ("/events?perPage=%C2%B2", 400, "perPage"),
    ("/events?perPage=%D9%A3", 400, "perPage"),  # an Arabic-Indic 3, which int() takes
    ("/events?orderBy=eventTime&eventCountLimit=%C2%B2", 400, "eventCountLimit"),
    ("/events?maxEventCount=%D9%A3", 400, "maxEventCount"),
    ("/events?maxEventCount=" + "9" * 200, 400, "maxEventCount"),
    ("/queries?nextPageToken=%F0%9F%98%80", 400, "nextPageToken"),
    ("/events?nextPageToken=%F0%9F%98%80", 400, "nextPageToken"),
    ("/capture?nextPageToken=" + _b64(b"0001-01-01T00:00:00+14:00|x"), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(k="2026-01-01T00:00:00", n=0), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(k="0001-01-01T00:00:00+14:00", n=0), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=float("inf")), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=1e308), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=-5), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=True), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n="3"), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=0, k=5), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _token(n=0, i=None), 400, "nextPageToken"),
    ("/events?nextPageToken=" + _b64(b"[" * 2500), 400, "nextPageToken"),
    ("/epcs?nextPageToken=" + _b64(b'{"r":"epcs","a":' + b"[" * 2500), 400, "nextPageToken"),
    ("/events?LT_eventTime=0001-01-01T00:00:00%2B14:00", 400, "LT_eventTime"),
    ("/events?GE_eventTime=9999-12-31T23:59:59-14:00", 400, "GE_eventTime"),
    ("/events?GE_recordTime=0001-01-01T00:00:00%2B00:01", 400, "GE_recordTime"),
    ("/events?LT_errorDeclarationTime=0001-01-01T00:00:00%2B14:00", 400, "LT_errorDeclarationTime"),
    ("/events?GE_time=0001-01-01T00:00:00%2B14:00", 400, "GE_time"),
    ("/events?GT_example:when=0001-01-01T00:00:00%2B14:00", 400, "GT_example:when"),
    ("/events/%00", 404, None),
    ("/events/not%20a%20uri", 404, None),
    ("/events/" + "x" * 2000, 404, None),
]


@pytest.mark.parametrize(("path", "status", "named"), ODD, ids=[p[:60] for p, _, _ in ODD])
def test_odd_input_is_a_400_naming_the_parameter_or_a_404(
    client: TestClient, path: str, status: int, named: str | None
) -> None:
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    if named is None:
        assert problem["type"] == NOT_FOUND
    else:
        assert problem["type"] == QUERY_PROBLEM
        assert problem["detail"].startswith(f"{named}:"), problem["detail"]


def _binding_parameters() -> list[str]:
    spec = json.loads(BINDING.read_text())
    shared = spec["components"]["parameters"]
    names = []
    for given in spec["paths"]["/events"]["get"]["parameters"]:
        found = shared[given["$ref"].rsplit("/", 1)[1]] if "$ref" in given else given
        if found["in"] == "query":
            names.append(found["name"])
    return names


# The standard's parameter families the binding names by pattern only.
PATTERNED = [
    "GE_time",
    "LT_time",
    "GE_value_CEL",
    "EQ_value_KGM",
    "GT_percRank",
    "EXISTS_sensorElementList",
    "EQ_bizTransaction_urn:epcglobal:cbv:btt:po",
    "EQ_source_owning_party",
    "EQ_destination_location",
    "EQ_ILMD_example:lot",
    "EQ_INNER_example:temp",
    "GT_example:temp",
    "EXISTS_example:temp",
    "EQ_example:temp",
]
GARBAGE = [
    "",
    "\u00b2",
    "\x00",
    "\U0001f600",
    "|",
    "a||b",
    "x" * 3000,
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-13-45T99:00:00Z",
    "1e400",
    "nan",
    "-1",
    "urn:",
    "*",
    "%",
    "[[[[",
]


@pytest.mark.parametrize("name", [*_binding_parameters(), *PATTERNED])
def test_each_parameter_with_garbage_is_answered_never_500(client: TestClient, name: str) -> None:
    refused = []
    for value in GARBAGE:
        answer = client.get(f"/events?{quote(name, safe=':')}={quote(value)}")
        assert answer.status_code in (200, 400), (value, answer.status_code, answer.text[:300])
        if answer.status_code == 400:
            problem = answer.json()
            assert problem["type"] == QUERY_PROBLEM
            assert problem["detail"].startswith(f"{name}:"), (value, problem["detail"])
            refused.append(value)
    assert refused  # every parameter refuses at least one of them


@pytest.mark.parametrize(
    "template",
    ["/events/{}", "/epcs/{}/events", "/epcs/{}", "/bizSteps/{}/events", "/readPoints/{}"],
)
def test_odd_path_values_are_a_404_or_a_400_never_500(client: TestClient, template: str) -> None:
    for value in GARBAGE:
        if not value:
            continue
        answer = client.get(template.format(quote(value, safe="")))
        # 414: a path over the app's limit
        assert answer.status_code in (200, 400, 404, 414), (value, answer.status_code, answer.text)
