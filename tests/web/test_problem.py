"""RFC 9457 problem details (``web.problem``): the one error shape of every JSON
endpoint, from the exception to the bytes on the wire."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest
from starlette.requests import Request

from tests.support.events import GTIN
from tests.support.webapp import app_for, bearer, make_client
from traceability.records.store import RecordStore
from web.problem import PROBLEM_TYPE, Problem, handle_problem

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


def answer(problem: Exception) -> tuple[int, bytes, dict[str, str]]:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    response = asyncio.run(handle_problem(request, problem))
    return response.status_code, bytes(response.body), dict(response.headers)


def test_a_problem_is_answered_as_problem_json() -> None:
    status, body, headers = answer(Problem(400, "bad GTIN", "GTIN 123: has 3 digits"))
    assert status == 400
    assert body == b'{"type":"about:blank","title":"bad GTIN","detail":"GTIN 123: has 3 digits"}'
    assert headers["content-type"] == PROBLEM_TYPE == "application/problem+json"


def test_extra_headers_go_with_the_answer() -> None:
    problem = Problem(401, "token required", "send a token", headers={"WWW-Authenticate": "Bearer"})
    status, body, headers = answer(problem)
    assert status == 401
    assert headers["www-authenticate"] == "Bearer"
    assert json.loads(body)["detail"] == "send a token"
    assert str(problem) == "401 token required: send a token"


def test_the_handler_answers_problems_only() -> None:
    with pytest.raises(KeyError):
        answer(KeyError("not a problem"))


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/lots/123/L1/recall", 400, "bad GTIN"),  # web.api
        (f"/lots/{GTIN}/L1/exposure", 503, "exposure unavailable"),
        ("/events?GE_eventTime=yesterday", 400, "EPCIS query exception"),  # web.epcisquery
        ("/epcis/events", 401, "credentials required"),  # web.access, no token
        (f"/auditor/lots/{GTIN}/L1/events", 403, "scope required"),  # a reader's token
        (f"/evidence/{GTIN}/L1", 404, "not public"),  # web.pages
    ],
)
def test_every_json_endpoint_answers_errors_the_same_way(
    stocked: RecordStore, path: str, status: int, title: str
) -> None:
    reader = bearer(stocked, "read")
    with make_client(app_for(stocked)) as client:
        response = client.get(path, headers=reader if status != 401 else None)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_TYPE
    body = response.json()
    assert list(body) == ["type", "title", "detail"]
    # the binding's routes answer with the binding's problem types (web.epcisquery,
    # web.access); the rest of the hub with about:blank
    binding = path.startswith(("/events", "/epcis/"))
    expected = "about:blank"
    if binding:
        expected = (
            "epcisException:SecurityException"
            if status in (401, 403)
            else "epcisException:QueryParameterException"
        )
    assert body["type"] == expected
    assert body["title"] == title
    assert body["detail"]


def test_capture_errors_and_token_refusals_are_problems(stocked: RecordStore) -> None:
    writer = bearer(stocked, "capture")
    with make_client(app_for(stocked)) as client:
        bad = client.post(
            "/epcis/capture", content=b"{", headers={**writer, "Content-Type": "application/json"}
        )
        refused = client.get(f"/lots/{GTIN}/L1/custody")
        wrong = client.get(
            f"/auditor/lots/{GTIN}/L1/events", headers={"Authorization": "Bearer thc_x"}
        )
    assert bad.status_code == 400
    assert bad.json()["title"] == "not JSON"
    assert bad.json()["detail"].startswith("body: ")
    for response, title in ((refused, "credentials required"), (wrong, "unknown token")):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_TYPE
        assert response.headers["www-authenticate"].startswith('Bearer realm="tracehub"')
        assert response.json()["title"] == title
        assert "Authorization: " in response.json()["detail"]
