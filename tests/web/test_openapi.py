"""``GET /openapi.json`` (``web.openapi``): a valid OpenAPI 3.0 document of exactly the
routes the app serves, the binding's path items where they overlap, the scopes the app
enforces; checked against the real app (real SQLite records, Starlette's TestClient)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import OpenAPIV30SpecValidator
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, DOCK, GTIN
from tests.support.webapp import SteppedSeries, app_for, bearer, make_client
from tests.traceability.incidents.conftest import SIGNER
from traceability.incidents.service import IncidentService
from traceability.records.clients import SCOPES
from traceability.records.store import RecordStore
from web.app import API_SCOPES
from web.openapi import (
    SCOPE_KEY,
    SECURITY,
    UNDESCRIBED,
    binding,
    build_document,
    oas30,
    openapi_path,
)

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

BINDING = Path(__file__).parents[2] / "gs1" / "epcis" / "standards"
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The binding tells an ObjectEvent from an extension event by ``type`` being a URI (its
# ``oneOf``): formats are checked, ``uri`` as RFC 3986 absolute URIs (a scheme first).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")
FORMATS = FormatChecker()
FORMATS.checks("uri")(lambda value: not isinstance(value, str) or _URI.match(value) is not None)
# A value for every path parameter the documented paths name.
SAMPLES = {
    "gtin": GTIN,
    "lot": "L1",
    "rest": f"{GTIN}/10/L1",
    "path": "tracehub.css",
    "eventID": "urn:uuid:6a5b6ce3-1c04-4b7f-9e37-4b6a8f1b2c3d",
    "eventType": "ObjectEvent",
    "epc": "urn:epc:id:sgtin:4012345.011111.1001",
    "bizStep": "arriving",
    "bizLocation": "urn:epc:id:sgln:4012345.00001.0",
    "readPoint": "urn:epc:id:sgln:4012345.00001.0",
    "disposition": "in_progress",
}


@pytest.fixture
def app(with_events: RecordStore, tmp_path: Path) -> Iterator[Starlette]:
    """The app with every optional part that adds routes (incidents, exposure)."""
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    series = SteppedSeries({DOCK: [3.0, 2.5], COLD_ROOM: [2.0, 2.2, 2.1]})
    yield app_for(with_events, series, incidents=IncidentService(with_events, ledger, SIGNER))
    ledger.close()


def document_of(client: TestClient, store: RecordStore) -> dict[str, Any]:
    answer = client.get("/openapi.json", headers=bearer(store, "read"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    found: dict[str, Any] = answer.json()
    return found


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in OPERATIONS:
                yield path, method, operation


def served_by(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route, read from Starlette's route objects."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            assert isinstance(route.app, StaticFiles), f"{route.path}: a mount of what?"
            found.add((route.path + "/{path}", "get"))
        elif isinstance(route, WebSocketRoute):
            found.add((re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path), "get"))
        else:
            assert isinstance(route, Route)
            methods = {m.lower() for m in route.methods or ()} - {"head"}
            found |= {(re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path), m) for m in methods}
    return found


def scope_in_table(path: str, method: str) -> str | None:
    """The scope web.app declares (read straight from API_SCOPES; auditor routes are
    protected with ``auditor`` in web.app)."""
    if path.startswith("/auditor/"):
        return "auditor"
    declared = next((s for p, s in API_SCOPES.items() if openapi_path(p) == path), None)
    if declared is None or isinstance(declared, str):
        return declared
    method = method.upper()
    return declared.get(method) or (declared.get("GET") if method == "OPTIONS" else None)


def url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES.get(m[1], "x"), path)


def test_the_served_document_is_valid_openapi_3(app: Starlette, with_events: RecordStore) -> None:
    with make_client(app) as client:
        document = document_of(client, with_events)
        again = client.get("/openapi.json", headers=bearer(with_events, "read"))
    assert document["openapi"] == "3.0.3"
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []
    assert again.json() == document  # built once per app, kept
    assert "/lots/{gtin}/{lot}/exposure" in document["paths"]


def test_every_served_route_is_documented_and_nothing_else(
    app: Starlette, with_events: RecordStore
) -> None:
    with make_client(app) as client:
        document = document_of(client, with_events)
        documented = {(path, method) for path, method, _ in operations(document)}
        assert documented == served_by(app.routes)
        assert [(p, m) for p, m, op in operations(document) if op.get(UNDESCRIBED)] == []
        # and the router knows each one: no plain 404/405 of an unmatched route
        for path, method in sorted(documented):
            answer = client.request(method.upper(), url(path), headers=bearer(with_events, "admin"))
            unmatched = answer.headers.get("content-type", "").startswith("text/plain") and (
                answer.status_code in (404, 405)
            )
            assert not unmatched, f"{method.upper()} {path}: {answer.status_code} {answer.text}"


def test_each_operation_names_the_scope_the_app_enforces(
    app: Starlette, with_events: RecordStore
) -> None:
    held: dict[str, dict[str, str]] = {}
    with make_client(app) as client:
        document = document_of(client, with_events)
        for path, method, operation in operations(document):
            scope = scope_in_table(path, method)
            assert operation.get(SCOPE_KEY) == scope, f"{method} {path}"
            anonymous = client.request(method.upper(), url(path))
            if scope is None:
                assert operation["security"] == [], f"{method} {path}"
                assert anonymous.status_code not in (401, 403), f"{method} {path}"
                continue
            assert operation["security"] == [{SECURITY: []}], f"{method} {path}"
            assert anonymous.status_code == 401, f"{method} {path}: {anonymous.text}"
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            other = next(s for s in SCOPES if s not in (scope, "admin"))
            if other not in held:
                held[other] = bearer(with_events, other)
            refused = client.request(method.upper(), url(path), headers=held[other])
            assert refused.status_code == 403, f"{method} {path}: {refused.text}"
            assert scope in refused.json()["detail"]
    scheme = document["components"]["securitySchemes"][SECURITY]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert all(f"`{s}`" in scheme["description"] for s in SCOPES)


def test_with_public_reads_read_operations_need_no_token(with_events: RecordStore) -> None:
    with make_client(app_for(with_events, public_read=True)) as client:
        document = client.get("/openapi.json").json()  # itself a read
    for path, method, operation in operations(document):
        if operation.get(SCOPE_KEY) == "read":
            assert operation["security"] == [], f"{method} {path}"
        elif SCOPE_KEY in operation:
            assert operation["security"] == [{SECURITY: []}], f"{method} {path}"
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []


def test_answers_hold_to_the_documented_schemas(app: Starlette, with_events: RecordStore) -> None:
    reader, auditor_token = bearer(with_events, "read"), bearer(with_events, "auditor")
    with make_client(app) as client:
        document = document_of(client, with_events)
        served = document["paths"]
        events = client.get("/events", headers=reader).json()
        first = events["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"]
        asked = {
            path: url(path)
            for path in (
                "/lots/{gtin}/{lot}/custody",
                "/lots/{gtin}/{lot}/recall",
                "/lots/{gtin}/{lot}/exposure",
                "/healthz",
                "/",
                "/events",
                "/epcis/events",
                "/eventTypes",
            )
        }
        asked["/events/{eventID}"] = "/events/" + quote(first, safe="")
        auditor = "/auditor/lots/{gtin}/{lot}/exposure"
        asked[auditor] = url(auditor)
        for path, address in asked.items():
            answer = client.get(address, headers=auditor_token if path == auditor else reader)
            assert answer.status_code == 200, f"{path}: {answer.text}"
            response = resolved(document, served[path]["get"]["responses"]["200"])
            schema = response["content"]["application/json"]["schema"]
            validator = OAS30Validator(
                {**schema, "components": document["components"]}, format_checker=FORMATS
            )
            errors = [e.message for e in validator.iter_errors(answer.json())]
            assert errors == [], f"{path}: {errors[:3]}"


def test_refusals_of_binding_routes_hold_to_the_binding(
    app: Starlette, with_events: RecordStore
) -> None:
    with make_client(app) as client:
        document = document_of(client, with_events)
        answers = {
            "401": client.get("/events"),
            "403": client.get("/events", headers=bearer(with_events, "capture")),
        }
    for status, answer in answers.items():
        assert answer.status_code == int(status)
        response = resolved(document, document["paths"]["/events"]["get"]["responses"][status])
        schema = response["content"][answer.headers["content-type"]]["schema"]
        validator = OAS30Validator(
            {**schema, "components": document["components"]}, format_checker=FORMATS
        )
        assert [e.message for e in validator.iter_errors(answer.json())] == [], status


def resolved(document: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """``value``, its ``$ref`` (into the document) followed."""
    while "$ref" in value:
        found: Any = document
        for part in value["$ref"].removeprefix("#/").split("/"):
            found = found[part]
        value = found
    return value


def test_a_binding_path_is_the_binding_s_path_item() -> None:
    """Every binding path, served with the binding's methods, is GS1's path item
    (parameters, responses, request bodies), plus the security tracehub adds."""
    gs1 = binding()
    assert gs1 == json.loads((BINDING / "epcis-rest-binding-openapi.json").read_text())
    routes: list[BaseRoute] = [
        Route(path, _endpoint, methods=[m.upper() for m in item if m in OPERATIONS])
        for path, item in gs1["paths"].items()
    ]
    document = build_document(routes, API_SCOPES, version="test")
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []
    assert set(document["paths"]) == set(gs1["paths"])
    for path, item in gs1["paths"].items():
        served = document["paths"][path]
        assert served.get("parameters") == item.get("parameters"), path
        for method in (m for m in item if m in OPERATIONS):
            ours = {k: v for k, v in served[method].items() if k not in (SCOPE_KEY, "security")}
            added = set(ours["responses"]) - set(item[method]["responses"])
            assert added <= {"401", "403"}, f"{method} {path}"  # where GS1 names none
            ours["responses"] = {k: v for k, v in ours["responses"].items() if k not in added}
            assert ours == item[method], f"{method} {path}"
            assert served[method][SCOPE_KEY] == scope_in_table(path, method)
    # every component the binding's paths need came along (and nothing it does not know)
    for kind, found in document["components"].items():
        if kind != "securitySchemes":
            assert set(found) <= set(gs1["components"][kind]), kind


def test_a_served_binding_method_only_documents_that_method() -> None:
    routes: list[BaseRoute] = [
        Route("/capture", _endpoint, methods=["POST", "OPTIONS"]),
        Route("/epcis/capture", _endpoint, methods=["POST", "OPTIONS"]),
        Route("/eventTypes/{eventType}/events", _endpoint, methods=["GET"]),
        WebSocketRoute("/queries/{queryName}/subscriptions", _socket),
    ]
    document = build_document(routes, API_SCOPES, version="test")
    paths = document["paths"]
    assert {m for m in paths["/capture"] if m in OPERATIONS} == {"post", "options"}
    assert paths["/epcis/capture"]["post"]["summary"].startswith("Alias of /capture")
    assert (
        paths["/epcis/capture"]["post"]["requestBody"]
        == (binding()["paths"]["/capture"]["post"]["requestBody"])
    )
    assert {m for m in paths["/queries/{queryName}/subscriptions"] if m in OPERATIONS} == {"get"}
    assert paths["/queries/{queryName}/subscriptions"]["get"][SCOPE_KEY] == "subscribe"
    assert paths["/capture"]["options"][SCOPE_KEY] == "capture"  # OPTIONS takes GET's
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []


def test_a_route_described_nowhere_is_listed_as_undescribed() -> None:
    routes: list[BaseRoute] = [
        Route("/made-up/{thing:path}", _endpoint),
        Route("/events", _endpoint, methods=["PUT"]),  # a method the binding lacks
    ]
    paths = build_document(routes, API_SCOPES, version="test")["paths"]
    assert paths["/made-up/{thing}"]["get"][UNDESCRIBED] is True
    assert paths["/events"]["put"][UNDESCRIBED] is True
    assert paths["/events"]["put"][SCOPE_KEY] == "read"


def test_the_schedule_patterns_are_regular_expressions_in_the_served_copy() -> None:
    routes: list[BaseRoute] = [
        Route("/queries/{queryName}/subscriptions", _endpoint, methods=["GET", "POST"])
    ]
    schemas = build_document(routes, API_SCOPES, version="test")["components"]["schemas"]
    repaired = {name: s for name, s in schemas.items() if "x-gs1-pattern" in s}
    assert set(repaired) == {
        f"GS1-Query-{unit}" for unit in ("Second", "Minute", "Hour", "DayOfMonth", "Month")
    } | {"GS1-Query-DayOfWeek"}
    for name, schema in repaired.items():
        assert schema["x-gs1-pattern"] == binding()["components"]["schemas"][name]["pattern"]
        pattern = re.compile(schema["pattern"])
        assert [bool(pattern.fullmatch(v)) for v in ("0,[5-10],30", "7", "5,,6", "every")] == [
            True,
            True,
            False,
            False,
        ]


def test_pydantic_schemas_are_written_in_the_openapi_3_0_dialect() -> None:
    schema = {
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
        "default": None,
    }
    assert oas30(schema) == {
        "type": "string",
        "format": "date-time",
        "default": None,
        "nullable": True,
    }
    assert oas30({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}) == {
        "anyOf": [{"$ref": "#/x"}, {"type": "object", "nullable": True, "enum": [None]}]
    }
    assert oas30({"const": "a", "exclusiveMinimum": 0}) == {
        "enum": ["a"],
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    assert oas30({"$ref": "#/x", "description": "d"}) == {
        "allOf": [{"$ref": "#/x"}],
        "description": "d",
    }
    assert oas30({"prefixItems": [{"type": "string"}, {"type": "number"}]}) == {
        "items": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "minItems": 2,
        "maxItems": 2,
    }


async def _endpoint(_request: object) -> Response:
    return Response()


async def _socket(websocket: WebSocket) -> None:
    await websocket.close()
