"""The subscription outbox: one row per event to deliver to one subscription, and how its
delivery goes (webhook leases and backoff, WebSocket acks).

Rows are keyed by (subscription, event id): an event is enqueued at most once per
subscription, whoever enqueues it (the capture hook on the capture transaction's own
connection, the ``initialRecordTime`` backfill, a retried capture).

Webhook delivery is claim → send → mark, each its own short transaction, per subscription:

1. ``claim_webhook_batch`` leases up to ``limit`` due rows of ONE subscription that has no
   row leased (so one destination gets one request at a time, in capture order) and whose
   backoff (``retry_at``) has passed; the lease time is the claim's token.
2. The caller POSTs outside any transaction.
3. ``mark_subscription_delivered`` (2xx) or ``mark_subscription_failed`` (the
   destination's backoff: ``retry_at`` on the subscription, so rows enqueued meanwhile
   wait too) act only on rows still held with that token.

A crash between the receiver's 2xx and ``mark_subscription_delivered`` leaves the rows
leased; when the lease runs out they are sent again (at-least-once; the receiver
recognises each event by its ``eventID``). WebSocket rows are never leased: a connected
client is sent the undelivered rows and ``acknowledge_subscription`` marks those it
confirms. Delivered rows are kept for a retention period (``lastNotifiedAt``, counts),
then ``prune_subscription_outbox`` deletes them in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from traceability.records.database import Database, from_db, to_db
from traceability.records.entities import StoredEvent
from traceability.records.eventlog import _stored_dict
from traceability.records.schema import events, subscription_outbox, subscriptions
from traceability.records.subscriptions import SubscriptionRecord, _aware, _subscription


class Claimed(BaseModel):
    """Rows of one webhook subscription leased for one send; ``claim`` is the token."""

    model_config = ConfigDict(frozen=True)

    subscription: SubscriptionRecord
    events: tuple[StoredEvent, ...]
    claim: AwareDatetime
    attempts: int  # the highest attempt count among the rows (this one included)


class OutboxCounts(BaseModel):
    """How a subscription's deliveries stand."""

    model_config = ConfigDict(frozen=True)

    pending: int
    delivered: int
    last_delivered_at: AwareDatetime | None
    last_error: str | None


def _undelivered() -> sa.ColumnElement[bool]:
    return subscription_outbox.c.delivered_at.is_(None)


def _free(moment: datetime) -> sa.ColumnElement[bool]:
    claimed = subscription_outbox.c.claimed_until
    return sa.or_(claimed.is_(None), claimed <= moment)


class SubscriptionOutboxRecords(Database):
    """The ``subscription_outbox`` table."""

    def subscription_counts(self, subscription_id: str) -> OutboxCounts:
        o = subscription_outbox.c
        with self._tx() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.count().filter(o.delivered_at.is_(None)),
                    sa.func.count().filter(o.delivered_at.is_not(None)),
                    sa.func.max(o.delivered_at),
                ).where(o.subscription_id == subscription_id)
            ).one()
            error = conn.execute(
                sa.select(o.last_error)
                .where(
                    o.subscription_id == subscription_id, _undelivered(), o.last_error.is_not(None)
                )
                .limit(1)
            ).scalar()
        last = row[2]
        return OutboxCounts(
            pending=int(row[0]),
            delivered=int(row[1]),
            last_delivered_at=from_db(last) if isinstance(last, datetime) else None,
            last_error=error,
        )

    @staticmethod
    def enqueue(conn: Connection, pairs: Iterable[tuple[str, str]], at: datetime) -> None:
        """Add an outbox row per (subscription id, event id); a row already there is left
        as it is (never an error: a backfill may race a retried capture). One compiled
        statement for every row (the capture hook may add thousands)."""
        moment = to_db(at)
        rows = [
            {
                "subscription_id": sid,
                "event_id": eid,
                "enqueued_at": moment,
                "attempts": 0,
                "next_attempt_at": moment,
            }
            for sid, eid in dict.fromkeys(pairs)
        ]
        if not rows:
            return
        dialect = conn.dialect.name
        if dialect == "sqlite":
            statement: Any = sqlite.insert(subscription_outbox).on_conflict_do_nothing()
        elif dialect == "postgresql":
            statement = postgresql.insert(subscription_outbox).on_conflict_do_nothing()
        else:  # portable: skip what is there (the SQL above is the fast path)
            o = subscription_outbox.c
            keys = [(r["subscription_id"], r["event_id"]) for r in rows]
            known = {
                (r.subscription_id, r.event_id)
                for r in conn.execute(
                    sa.select(o.subscription_id, o.event_id).where(
                        sa.tuple_(o.subscription_id, o.event_id).in_(keys)
                    )
                )
            }
            rows = [r for r in rows if (r["subscription_id"], r["event_id"]) not in known]
            statement = subscription_outbox.insert()
        if rows:
            conn.execute(statement, rows)

    def enqueue_events(self, subscription_id: str, event_ids: Sequence[str], at: datetime) -> int:
        """``enqueue`` for one subscription in its own transaction (the ``initialRecordTime``
        backfill); how many rows were new (0 once the subscription is cancelled)."""
        wanted = list(dict.fromkeys(event_ids))
        o = subscription_outbox.c
        with self._tx() as conn:
            active = conn.execute(
                sa.select(subscriptions.c.id).where(
                    subscriptions.c.id == subscription_id, subscriptions.c.cancelled_at.is_(None)
                )
            ).first()
            if active is None or not wanted:
                return 0
            known = set(
                conn.execute(
                    sa.select(o.event_id).where(
                        o.subscription_id == subscription_id, o.event_id.in_(wanted)
                    )
                ).scalars()
            )
            fresh = [e for e in wanted if e not in known]
            self.enqueue(conn, ((subscription_id, e) for e in fresh), at)
        return len(fresh)

    # -- webhook delivery --------------------------------------------------------------

    def claim_webhook_batch(self, now: datetime, lease_s: float, limit: int) -> Claimed | None:
        """Lease up to ``limit`` due rows of one webhook subscription (module docstring);
        None when nothing is due."""
        moment = to_db(now)
        until = to_db(now + timedelta(seconds=lease_s))
        o, s = subscription_outbox.c, subscriptions.c
        leased = sa.exists().where(
            subscription_outbox.c.subscription_id == s.id,
            _undelivered(),
            o.claimed_until > moment,
        )
        with self._tx() as conn:
            row = conn.execute(
                sa.select(subscriptions)
                .where(
                    s.kind == "webhook",
                    s.cancelled_at.is_(None),
                    sa.or_(s.retry_at.is_(None), s.retry_at <= moment),
                    ~leased,
                    sa.exists().where(o.subscription_id == s.id, _undelivered()),
                )
                .order_by(sa.func.coalesce(s.retry_at, s.created_at), s.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            subscription = _subscription(row)
            due = [
                r.event_id
                for r in conn.execute(
                    sa.select(o.event_id)
                    .join(events, events.c.id == o.event_id)
                    .where(o.subscription_id == subscription.id, _undelivered(), _free(moment))
                    .order_by(events.c.captured_at, events.c.id)
                    .limit(limit)
                )
            ]
            if not due:
                return None
            conn.execute(
                subscription_outbox.update()
                .where(
                    o.subscription_id == subscription.id,
                    o.event_id.in_(due),
                    _undelivered(),
                    _free(moment),
                )
                .values(claimed_until=until, attempts=o.attempts + 1)
            )
            held = conn.execute(
                sa.select(events, o.attempts)
                .join(subscription_outbox, o.event_id == events.c.id)
                .where(
                    o.subscription_id == subscription.id,
                    o.claimed_until == until,
                    _undelivered(),
                )
                .order_by(events.c.captured_at, events.c.id)
            ).all()
        if not held:
            return None
        attempts = max(int(r.attempts) for r in held)
        stored = tuple(
            _stored_dict({k: v for k, v in r._asdict().items() if k != "attempts"}) for r in held
        )
        return Claimed(
            subscription=subscription, events=stored, claim=from_db(until), attempts=attempts
        )

    def mark_subscription_delivered(
        self, subscription_id: str, claim: datetime, at: datetime
    ) -> int:
        """The destination took the rows held with ``claim``; how many were marked (0: the
        lease ran out and another sender holds them)."""
        o = subscription_outbox.c
        with self._tx() as conn:
            done = conn.execute(
                subscription_outbox.update()
                .where(
                    o.subscription_id == subscription_id,
                    o.claimed_until == to_db(claim),
                    _undelivered(),
                )
                .values(delivered_at=to_db(at), claimed_until=None, last_error=None)
            ).rowcount
            if done:
                conn.execute(
                    subscriptions.update()
                    .where(subscriptions.c.id == subscription_id)
                    .values(retry_at=None, failures=0)
                )
        return int(done)

    def mark_subscription_failed(
        self, subscription_id: str, claim: datetime, retry_at: datetime, error: str
    ) -> bool:
        """The send failed: release the rows held with ``claim`` and hold the whole
        subscription until ``retry_at``. False when the rows are no longer held."""
        o = subscription_outbox.c
        with self._tx() as conn:
            done = conn.execute(
                subscription_outbox.update()
                .where(
                    o.subscription_id == subscription_id,
                    o.claimed_until == to_db(claim),
                    _undelivered(),
                )
                .values(claimed_until=None, last_error=error[:2000])
            ).rowcount
            if done:
                conn.execute(
                    subscriptions.update()
                    .where(subscriptions.c.id == subscription_id)
                    .values(
                        retry_at=to_db(retry_at),
                        failures=sa.func.coalesce(subscriptions.c.failures, 0) + 1,
                    )
                )
        return bool(done)

    # -- WebSocket delivery --------------------------------------------------------------

    def subscription_undelivered(
        self, subscription_id: str, *, limit: int, skip: Sequence[str] = ()
    ) -> list[StoredEvent]:
        """Up to ``limit`` undelivered events of a subscription in capture order, without
        those in ``skip`` (sent on this connection, not acknowledged yet)."""
        o = subscription_outbox.c
        query = (
            sa.select(events)
            .join(subscription_outbox, o.event_id == events.c.id)
            .where(o.subscription_id == subscription_id, _undelivered())
            .order_by(events.c.captured_at, events.c.id)
            .limit(limit)
        )
        if skip:
            query = query.where(o.event_id.not_in(list(skip)))
        with self._tx() as conn:
            return [_stored_dict(row._asdict()) for row in conn.execute(query)]

    def acknowledge_subscription(
        self, subscription_id: str, event_ids: Sequence[str], at: datetime
    ) -> int:
        """Mark the rows the client confirmed delivered; how many were undelivered."""
        if not event_ids:
            return 0
        o = subscription_outbox.c
        with self._tx() as conn:
            done = conn.execute(
                subscription_outbox.update()
                .where(
                    o.subscription_id == subscription_id,
                    o.event_id.in_(list(event_ids)),
                    _undelivered(),
                )
                .values(delivered_at=to_db(at))
            ).rowcount
            conn.execute(  # the client is there: not idle (see ``idle_websockets``)
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id)
                .values(seen_at=to_db(at))
            )
        return int(done)

    def prune_subscription_outbox(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` rows delivered before ``before`` (one short transaction,
        so a sweep never holds the capture's write lock for long); how many went."""
        o = subscription_outbox.c
        with self._tx() as conn:
            keys = [
                (r.subscription_id, r.event_id)
                for r in conn.execute(
                    sa.select(o.subscription_id, o.event_id)
                    .where(o.delivered_at.is_not(None), o.delivered_at < to_db(before))
                    .limit(limit)
                )
            ]
            if not keys:
                return 0
            conn.execute(
                subscription_outbox.delete().where(
                    sa.tuple_(o.subscription_id, o.event_id).in_(keys)
                )
            )
        return len(keys)

    def subscription_outbox_rows(self, subscription_id: str) -> list[dict[str, Any]]:
        """Every outbox row of a subscription, as stored (tests, ``tracehub status``)."""
        o = subscription_outbox.c
        with self._tx() as conn:
            return [
                _aware(r._asdict())
                for r in conn.execute(
                    sa.select(subscription_outbox)
                    .where(o.subscription_id == subscription_id)
                    .order_by(o.enqueued_at, o.event_id)
                )
            ]
