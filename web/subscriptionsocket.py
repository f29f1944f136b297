"""A subscription over a WebSocket: ``GET /queries/{name}/events`` with ``Upgrade:
websocket`` (the REST binding's WebSocket subscription).

The handshake carries ``Authorization: Bearer <token>`` (scope ``subscribe``) and
``?stream=true``, optionally ``initialRecordTime``; ``?subscriptionID=<id>`` resumes one
(the client's own; no new subscription). A refused handshake is answered with the problem
as plain HTTP (401, 403, 400 naming the parameter, 404 for an unknown query). Messages:

- first, from the hub: ``{"type": "subscription", "subscriptionID", "queryName",
  "resumed"}``;
- then EPCISQueryDocuments (``queryResults`` with ``subscriptionID``, ``queryName``), in
  capture order;
- from the client: ``{"ack": ["<eventID>", ...]}`` for the events it has kept. Events sent
  and not acknowledged are sent again on the next connection of the subscription (at most
  1,000 are outstanding at once: acknowledge to receive more).

The hub closes with 4410 when the subscription is cancelled (or its query deleted) and
1008 for a message that is not an ack. A WebSocket subscription outlives its connection
until it is deleted (``DELETE /queries/{name}/subscriptions/{id}``), or until its client
has been away (no connection, no ack) for ``TRACEHUB_SUBSCRIPTIONS_WEBSOCKET_IDLE_DAYS``
(7 by default): it is then cancelled, so its undelivered rows do not grow for ever. A
handshake beyond the client's or the site's bound on active subscriptions gets 409.
The outbox is looked at whenever a capture enqueued rows (``Subscriptions.listen``)
and every ``POLL_S`` (what another replica captured).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from traceability.errors import RecordNotFound, StoreUnavailable
from traceability.subscriptions.errors import SubscriptionInvalid, SubscriptionLimit
from traceability.subscriptions.feed import Feed
from traceability.subscriptions.model import websocket_request
from traceability.subscriptions.service import Subscriptions
from web.access import Access
from web.problem import Problem

CANCELLED = 4410  # a WebSocket close code (4000-4999: the application's)
POLL_S = 1.0  # a WebSocket looks at its outbox this often without being woken
SEEN_S = 3600.0  # a connected client is recorded as there this often (see the idle cancel)
SUBSCRIPTION_CONTROLS = "epcisException:SubscriptionControlsException"
NO_SUCH_NAME = "epcisException:NoSuchNameException"


async def serve_socket(websocket: WebSocket, subscriptions: Subscriptions, access: Access) -> None:
    """One WebSocket subscription connection (protocol in the module docstring)."""
    name = websocket.path_params["queryName"]
    try:
        client = await access.authorise_socket(websocket, "subscribe")
        request, resume = websocket_request(dict(websocket.query_params))
        if resume is not None:
            record = await run_in_threadpool(subscriptions.resume, name, resume, client.name)
        else:
            record = await run_in_threadpool(subscriptions.subscribe, name, request, client.name)
    except SubscriptionInvalid as exc:
        refusal = Problem(400, "bad subscription", str(exc), type=SUBSCRIPTION_CONTROLS)
        await websocket.send_denial_response(refusal.response())
        return
    except SubscriptionLimit as exc:
        refusal = Problem(409, "too many subscriptions", str(exc), type=SUBSCRIPTION_CONTROLS)
        await websocket.send_denial_response(refusal.response())
        return
    except RecordNotFound as exc:
        refusal = Problem(404, "not found", str(exc), type=NO_SUCH_NAME)
        await websocket.send_denial_response(refusal.response())
        return
    except StoreUnavailable as exc:
        await websocket.send_denial_response(
            Problem(503, "records unavailable", str(exc)).response()
        )
        return
    except Problem as refusal:
        if refusal.status in (401, 403):  # the binding's type of a refused credential
            refusal.type = "epcisException:SecurityException"
        await websocket.send_denial_response(refusal.response())
        return
    await websocket.accept()
    feed = Feed(subscriptions, record)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def woken() -> None:  # from a capturing thread
        loop.call_soon_threadsafe(wake.set)

    subscriptions.listen(woken)
    try:
        if resume is not None:
            await run_in_threadpool(subscriptions.seen, record.id)
        await websocket.send_json(
            {
                "type": "subscription",
                "subscriptionID": record.id,
                "queryName": name,
                "resumed": resume is not None,
            }
        )
        async with anyio.create_task_group() as group:
            group.start_soon(_acks, websocket, feed, wake, group.cancel_scope)
            group.start_soon(_pushes, websocket, feed, wake, group.cancel_scope)
            group.start_soon(_present, subscriptions, record.id)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away: what it did not acknowledge stays undelivered
    finally:
        subscriptions.unlisten(woken)
        # It was there until now; shielded: the connection's task may be being cancelled.
        with anyio.CancelScope(shield=True), contextlib.suppress(StoreUnavailable):
            await run_in_threadpool(subscriptions.seen, record.id)


async def _present(subscriptions: Subscriptions, subscription_id: str) -> None:
    """While connected, the client is there (a long quiet connection is not idle)."""
    while True:
        await anyio.sleep(SEEN_S)
        with contextlib.suppress(StoreUnavailable):
            await run_in_threadpool(subscriptions.seen, subscription_id)


async def _pushes(websocket: WebSocket, feed: Feed, wake: asyncio.Event, scope: Any) -> None:
    while True:
        try:
            batch = await run_in_threadpool(feed.next_batch)
        except RecordNotFound:
            await websocket.close(CANCELLED, "the subscription was cancelled")
            scope.cancel()
            return
        if batch:
            await websocket.send_json(feed.document(batch))
            continue
        with anyio.move_on_after(POLL_S):
            await wake.wait()
        wake.clear()


async def _acks(websocket: WebSocket, feed: Feed, wake: asyncio.Event, scope: Any) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            scope.cancel()
            return
        acked = _ack_of(message.get("text"))
        if acked is None:
            await websocket.close(1008, 'send {"ack": ["<eventID>", ...]}')
            scope.cancel()
            return
        await run_in_threadpool(feed.acknowledge, acked)
        wake.set()  # room in the window: more can be sent


def _ack_of(text: str | None) -> list[str] | None:
    if text is None:
        return None
    with contextlib.suppress(ValueError):
        message = json.loads(text)
        ids = message.get("ack") if isinstance(message, dict) else None
        if isinstance(ids, list) and all(isinstance(i, str) for i in ids) and len(ids) <= 10_000:
            return ids
    return None
