"""EPCIS 2.0 named queries and subscriptions: ``/queries…`` (webhooks and WebSocket).

Per the REST binding (``openapi.json`` paths ``/queries…``; scopes in ``web.app``):

* ``POST /queries`` ``{"name", "query"}`` (query-schema.json) → 201, ``Location``; 400
  ``QueryParameterException`` naming the parameter, 409 when the name is taken.
  ``GET /queries`` (``perPage``, ``nextPageToken``, ``Link: rel="next"``),
  ``GET``/``DELETE /queries/{name}``: only its owner or an admin deletes it (404 for
  another client, as for subscriptions); deleting unsubscribes everyone, so the owner
  gets 409 while other clients' active subscriptions use it.
* ``GET /queries/{name}/events``: the query run, an EPCISQueryDocument, paged.
* ``POST /queries/{name}/subscriptions`` ``{"dest", "signatureToken", "stream": true,
  "reportIfEmpty", "initialRecordTime"}`` → 201 with the subscription and ``Location``;
  a ``schedule`` is refused (400 ``SubscriptionControlsException``): this repository
  streams. ``GET`` lists the caller's active subscriptions, ``GET``/``DELETE
  …/subscriptions/{id}`` (only the owner, or an admin, sees or cancels one). Beyond the
  client's or the site's bound on active subscriptions: 409 naming the bound.
  Webhook deliveries: ``traceability.subscriptions.delivery`` (``GS1-Signature``).
* WebSocket ``GET /queries/{name}/events`` (``Upgrade: websocket``): a subscription
  over a WebSocket, its messages and acks (``web.subscriptionsocket``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from gs1.epcis.event import format_time
from gs1.errors import QueryParameterInvalid
from traceability.errors import RecordConflict, RecordNotFound, StoreUnavailable
from traceability.records.subscriptions import NamedQueryRecord, SubscriptionRecord
from traceability.subscriptions.document import query_document
from traceability.subscriptions.errors import SubscriptionInvalid, SubscriptionLimit
from traceability.subscriptions.model import webhook_request
from traceability.subscriptions.service import Subscriptions
from web.access import Access, client_of, require_json
from web.epcisquery import VERSIONS
from web.errors import JsonRefused
from web.jsonbody import read_json
from web.limits import Limits
from web.problem import Problem
from web.subscriptionsocket import serve_socket

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
QUERY_PARAMETER = "epcisException:QueryParameterException"
NO_SUCH_NAME = "epcisException:NoSuchNameException"
EXISTS = "epcisException:ResourceAlreadyExistsException"
SUBSCRIPTION_CONTROLS = "epcisException:SubscriptionControlsException"
VALIDATION = "epcisException:ValidationException"
T = TypeVar("T")


def named_query_routes(
    subscriptions: Subscriptions, access: Access, limits: Limits | None = None
) -> list[BaseRoute]:
    """``/queries``, ``/queries/{queryName}``, ``…/events``, ``…/subscriptions``: HTTP
    routes (protected by ``web.app`` from ``API_SCOPES``) and the WebSocket route
    (it authenticates its own handshake)."""
    bounds = limits or Limits()
    store = subscriptions.store

    def body_of(raw: bytes) -> Any:
        try:
            return read_json(raw, bounds.json_limits)
        except JsonRefused as exc:
            raise Problem(400, "not JSON", str(exc), type=VALIDATION) from exc

    def create(request: Request, raw: bytes) -> Response:
        try:
            named = subscriptions.create_query(body_of(raw), _owner(request))
        except RecordConflict as exc:
            raise Problem(409, "query exists", str(exc), type=EXISTS) from exc
        location = f"/queries/{quote(named.name)}"
        return JSONResponse(_query_json(named), 201, headers={"Location": location})

    async def queries_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("GET, POST, OPTIONS")
        if request.method == "POST":
            require_json(request)
            raw = await request.body()
            return await run_in_threadpool(_answer, create, request, raw)
        return await run_in_threadpool(_answer, list_queries, request)

    def list_queries(request: Request) -> Response:
        per_page, after = _paging(request)
        found = subscriptions.queries(after=after, limit=per_page + 1)
        page, more = found[:per_page], len(found) > per_page
        return _paged([_query_json(q) for q in page], request, page[-1].name if more else None)

    def query_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("GET, DELETE, OPTIONS")
        name = request.path_params["queryName"]
        if request.method == "DELETE":
            try:
                subscriptions.delete_query(name, _owner(request), admin=_admin(request))
            except RecordConflict as exc:  # other clients' subscriptions use it
                raise Problem(409, "query in use", str(exc), type=SUBSCRIPTION_CONTROLS) from exc
            return Response(status_code=204)
        return JSONResponse(_query_json(subscriptions.query(name)))

    def events_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("GET, OPTIONS")
        for key in request.query_params:
            if key not in ("perPage", "nextPageToken"):
                raise Problem(
                    400,
                    "bad query parameter",
                    f"{key}: not a parameter of a named query's events (perPage, "
                    "nextPageToken); stream and initialRecordTime need a WebSocket upgrade",
                    type=QUERY_PARAMETER,
                )
        name = request.path_params["queryName"]
        per_page, _ = _paging(request, token_is_name=False)
        try:
            page = store.run_query(
                subscriptions.event_query(name),
                per_page=per_page,
                token=request.query_params.get("nextPageToken"),
            )
        except QueryParameterInvalid as exc:
            raise _query_problem(exc) from exc
        document = query_document(page.events, query_name=name, created=datetime.now(UTC))
        headers = {}
        if page.next_token is not None:
            query = urlencode({"perPage": per_page, "nextPageToken": page.next_token})
            headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
        return JSONResponse(document, headers=headers)

    def subscribe(request: Request, raw: bytes) -> Response:
        name = request.path_params["queryName"]
        record = subscriptions.subscribe(name, webhook_request(body_of(raw)), _owner(request))
        location = f"/queries/{quote(name)}/subscriptions/{record.id}"
        return JSONResponse(_subscription_json(record, None), 201, headers={"Location": location})

    async def subscriptions_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("GET, POST, OPTIONS")
        if request.method == "POST":
            require_json(request)
            raw = await request.body()
            return await run_in_threadpool(_answer, subscribe, request, raw)
        return await run_in_threadpool(_answer, list_subscriptions, request)

    def list_subscriptions(request: Request) -> Response:
        per_page, after = _paging(request)
        found = subscriptions.subscriptions(
            request.path_params["queryName"],
            _owner(request),
            admin=_admin(request),
            after=after,
            limit=per_page + 1,
        )
        page, more = found[:per_page], len(found) > per_page
        return _paged(
            [_subscription_json(s, None) for s in page], request, page[-1].id if more else None
        )

    def subscription_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("GET, DELETE, OPTIONS")
        name, sid = request.path_params["queryName"], request.path_params["subscriptionID"]
        if request.method == "DELETE":
            subscriptions.unsubscribe(name, sid, _owner(request), admin=_admin(request))
            return Response(status_code=204)
        record = subscriptions.subscription(name, sid, _owner(request), admin=_admin(request))
        return JSONResponse(_subscription_json(record, store.subscription_counts(sid)))

    async def events_socket(websocket: WebSocket) -> None:
        await serve_socket(websocket, subscriptions, access)

    def sync(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return _versioned(_answer(handler, request))

        return endpoint

    def versioned(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return _versioned(await handler(request))

        return endpoint

    return [
        Route("/queries", versioned(queries_endpoint), methods=["GET", "POST", "OPTIONS"]),
        Route("/queries/{queryName}", sync(query_endpoint), methods=["GET", "DELETE", "OPTIONS"]),
        Route("/queries/{queryName}/events", sync(events_endpoint), methods=["GET", "OPTIONS"]),
        WebSocketRoute("/queries/{queryName}/events", events_socket),
        Route(
            "/queries/{queryName}/subscriptions",
            versioned(subscriptions_endpoint),
            methods=["GET", "POST", "OPTIONS"],
        ),
        Route(
            "/queries/{queryName}/subscriptions/{subscriptionID}",
            sync(subscription_endpoint),
            methods=["GET", "DELETE", "OPTIONS"],
        ),
    ]


def _answer(handler: Callable[..., T], *args: Any) -> T:
    """``handler(*args)`` with the service's errors as the binding's problems."""
    try:
        return handler(*args)
    except RecordNotFound as exc:
        raise Problem(404, "not found", str(exc), type=NO_SUCH_NAME) from exc
    except QueryParameterInvalid as exc:
        raise _query_problem(exc) from exc
    except SubscriptionInvalid as exc:
        kind = SUBSCRIPTION_CONTROLS if exc.field in _CONTROLS else VALIDATION
        raise Problem(400, "bad subscription", str(exc), type=kind) from exc
    except SubscriptionLimit as exc:
        raise Problem(409, "too many subscriptions", str(exc), type=SUBSCRIPTION_CONTROLS) from exc
    except StoreUnavailable as exc:
        raise Problem(503, "records unavailable", str(exc)) from exc


_CONTROLS = ("stream", "schedule", "reportIfEmpty", "initialRecordTime", "subscriptionID")


def _versioned(response: Response) -> Response:
    """``response`` with the EPCIS and CBV versions it speaks (the binding's headers)."""
    response.headers.update(VERSIONS)
    return response


def _query_problem(exc: QueryParameterInvalid) -> Problem:
    return Problem(400, "bad query parameter", str(exc), type=QUERY_PARAMETER)


def _owner(request: Request) -> str | None:
    client = client_of(request)
    return None if client is None else client.name


def _admin(request: Request) -> bool:
    client = client_of(request)
    return client is not None and "admin" in client.scopes


def _options(allow: str) -> Response:
    return Response(status_code=204, headers={"Allow": allow})


def _paging(request: Request, *, token_is_name: bool = True) -> tuple[int, str | None]:
    """``perPage`` (1..1000, default 30) and the key ``nextPageToken`` continues after."""
    text = request.query_params.get("perPage", str(DEFAULT_PER_PAGE))
    # isdigit alone takes "²", which int() refuses
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PER_PAGE:
        raise Problem(
            400,
            "bad query parameter",
            f"perPage: {text!r}; give a whole number from 1 to {MAX_PER_PAGE}",
            type=QUERY_PARAMETER,
        )
    token = request.query_params.get("nextPageToken")
    if token is None or not token_is_name:
        return int(text), None
    try:
        after = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # ValueError: a token not ASCII
        raise Problem(
            400,
            "bad query parameter",
            "nextPageToken: not a token this list gave; start again without it",
            type=QUERY_PARAMETER,
        ) from exc
    return int(text), after


def _paged(items: list[dict[str, Any]], request: Request, last: str | None) -> Response:
    headers = {}
    if last is not None:
        token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii").rstrip("=")
        per_page = request.query_params.get("perPage", str(DEFAULT_PER_PAGE))
        query = urlencode({"perPage": per_page, "nextPageToken": token})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return JSONResponse(items, headers=headers)


def _query_json(named: NamedQueryRecord) -> dict[str, Any]:
    return {"name": named.name, "query": named.query}


def _subscription_json(record: SubscriptionRecord, counts: Any) -> dict[str, Any]:
    """The binding's subscription response (never the ``signatureToken``)."""
    data: dict[str, Any] = {
        "subscriptionID": record.id,
        "queryName": record.query_name,
        "createdAt": format_time(record.created_at),
        "stream": record.stream,
        "reportIfEmpty": record.report_if_empty,
    }
    if record.dest is not None:
        data["dest"] = record.dest
    if record.initial_record_time is not None:
        data["initialRecordTime"] = format_time(record.initial_record_time)
    if counts is not None:
        if counts.last_delivered_at is not None:
            data["lastNotifiedAt"] = format_time(counts.last_delivered_at)
        data["pendingEvents"] = counts.pending  # tracehub's: not yet delivered
        if counts.last_error is not None:
            data["lastError"] = counts.last_error
    return data
