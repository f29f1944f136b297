"""EPCIS 2.0 query per the REST binding: ``GET /events`` and the resource endpoints.

* ``GET /events`` (and ``/epcis/events``, today's path, now an alias taking the standard
  parameters): the SimpleEventQuery of the URL parameters (``gs1.epcis.query``), one
  page of an ``EPCISQueryDocument``; ``perPage`` (default 30 as the binding says, at most
  ``MAX_PER_PAGE``: a larger value is lowered to it, the binding's "global upper limit")
  and ``nextPageToken``, with a ``Link: <…>; rel="next"`` header while more remain.
* ``GET /events/{eventID}``: one event by its body's ``eventID`` or its hash ID.
* ``GET /eventTypes``, ``/epcs``, ``/bizSteps``, ``/bizLocations``, ``/readPoints``,
  ``/dispositions``: the values stored events hold (a paged ``Collection``);
  ``/{resource}/{value}``: its sub-resources (``["events"]``), 404 for a value no event
  has; ``/{resource}/{value}/events``: ``/events`` with that value as a fixed filter.
* ``GET /``: the top-level resources; ``OPTIONS`` on each path: 204 with the versions.
* ``DELETE /nextPageToken/{token}``: 204 (tokens are stateless: nothing to release).

Every answer carries ``GS1-EPCIS-Version``/``GS1-CBV-Version`` (and ``-Min``/``-Max``).
Errors are problem+json with the binding's types: 400
``epcisException:QueryParameterException`` naming the parameter, 404
``epcisException:NoSuchResourceException``, 413
``epcisException:QueryTooLargeException`` when ``maxEventCount`` is exceeded.
Each event is its stored body with ``recordTime`` and an ``eventID``: the sender's
own, else the hash ID tracehub keeps it under.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gs1.epcis.event import (
    DECLARATION_SUFFIX,
    EPCIS_CONTEXT,
    SCHEMA_VERSION,
    declared_id,
    format_time,
)
from gs1.epcis.query import EventQuery, parse_query
from gs1.errors import QueryParameterInvalid
from traceability.records.entities import StoredEvent
from traceability.records.eventquery import QueryPage, Resource
from traceability.records.store import RecordStore
from web.problem import Problem

DEFAULT_PER_PAGE = 30  # the binding's default
MAX_PER_PAGE = 1000
VERSIONS = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-EPCIS-Min": "2.0.0",
    "GS1-EPCIS-Max": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-CBV-Min": "2.0.0",
    "GS1-CBV-Max": "2.0.0",
}
TOP_LEVEL = (
    "events",
    "eventTypes",
    "epcs",
    "bizSteps",
    "bizLocations",
    "readPoints",
    "dispositions",
    "capture",
    "queries",
)
STANDARD_TYPES = (
    "AggregationEvent",
    "AssociationEvent",
    "ObjectEvent",
    "TransactionEvent",
    "TransformationEvent",
)
# resource → the query parameter its /{value}/events fixes
RESOURCE_PARAMS: dict[str, str] = {
    "eventTypes": "eventType",
    "epcs": "MATCH_anyEPC",
    "bizSteps": "EQ_bizStep",
    "bizLocations": "EQ_bizLocation",
    "readPoints": "EQ_readPoint",
    "dispositions": "EQ_disposition",
}
_PATH_NAMES = {
    "eventTypes": "eventType",
    "epcs": "epc",
    "bizSteps": "bizStep",
    "bizLocations": "bizLocation",
    "readPoints": "readPoint",
    "dispositions": "disposition",
}
# /epcis/events' parameters before the binding (issue #15), and what replaces them
OLD_PARAMS = {
    "epc": "MATCH_epc (or MATCH_anyEPC)",
    "gtin": "MATCH_epc with a pattern such as urn:epc:idpat:sgtin:0614141.107346.*",
    "lot": "MATCH_epcClass with urn:epc:class:lgtin:<company>.<item>.<lot>",
    "location": "EQ_bizLocation or EQ_readPoint",
    "bizStep": "EQ_bizStep",
    "from": "GE_eventTime",
    "to": "LT_eventTime",
    "limit": "perPage",
}
_PAGING = ("perPage", "nextPageToken")
_MAX_COUNT_PAGES = 50  # pages read to decide maxEventCount before giving up (413)


def _query_problem(exc: QueryParameterInvalid) -> Problem:
    return Problem(
        400,
        "EPCIS query exception",
        str(exc),
        type="epcisException:QueryParameterException",
        headers=VERSIONS,
    )


def _not_found(detail: str) -> Problem:
    return Problem(
        404,
        "Resource not found",
        detail,
        type="epcisException:NoSuchResourceException",
        headers=VERSIONS,
    )


def _options(allow: str) -> Response:
    return Response(status_code=204, headers={"Allow": allow, **VERSIONS})


def _per_page(request: Request) -> int:
    text = request.query_params.get("perPage")
    if text is None:
        return DEFAULT_PER_PAGE
    # ASCII digits only: int() also takes "٣", " 3" and "3_0".
    if not (text.isascii() and text.isdigit()):
        raise _query_problem(
            QueryParameterInvalid("perPage", f"{text[:40]!r} is not a whole number")
        )
    value = MAX_PER_PAGE if len(text.lstrip("0")) > 18 else int(text)
    if value < 1:
        raise _query_problem(QueryParameterInvalid("perPage", f"{value}: must be at least 1"))
    return min(value, MAX_PER_PAGE)


def result_event(event: StoredEvent) -> dict[str, Any]:
    """An event as a query result: the body, its ``recordTime``, an ``eventID``."""
    body = event.document()
    own = body.get("eventID")
    return {
        **body,
        "eventID": own if isinstance(own, str) else declared_id(event.id),
        "recordTime": format_time(event.captured_at),
    }


def query_document(
    found: tuple[StoredEvent, ...], query_name: str = "SimpleEventQuery"
) -> dict[str, Any]:
    """The ``EPCISQueryDocument`` of a page of results."""
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(datetime.now(UTC)),
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": [result_event(e) for e in found]},
            }
        },
    }


def _next_link(request: Request, token: str) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
    query = urlencode([*kept, ("nextPageToken", token)], quote_via=quote)
    return f'<{request.url.replace(query=query)}>; rel="next"'


def _collection(members: list[str] | tuple[str, ...], headers: dict[str, str]) -> Response:
    return JSONResponse(
        {"@context": EPCIS_CONTEXT, "type": "Collection", "member": list(members)},
        headers={**VERSIONS, **headers},
    )


def query_routes(store: RecordStore) -> list[Route]:
    """``/events``, ``/events/{eventID}``, ``/eventTypes…``, ``/epcs…``, ``/bizSteps…``,
    ``/bizLocations…``, ``/readPoints…``, ``/dispositions…`` and the discovery ``/``."""

    def checked_query(request: Request, fixed: tuple[str, str] | None = None) -> EventQuery:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING]
        if fixed is not None:
            params.append(fixed)
        try:
            return parse_query(params)
        except QueryParameterInvalid as exc:
            raise _query_problem(exc) from exc

    def run(query: EventQuery, per_page: int, token: str | None) -> QueryPage:
        try:
            return store.run_query(query, per_page=per_page, token=token)
        except QueryParameterInvalid as exc:
            raise _query_problem(exc) from exc

    def check_max_count(query: EventQuery) -> None:
        maximum = query.max_event_count
        if maximum is None:
            return
        count, token = 0, None
        for _ in range(_MAX_COUNT_PAGES):
            page = run(query, maximum + 1, token)
            count += len(page.events)
            token = page.next_token
            if count > maximum:
                break
            if token is None:
                return
        raise Problem(
            413,
            "Query result too large",
            f"maxEventCount: more than {maximum} events match (or too many to count); "
            "narrow the query or raise maxEventCount",
            type="epcisException:QueryTooLargeException",
            headers=VERSIONS,
        )

    def answer(request: Request, fixed: tuple[str, str] | None = None) -> Response:
        query = checked_query(request, fixed)
        per_page = _per_page(request)
        check_max_count(query)
        page = run(query, per_page, request.query_params.get("nextPageToken"))
        headers = dict(VERSIONS)
        if page.next_token is not None:
            headers["Link"] = _next_link(request, page.next_token)
        return JSONResponse(query_document(page.events), headers=headers)

    def events_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        return answer(request)

    def alias_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        for name in request.query_params:
            if name in OLD_PARAMS:
                raise _query_problem(
                    QueryParameterInvalid(
                        name, f"is no longer a parameter of /epcis/events; use {OLD_PARAMS[name]}"
                    )
                )
        return answer(request)

    def event_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        event_id = request.path_params["eventID"]
        # The event and, when one was captured, its error declaration (same eventID).
        found = tuple(
            e
            for e in (store.get_event(event_id), store.get_event(event_id + DECLARATION_SUFFIX))
            if e is not None
        )
        if not found:
            try:
                by_id = parse_query([("EQ_eventID", event_id)])
            except QueryParameterInvalid:  # not a URI: no event has it as eventID
                by_id = None
            if by_id is not None:
                found = run(by_id, 2, None).events
        if not found:
            raise _not_found(f"event {event_id}: no stored event has this eventID or hash ID")
        return JSONResponse(query_document(found), headers=dict(VERSIONS))

    def root_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        return _collection(TOP_LEVEL, {})

    def token_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, DELETE")
        return Response(status_code=204, headers=dict(VERSIONS))

    def listing(resource: Resource) -> Any:
        def endpoint(request: Request) -> Response:
            if request.method == "OPTIONS":
                return _options("OPTIONS, GET")
            try:
                page = store.distinct_values(
                    resource,
                    per_page=_per_page(request),
                    token=request.query_params.get("nextPageToken"),
                )
            except QueryParameterInvalid as exc:
                raise _query_problem(exc) from exc
            members = list(page.values)
            if resource == "eventTypes" and request.query_params.get("nextPageToken") is None:
                members = sorted({*STANDARD_TYPES, *members})
            headers = {}
            if page.next_token is not None:
                headers["Link"] = _next_link(request, page.next_token)
            return _collection(members, headers)

        return endpoint

    def known(resource: Resource, value: str) -> None:
        if resource == "eventTypes" and value in STANDARD_TYPES:
            return
        if not store.knows_value(resource, value):
            raise _not_found(f"{_PATH_NAMES[resource]} {value}: no stored event has it")

    def item(resource: Resource) -> Any:
        def endpoint(request: Request) -> Response:
            if request.method == "OPTIONS":
                return _options("OPTIONS, GET")
            known(resource, request.path_params[_PATH_NAMES[resource]])
            return _collection(["events"], {})

        return endpoint

    def item_events(resource: Resource) -> Any:
        def endpoint(request: Request) -> Response:
            if request.method == "OPTIONS":
                return _options("OPTIONS, GET")
            value = request.path_params[_PATH_NAMES[resource]]
            param = RESOURCE_PARAMS[resource]
            if resource == "epcs" and value.startswith(("urn:epc:class:", "urn:epc:idpat:")):
                param = "MATCH_anyEPCClass"
            return answer(request, (param, value))

        return endpoint

    methods = ["GET", "OPTIONS"]
    routes = [
        Route("/", root_endpoint, methods=methods),
        Route("/events", events_endpoint, methods=methods),
        Route("/epcis/events", alias_endpoint, methods=methods),
        Route("/events/{eventID:path}", event_endpoint, methods=methods),
        Route("/nextPageToken/{token}", token_endpoint, methods=["DELETE", "OPTIONS"]),
    ]
    for resource, name in _PATH_NAMES.items():
        kind: Resource = resource  # type: ignore[assignment]
        routes.append(Route(f"/{resource}", listing(kind), methods=methods))
        routes.append(
            Route(f"/{resource}/{{{name}:path}}/events", item_events(kind), methods=methods)
        )
        routes.append(Route(f"/{resource}/{{{name}:path}}", item(kind), methods=methods))
    return routes
