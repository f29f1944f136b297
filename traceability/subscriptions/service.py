"""``Subscriptions``: named queries, subscriptions to them, and the capture hook that fills
their outbox.

* Named queries: ``create_query`` checks the body (query-schema.json: ``name`` and
  ``query``, the query by ``gs1.epcis.query.query_from_json``), ``query``/``queries``/
  ``delete_query`` (only by its owner or an admin; deleting unsubscribes everyone, so
  the owner is refused while other clients' active subscriptions use it).
* Subscriptions: ``subscribe`` stores a webhook or WebSocket subscription
  (``traceability.subscriptions.model`` checks the request) and, given an
  ``initialRecordTime``, backfills the events captured since then into its outbox in
  bounded pages of ``RecordStore.run_query``; ``stream`` alone means only new events.
  Only their owner (or an admin) sees or cancels a subscription: its ``dest`` may hold a
  secret. Active subscriptions are bounded per client (``max_per_client``) and in total
  (``max_total``): ``SubscriptionLimit``. Webhook destinations are public addresses only
  unless ``public_only=False`` (tests, ``tracehub demo``).
* ``sweep`` (run by the delivery loop): deletes outbox rows delivered more than
  ``retention`` ago, in batches, and cancels WebSocket subscriptions whose client has
  been away (``seen``) longer than ``websocket_idle``.
* ``on_stored(conn, created, record_time)`` is the capture hook
  (``CaptureService(on_stored=…)``): in the capture transaction it reads the active
  stream subscriptions (one SELECT, no cache of which exist: a replica sees a new or a
  cancelled subscription at once; only the parse is cached, ``matching.QueryCache``),
  matches the new events and inserts their outbox rows, so an event is never stored
  without its deliveries. Listeners (``listen``) are told after that transaction commits,
  so the webhook loop and connected WebSockets look now instead of at their next poll.

A backfill racing a capture is safe both ways: an outbox row is keyed by (subscription,
event) and enqueued at most once. The one gap: on PostgreSQL, an event committed by a
capture transaction that began before the subscription existed and committed after the
backfill ran is in neither (SQLite serialises writers, so it cannot happen there).
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gs1.epcis.query import EventQuery, query_from_json
from gs1.errors import QueryParameterInvalid
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import from_db
from traceability.records.entities import NewEvent
from traceability.records.store import RecordStore
from traceability.records.subscriptions import (
    NamedQueryRecord,
    SubscriptionRecord,
    TooManySubscriptions,
)
from traceability.subscriptions.errors import SubscriptionInvalid, SubscriptionLimit
from traceability.subscriptions.matching import Query, QueryCache, matched
from traceability.subscriptions.model import SubscriptionRequest, check_destination

log = logging.getLogger(__name__)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,199}")
# Not part of what a backfill selects: it takes every matching event since the time.
_PAGING_KEYS = ("orderBy", "orderDirection", "eventCountLimit", "maxEventCount")


def _resolve(host: str) -> list[str]:
    """The addresses ``host`` resolves to (the destination check's DNS lookup)."""
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, None)]
    except OSError as exc:
        raise SubscriptionInvalid("dest", f"{host} does not resolve ({exc})") from exc


class Subscriptions:
    """Named queries and subscriptions over the records (see the module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        *,
        parse: Callable[[Mapping[str, Any]], EventQuery] = query_from_json,
        public_only: bool = True,
        resolve: Callable[[str], Iterable[str]] = _resolve,
        clock: Callable[[], datetime] | None = None,
        backfill_page: int = 500,
        max_per_client: int = 20,
        max_total: int = 1000,
        retention: timedelta = timedelta(days=7),
        websocket_idle: timedelta = timedelta(days=7),
    ) -> None:
        """``public_only``: refuse webhook destinations on loopback, private, link-local
        or metadata addresses (``TRACEHUB_SUBSCRIPTIONS_PUBLIC_ONLY``; the default, so a
        subscriber cannot make the hub POST into its own network). The bounds and
        periods: ``TRACEHUB_SUBSCRIPTIONS_MAX_PER_CLIENT``, ``_MAX_TOTAL``,
        ``_RETENTION_DAYS``, ``_WEBSOCKET_IDLE_DAYS``."""
        self.store = store
        self.max_per_client = max_per_client
        self.max_total = max_total
        self.retention = retention
        self.websocket_idle = websocket_idle
        self._parse = parse
        self._cache = QueryCache(parse)
        self.public_only = public_only
        self.resolve = resolve  # the DNS lookup of the destination check
        self.clock = clock or (lambda: datetime.now(UTC))
        self._backfill_page = backfill_page
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # -- named queries -------------------------------------------------------------------

    def create_query(self, body: object, owner: str | None) -> NamedQueryRecord:
        """Store a named query (query-schema.json). Raises ``SubscriptionInvalid`` (the
        body), ``QueryParameterInvalid`` (the query) or ``RecordConflict`` (name taken)."""
        if not isinstance(body, Mapping):
            raise SubscriptionInvalid("body", 'send a JSON object {"name": ..., "query": {...}}')
        extra = [k for k in body if k not in ("name", "query")]
        if extra:
            raise SubscriptionInvalid(str(extra[0]), "a named query has only name and query")
        name = body.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise SubscriptionInvalid(
                "name",
                "give 1 to 200 letters, digits or . _ ~ - (starting with a letter or digit): "
                "it is the query's URL",
            )
        query = body.get("query")
        if not isinstance(query, Mapping):
            raise SubscriptionInvalid("query", "give the query object (query-schema.json)")
        self._parse(query)  # QueryParameterInvalid names the parameter
        return self.store.add_named_query(name, dict(query), owner, self.clock())

    def query(self, name: str) -> NamedQueryRecord:
        found = self.store.named_query(name)
        if found is None:
            raise RecordNotFound(f"query {name!r} does not exist; GET /queries lists them")
        return found

    def queries(self, *, after: str | None = None, limit: int = 30) -> list[NamedQueryRecord]:
        return self.store.named_queries(after=after, limit=limit)

    def delete_query(self, name: str, owner: str | None, *, admin: bool = False) -> None:
        """Delete the query and every subscription to it. ``RecordNotFound`` unless
        ``owner`` stored it or ``admin`` (as for another client's subscription);
        ``RecordConflict`` for the owner while other clients' active subscriptions use
        it (an admin deletes anyway)."""
        found = self.store.named_query(name)
        if found is None or not (admin or found.owner == owner):
            raise RecordNotFound(f"query {name!r} does not exist (or is another client's)")
        # Without client names (no access control) there is no other client to protect.
        refuse = None if admin or owner is None else owner
        if not self.store.delete_named_query(name, refuse_others_of=refuse):
            raise RecordNotFound(f"query {name!r} does not exist")

    def event_query(self, name: str) -> EventQuery:
        """The parsed query of a named query (``GET /queries/{name}/events``)."""
        return self._parse(self.query(name).query)

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(
        self, query_name: str, request: SubscriptionRequest, owner: str | None
    ) -> SubscriptionRecord:
        """A new subscription (backfilled from ``initialRecordTime``). Raises
        ``RecordNotFound`` (no such query) and ``SubscriptionInvalid``."""
        named = self.query(query_name)
        if request.kind == "webhook":
            if request.dest is None:
                raise SubscriptionInvalid("dest", "give the webhook URL")
            check_destination(request.dest, public_only=self.public_only, resolve=self.resolve)
        now = self.clock()
        record = SubscriptionRecord(
            id=str(uuid.uuid4()),
            query_name=query_name,
            kind=request.kind,
            dest=request.dest,
            signature_token=request.signature_token,
            report_if_empty=request.report_if_empty,
            stream=request.stream,
            initial_record_time=request.initial_record_time,
            owner=owner,
            created_at=now,
            seen_at=now,
        )
        try:
            self.store.add_subscription(
                record, max_per_client=self.max_per_client, max_total=self.max_total
            )
        except TooManySubscriptions as exc:
            raise _limit(exc) from exc
        except RecordConflict as exc:  # the query was deleted meanwhile
            raise RecordNotFound(f"query {query_name!r} does not exist") from exc
        if request.initial_record_time is not None:
            self._backfill(record, named.query, request.initial_record_time)
            self._tell()
        return record

    def resume(
        self, query_name: str, subscription_id: str, owner: str | None
    ) -> SubscriptionRecord:
        """The WebSocket subscription a reconnecting client names (its own, active)."""
        found = self.subscription(query_name, subscription_id, owner)
        if found.kind != "websocket":
            raise SubscriptionInvalid(
                "subscriptionID", f"{subscription_id} is a webhook subscription, not a WebSocket's"
            )
        return found

    def subscription(
        self, query_name: str, subscription_id: str, owner: str | None, *, admin: bool = False
    ) -> SubscriptionRecord:
        """An active subscription of ``query_name`` that ``owner`` may see."""
        found = self.store.subscription(subscription_id)
        if (
            found is None
            or found.query_name != query_name
            or found.cancelled_at is not None
            or not (admin or found.owner == owner)
        ):
            raise RecordNotFound(
                f"subscription {subscription_id} of query {query_name!r} does not exist "
                "(or is another client's)"
            )
        return found

    def subscriptions(
        self,
        query_name: str,
        owner: str | None,
        *,
        admin: bool = False,
        after: str | None = None,
        limit: int = 30,
    ) -> list[SubscriptionRecord]:
        self.query(query_name)
        return self.store.subscriptions_of(
            query_name, owner=None if admin else owner, after=after, limit=limit
        )

    def unsubscribe(
        self, query_name: str, subscription_id: str, owner: str | None, *, admin: bool = False
    ) -> None:
        self.subscription(query_name, subscription_id, owner, admin=admin)
        self.store.cancel_subscription(subscription_id, self.clock())

    def seen(self, subscription_id: str) -> None:
        """The subscription's WebSocket client is there now (see ``sweep``)."""
        self.store.touch_subscription(subscription_id, self.clock())

    def sweep(self, now: datetime | None = None, *, batch: int = 1000) -> tuple[int, int]:
        """Delete the outbox rows delivered more than ``retention`` ago (``batch`` rows a
        transaction, so captures wait little) and cancel the WebSocket subscriptions
        whose client has been away longer than ``websocket_idle`` (their undelivered
        rows go too); (rows deleted, subscriptions cancelled)."""
        moment = now if now is not None else self.clock()
        pruned = 0
        while True:
            done = self.store.prune_subscription_outbox(moment - self.retention, batch)
            pruned += done
            if done < batch:
                break
        cancelled = 0
        for subscription_id in self.store.idle_websockets(moment - self.websocket_idle):
            if self.store.cancel_subscription(subscription_id, moment):
                log.info(
                    "subscription %s: its WebSocket client is away; cancelled", subscription_id
                )
                cancelled += 1
        return pruned, cancelled

    def _backfill(
        self, record: SubscriptionRecord, query: Mapping[str, Any], since: datetime
    ) -> None:
        """Enqueue the events recorded since ``since`` that the query selects."""
        body = {k: v for k, v in query.items() if k not in _PAGING_KEYS}
        given = body.get("GE_recordTime")
        if not (isinstance(given, str) and _later(given, since)):
            body["GE_recordTime"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        try:
            backfill = self._parse(body)
        except QueryParameterInvalid:
            log.exception("subscription %s: its backfill query does not parse", record.id)
            raise
        token: str | None = None
        total = 0
        while True:
            page = self.store.run_query(backfill, per_page=self._backfill_page, token=token)
            total += self.store.enqueue_events(record.id, [e.id for e in page.events], self.clock())
            token = page.next_token
            if token is None:
                break
        log.info("subscription %s: %d events backfilled since %s", record.id, total, since)

    # -- the capture hook ----------------------------------------------------------------

    def on_stored(
        self, conn: Connection, created: Sequence[NewEvent], record_time: datetime
    ) -> None:
        """Enqueue the new events for the stream subscriptions they match (in the
        capture transaction ``conn``)."""
        active = self.store.stream_subscriptions(conn)
        if not active:
            return
        queries: list[tuple[str, Query]] = []
        for subscription in active:
            query = self._cache.get(subscription.query_text)
            if query is not None:
                queries.append((subscription.id, query))
        moment = record_time if record_time.tzinfo is not None else from_db(record_time)
        pairs = matched(
            queries, [(e.id, e.body) for e in created], moment, _descendants(self.store, conn)
        )
        if pairs:
            self.store.enqueue(conn, pairs, moment)
            sa.event.listen(conn, "commit", lambda _conn: self._tell(), once=True)

    # -- listeners -----------------------------------------------------------------------

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the capturing thread) whenever rows were enqueued."""
        with self._lock:
            self._listeners.append(callback)

    def unlisten(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _tell(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:  # a listener's bug must not fail the capture that told it
                log.exception("a subscription listener failed")


def _limit(exc: TooManySubscriptions) -> SubscriptionLimit:
    """The records' refusal, naming the setting that bounds it."""
    if exc.bound == "per_client":
        reason = (
            f"this client has {exc.limit} active subscriptions, the most one client may have "
            f"({exc.limit}, TRACEHUB_SUBSCRIPTIONS_MAX_PER_CLIENT); cancel one first"
        )
    else:
        reason = (
            f"this site has {exc.limit} active subscriptions, the most it takes "
            f"({exc.limit}, TRACEHUB_SUBSCRIPTIONS_MAX_TOTAL); cancel one first"
        )
    return SubscriptionLimit(exc.bound, exc.limit, reason)


def _later(given: str, since: datetime) -> bool:
    """Whether the query's own ``GE_recordTime`` is after ``since`` (it then stays)."""
    try:
        moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None and moment > since


def _descendants(store: RecordStore, conn: Connection) -> Callable[[str], list[str]]:
    """``WD_`` filters' hierarchy, read from ``conn`` on first use only."""
    children: dict[str, list[str]] | None = None

    def below(urn: str) -> list[str]:
        nonlocal children
        if children is None:
            children = {}
            for child, parent in store.location_parents(conn).items():
                children.setdefault(parent, []).append(child)
        found, todo = [urn], [urn]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.append(child)
                    todo.append(child)
        return found

    return below
