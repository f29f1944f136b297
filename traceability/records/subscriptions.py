"""Named queries and their subscriptions (EPCIS REST binding).

* ``named_queries``: a query by its name (the query-schema.json ``query`` object as JSON
  text) and who stored it.
* ``subscriptions``: a webhook (``dest``, ``signature_token``) or a WebSocket subscription
  to one named query. Cancelling keeps the row (``cancelled_at``) and drops its undelivered
  outbox rows; deleting the named query deletes its subscriptions and their rows
  (``refuse_others_of``: not while another client's active subscription uses it).
* Bounds: ``add_subscription(max_per_client=, max_total=)`` counts the active
  subscriptions in the insert's own transaction and raises ``TooManySubscriptions``.
* Idle WebSockets: ``seen_at`` is when the client was last there (made, acked, resumed,
  left: ``touch_subscription``); ``idle_websockets`` lists those away since a moment.

The capture hook (``traceability.subscriptions.service``) reads ``stream_subscriptions``
(and, for ``WD_`` filters, ``location_parents``) on the capture transaction's own
connection and writes the outbox there (``traceability.records.subscriptionoutbox``), so
an event is stored with its outbox rows or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordError
from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import (
    locations,
    named_queries,
    subscription_outbox,
    subscriptions,
)

SubscriptionKind = Literal["webhook", "websocket"]
Bound = Literal["per_client", "total"]


class TooManySubscriptions(RecordError):  # noqa: N818 - outcome names, as the contract's
    """No new subscription: the owner's (``bound="per_client"``) or everyone's
    (``"total"``) active subscriptions already number ``limit``."""

    def __init__(self, bound: Bound, limit: int) -> None:
        self.bound: Bound = bound
        self.limit = limit
        whose = "its owner" if bound == "per_client" else "the site"
        super().__init__(f"{whose} has {limit} active subscriptions, the most allowed")


class NamedQueryRecord(BaseModel):
    """A stored named query; ``query`` is its query-schema.json ``query`` object."""

    model_config = ConfigDict(frozen=True)

    name: str
    query: dict[str, Any]
    owner: str | None
    created_at: AwareDatetime


class SubscriptionRecord(BaseModel):
    """A subscription to a named query (``query`` is the named query's object)."""

    model_config = ConfigDict(frozen=True)

    id: str
    query_name: str
    kind: SubscriptionKind
    dest: str | None = None
    signature_token: str | None = None
    report_if_empty: bool = False
    stream: bool = True
    schedule: dict[str, Any] | None = None
    initial_record_time: AwareDatetime | None = None
    owner: str | None = None
    created_at: AwareDatetime
    cancelled_at: AwareDatetime | None = None
    retry_at: AwareDatetime | None = None
    failures: int = 0
    seen_at: AwareDatetime | None = None  # its client was last there (WebSocket idle)


class StreamSubscription(BaseModel):
    """What the capture hook needs of an active stream subscription."""

    model_config = ConfigDict(frozen=True)

    id: str
    query_name: str
    query_text: str  # the named query's JSON text (the parse cache's key)


def _aware(data: dict[str, Any]) -> dict[str, Any]:
    return {k: from_db(v) if isinstance(v, datetime) else v for k, v in data.items()}


def _subscription(row: Any) -> SubscriptionRecord:
    data = _aware(row._asdict())
    data["schedule"] = json.loads(data["schedule"]) if data.get("schedule") else None
    data["failures"] = data.get("failures") or 0
    return SubscriptionRecord.model_validate(data)


def _named_query(row: Any) -> NamedQueryRecord:
    data = _aware(row._asdict())
    data["query"] = json.loads(data["query"])
    return NamedQueryRecord.model_validate(data)


class SubscriptionRecords(Database):
    """The ``named_queries``, ``subscriptions`` and ``subscription_outbox`` tables."""

    # -- named queries ---------------------------------------------------------------

    def add_named_query(
        self, name: str, query: dict[str, Any], owner: str | None, at: datetime
    ) -> NamedQueryRecord:
        """Store a named query; ``RecordConflict`` when the name is taken."""
        record = NamedQueryRecord(name=name, query=query, owner=owner, created_at=at)
        text = json.dumps(query, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            with self._tx() as conn:
                taken = conn.execute(
                    sa.select(named_queries.c.name).where(named_queries.c.name == name)
                ).first()
                if taken is not None:
                    raise RecordConflict(f"query {name!r} exists; pick another name")
                conn.execute(
                    named_queries.insert().values(
                        name=name, query=text, owner=owner, created_at=to_db(at)
                    )
                )
        except sa_exc.IntegrityError as exc:  # stored by another replica meanwhile
            raise RecordConflict(f"query {name!r} exists; pick another name") from exc
        return record

    def named_query(self, name: str) -> NamedQueryRecord | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(named_queries).where(named_queries.c.name == name)).first()
        return None if row is None else _named_query(row)

    def named_queries(self, *, after: str | None = None, limit: int = 30) -> list[NamedQueryRecord]:
        """Up to ``limit`` named queries by name, after ``after`` (keyset paging)."""
        query = sa.select(named_queries).order_by(named_queries.c.name).limit(limit)
        if after is not None:
            query = query.where(named_queries.c.name > after)
        with self._tx() as conn:
            return [_named_query(row) for row in conn.execute(query)]

    def delete_named_query(self, name: str, *, refuse_others_of: str | None = None) -> bool:
        """Delete the query, its subscriptions and their outbox rows (False: unknown).
        ``refuse_others_of``: ``RecordConflict`` while a client other than this one has an
        active subscription to it (counted in the delete's own transaction)."""
        with self._tx() as conn:
            if refuse_others_of is not None:
                others = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(subscriptions)
                    .where(
                        subscriptions.c.query_name == name,
                        subscriptions.c.cancelled_at.is_(None),
                        subscriptions.c.owner.is_distinct_from(refuse_others_of),
                    )
                ).scalar_one()
                if others:
                    raise RecordConflict(
                        f"query {name!r} has {others} active subscriptions of other clients; "
                        "it can be deleted once they are cancelled"
                    )
            ids = sa.select(subscriptions.c.id).where(subscriptions.c.query_name == name)
            conn.execute(
                subscription_outbox.delete().where(subscription_outbox.c.subscription_id.in_(ids))
            )
            conn.execute(subscriptions.delete().where(subscriptions.c.query_name == name))
            gone = conn.execute(named_queries.delete().where(named_queries.c.name == name))
        return bool(gone.rowcount)

    # -- subscriptions ---------------------------------------------------------------

    def add_subscription(
        self,
        record: SubscriptionRecord,
        *,
        max_per_client: int | None = None,
        max_total: int | None = None,
    ) -> SubscriptionRecord:
        """Store a subscription (its query must exist: ``RecordConflict`` otherwise). With
        a bound, ``TooManySubscriptions`` when the owner already has ``max_per_client``
        active ones, or everyone ``max_total`` (counted in the insert's transaction).
        ``seen_at`` starts at ``created_at`` unless given."""
        record = record.model_copy(update={"seen_at": record.seen_at or record.created_at})
        values = record.model_dump(exclude={"created_at", "cancelled_at", "retry_at", "seen_at"})
        values.update(
            schedule=None if record.schedule is None else json.dumps(record.schedule),
            initial_record_time=(
                None if record.initial_record_time is None else to_db(record.initial_record_time)
            ),
            created_at=to_db(record.created_at),
            cancelled_at=None,
            retry_at=None,
            failures=0,
            seen_at=to_db(record.seen_at) if record.seen_at is not None else None,
        )
        # With a bound, under the write-order lock: two replicas' counts cannot both pass.
        bounded = max_per_client is not None or max_total is not None
        try:
            with self._tx(ordered=bounded) as conn:
                known = conn.execute(
                    sa.select(named_queries.c.name).where(named_queries.c.name == record.query_name)
                ).first()
                if known is None:
                    raise RecordConflict(f"query {record.query_name!r} does not exist")
                _check_bounds(conn, record.owner, max_per_client, max_total)
                conn.execute(subscriptions.insert().values(**values))
        except sa_exc.IntegrityError as exc:
            raise RecordConflict(f"subscription {record.id} cannot be stored: {exc.orig}") from exc
        return record

    def subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        """The subscription (cancelled ones too: check ``cancelled_at``)."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(subscriptions).where(subscriptions.c.id == subscription_id)
            ).first()
        return None if row is None else _subscription(row)

    def subscriptions_of(
        self,
        query_name: str,
        *,
        owner: str | None = None,
        after: str | None = None,
        limit: int = 30,
    ) -> list[SubscriptionRecord]:
        """Active subscriptions of a query (of one ``owner``; None: everyone's) by id,
        after ``after`` (keyset paging)."""
        query = (
            sa.select(subscriptions)
            .where(subscriptions.c.query_name == query_name, subscriptions.c.cancelled_at.is_(None))
            .order_by(subscriptions.c.id)
            .limit(limit)
        )
        if owner is not None:
            query = query.where(subscriptions.c.owner == owner)
        if after is not None:
            query = query.where(subscriptions.c.id > after)
        with self._tx() as conn:
            return [_subscription(row) for row in conn.execute(query)]

    def cancel_subscription(self, subscription_id: str, at: datetime) -> bool:
        """Cancel an active subscription and drop its undelivered rows (False: not active)."""
        with self._tx() as conn:
            done = conn.execute(
                subscriptions.update()
                .where(
                    subscriptions.c.id == subscription_id, subscriptions.c.cancelled_at.is_(None)
                )
                .values(cancelled_at=to_db(at))
            ).rowcount
            if done:
                conn.execute(
                    subscription_outbox.delete().where(
                        subscription_outbox.c.subscription_id == subscription_id,
                        subscription_outbox.c.delivered_at.is_(None),
                    )
                )
        return bool(done)

    def touch_subscription(self, subscription_id: str, at: datetime) -> None:
        """Its client is there at ``at`` (connected, resumed, left: see ``idle_websockets``)."""
        with self._tx() as conn:
            conn.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id)
                .values(seen_at=to_db(at))
            )

    def idle_websockets(self, before: datetime, limit: int = 1000) -> list[str]:
        """Up to ``limit`` active WebSocket subscriptions whose client was last there
        before ``before`` (by id)."""
        s = subscriptions.c
        last = sa.func.coalesce(s.seen_at, s.created_at)
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(s.id)
                .where(s.kind == "websocket", s.cancelled_at.is_(None), last < to_db(before))
                .order_by(s.id)
                .limit(limit)
            )
            return [str(r.id) for r in rows]

    # -- the capture hook (on the capture transaction's connection) -------------------

    @staticmethod
    def stream_subscriptions(conn: Connection) -> list[StreamSubscription]:
        """Every active stream subscription with its query's text: one SELECT."""
        rows = conn.execute(
            sa.select(subscriptions.c.id, subscriptions.c.query_name, named_queries.c.query)
            .join(named_queries, named_queries.c.name == subscriptions.c.query_name)
            .where(subscriptions.c.cancelled_at.is_(None), subscriptions.c.stream.is_(True))
            .order_by(subscriptions.c.id)
        )
        return [
            StreamSubscription(id=r.id, query_name=r.query_name, query_text=r.query) for r in rows
        ]

    @staticmethod
    def location_parents(conn: Connection) -> dict[str, str]:
        """Each recorded location that is part of another -> that one (``WD_`` filters)."""
        rows = conn.execute(
            sa.select(locations.c.urn, locations.c.parent).where(locations.c.parent.is_not(None))
        )
        return {str(r.urn): str(r.parent) for r in rows}


def _check_bounds(
    conn: Connection, owner: str | None, max_per_client: int | None, max_total: int | None
) -> None:
    """``TooManySubscriptions`` when a new subscription of ``owner`` would pass a bound."""
    active = sa.select(sa.func.count()).select_from(subscriptions)
    active = active.where(subscriptions.c.cancelled_at.is_(None))
    if max_per_client is not None:
        mine = conn.execute(
            active.where(subscriptions.c.owner.is_not_distinct_from(owner))
        ).scalar_one()
        if mine >= max_per_client:
            raise TooManySubscriptions("per_client", max_per_client)
    if max_total is not None and conn.execute(active).scalar_one() >= max_total:
        raise TooManySubscriptions("total", max_total)
