"""The notification outbox: each message to send, to whom, when; sent, failed or cancelled.

``notification_incidents`` holds one row per incident that notifications were scheduled
for; ``outbox`` one row per message to one recipient over one channel. Row ids are
deterministic (incident, purpose, step, round, recipient, channel), so scheduling the
same thing twice (``opened()`` re-delivered after a crash) adds nothing.

Sending is claim → send → mark, one row at a time, each step its own short transaction:

1. ``claim_due`` takes a lease on a due row (``claimed_until``, which is also the claim's
   token) and counts the attempt; a second sender (another replica) cannot claim a
   leased row. The claim is the last check before the send: a row cancelled before it
   is never claimed.
2. The caller sends, outside any transaction (a network call must not hold the lock).
3. ``mark_sent`` / ``mark_failed`` / ``defer`` record the outcome and release the lease,
   only on a row that is still unfinished and still claimed with that token: a sender
   whose lease ran out cannot finish, retry or release a row another sender holds.

Exactly once, and its limits. (a) A crash (SIGKILL, power) after the receiver accepted
a message and before ``mark_sent`` committed leaves the row claimed; when the lease runs
out it is sent again, once, with the same id (the webhook's ``X-Tracehub-Delivery``, the
e-mail's ``Message-ID``, the SMS gateway's ``id``), so a receiver that de-duplicates by it
shows it once. (b) A send that outlasts its lease (the lease is 30 s by default, each
channel times out after ~10 s, so only a sender stalled for longer) can be claimed and
sent again by another sender, with the same id. No other path sends twice, and none
loses a row: a row is only ever finished by ``mark_sent``, ``mark_failed(retry_at=None)``
(dead, with the reason) or a cancellation.

An acknowledgement or a close cancels the unsent alerts. A row claimed at that moment
may be on its way (or its sender died mid-send): it is cancelled too, its send, if it
completes, is not recorded as sent, and its recipient counts as reached, so the
"acknowledged"/"closed" note goes to everyone an alert was sent or claimed for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import notification_incidents, outbox

Purpose = Literal["alert", "acknowledged", "closed"]
EntryState = Literal["pending", "sent", "cancelled", "dead"]
# notify.channel.ChannelKind, spelled out: the records (which web imports) stay clear of notify.
ChannelKind = Literal["webhook", "email", "sms"]


class NotificationIncident(BaseModel):
    """An incident notifications were scheduled for; ``notice`` is its Notice's JSON."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    site: str | None
    notice: str
    opened_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    closed_at: AwareDatetime | None = None

    @property
    def settled(self) -> bool:
        """Acknowledged or closed: nothing more is escalated or re-sent."""
        return self.acknowledged_at is not None or self.closed_at is not None


class OutboxEntry(BaseModel):
    """One message to one recipient over one channel, and how its delivery went."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(max_length=40)
    incident_id: str
    purpose: Purpose
    step: int = Field(ge=0)
    round: int = Field(ge=0)
    last_step: bool
    recipient: str
    channel: ChannelKind
    address: str
    message: str  # the JSON of the notify.message.Message to send
    due_at: AwareDatetime
    attempts: int = 0
    next_attempt_at: AwareDatetime | None = None  # None: the due time
    claimed_until: AwareDatetime | None = None
    last_error: str | None = None
    sent_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    dead_at: AwareDatetime | None = None

    @property
    def state(self) -> EntryState:
        if self.sent_at is not None:
            return "sent"
        if self.dead_at is not None:
            return "dead"
        if self.cancelled_at is not None:
            return "cancelled"
        return "pending"


class SentTo(BaseModel):
    """Someone an incident's alert reached (``end_notifications`` tells them the end)."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    channel: ChannelKind
    address: str


def _unfinished() -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.sent_at.is_(None), outbox.c.cancelled_at.is_(None), outbox.c.dead_at.is_(None)
    )


def _held(entry_id: str, claim: datetime) -> sa.ColumnElement[bool]:
    """The row is unfinished and still leased by the sender holding ``claim``."""
    return sa.and_(outbox.c.id == entry_id, outbox.c.claimed_until == to_db(claim), _unfinished())


class OutboxRecords(Database):
    """The notification outbox."""

    def schedule_notifications(
        self, incident: NotificationIncident, entries: Sequence[OutboxEntry]
    ) -> bool:
        """Record ``incident`` and its ``entries`` in one transaction; False (and nothing
        added) when the incident was scheduled before."""
        try:
            with self._tx() as conn:
                known = conn.execute(
                    sa.select(notification_incidents.c.incident_id).where(
                        notification_incidents.c.incident_id == incident.incident_id
                    )
                ).first()
                if known is not None:
                    return False
                conn.execute(
                    notification_incidents.insert().values(
                        incident_id=incident.incident_id,
                        site=incident.site,
                        notice=incident.notice,
                        opened_at=to_db(incident.opened_at),
                        acknowledged_at=None,
                        acknowledged_by=None,
                        closed_at=None,
                    )
                )
                _insert_absent(conn, entries)
        except sa_exc.IntegrityError:  # another process scheduled it meanwhile
            return False
        return True

    def notification_incident(self, incident_id: str) -> NotificationIncident | None:
        with self._tx() as conn:
            row = conn.execute(
                sa.select(notification_incidents).where(
                    notification_incidents.c.incident_id == incident_id
                )
            ).first()
        return None if row is None else _incident(row._asdict())

    def end_notifications(
        self,
        incident_id: str,
        state: Literal["acknowledged", "closed"],
        at: datetime,
        by: str | None,
        notes: Callable[[NotificationIncident, Sequence[SentTo]], Iterable[OutboxEntry]],
    ) -> int | None:
        """Mark the incident acknowledged (by ``by``) or closed, cancel every unsent alert
        (claimed ones too) and add ``notes(incident, reached)`` for those an alert was sent
        or claimed for, in one transaction. The number of rows cancelled; None for an
        incident never scheduled. Ending it the same way again changes nothing."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(notification_incidents).where(
                    notification_incidents.c.incident_id == incident_id
                )
            ).first()
            if row is None:
                return None
            incident = _incident(row._asdict())
            column = "acknowledged_at" if state == "acknowledged" else "closed_at"
            if getattr(incident, column) is not None:
                return 0
            values: dict[str, Any] = {column: to_db(at)}
            if state == "acknowledged":
                values["acknowledged_by"] = by
            conn.execute(
                notification_incidents.update()
                .where(notification_incidents.c.incident_id == incident_id)
                .values(**values)
            )
            # Before the cancel: a claimed row (in flight, or its sender died mid-send) may
            # have reached its recipient, who must hear the end too.
            reached = [
                SentTo(recipient=r.recipient, channel=r.channel, address=r.address)
                for r in conn.execute(
                    sa.select(outbox.c.recipient, outbox.c.channel, outbox.c.address)
                    .where(
                        outbox.c.incident_id == incident_id,
                        outbox.c.purpose == "alert",
                        sa.or_(outbox.c.sent_at.is_not(None), outbox.c.claimed_until.is_not(None)),
                    )
                    .distinct()
                    .order_by(outbox.c.recipient, outbox.c.channel, outbox.c.address)
                )
            ]
            # claimed_until is kept: a later close still counts that recipient as reached.
            cancelled = conn.execute(
                outbox.update()
                .where(
                    outbox.c.incident_id == incident_id,
                    outbox.c.purpose == "alert",
                    _unfinished(),
                )
                .values(cancelled_at=to_db(at), last_error=f"{state}" + (f" by {by}" if by else ""))
            ).rowcount
            _insert_absent(conn, list(notes(incident, reached)))
        return int(cancelled)

    def claim_due(
        self,
        now: datetime,
        lease_s: float,
        limit: int = 1,
        *,
        due_by: datetime | None = None,
    ) -> list[OutboxEntry]:
        """Lease up to ``limit`` rows due by ``due_by`` (default ``now``; oldest first)
        until ``now + lease_s`` and count the attempt. A row leased by another sender is
        skipped until its lease runs out (that sender crashed, or is still sending). Each
        entry's ``claimed_until`` is its claim token for ``mark_sent``/``mark_failed``/
        ``defer``. The loop claims one row just before sending it, so the lease covers
        that one send."""
        moment = to_db(now)
        until = to_db(now + timedelta(seconds=lease_s))
        claimed = []
        with self._tx() as conn:
            free = sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= moment)
            rows = conn.execute(
                sa.select(outbox)
                .where(_unfinished(), outbox.c.next_attempt_at <= to_db(due_by or now), free)
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit)
            ).all()
            for row in rows:
                won = conn.execute(  # the check again: another replica may have won it
                    outbox.update()
                    .where(outbox.c.id == row.id, _unfinished(), free)
                    .values(claimed_until=until, attempts=outbox.c.attempts + 1)
                ).rowcount
                if won:
                    data = row._asdict()
                    data.update(claimed_until=until, attempts=data["attempts"] + 1)
                    claimed.append(_entry(data))
        return claimed

    def mark_sent(
        self, entry_id: str, claim: datetime, at: datetime, follow_up: OutboxEntry | None = None
    ) -> bool:
        """The receiver accepted ``entry_id``, claimed with token ``claim``; ``follow_up``
        (the next re-notification) is added with it, unless the incident was acknowledged
        or closed meanwhile. False (nothing changed) when the row is no longer unfinished
        and held by this claim: cancelled while in flight, or re-claimed by another sender
        after this one's lease ran out."""
        with self._tx() as conn:
            done = conn.execute(
                outbox.update()
                .where(_held(entry_id, claim))
                .values(sent_at=to_db(at), claimed_until=None, last_error=None)
            ).rowcount
            if not done:
                return False
            if follow_up is None:
                return True
            settled = conn.execute(
                sa.select(notification_incidents.c.incident_id).where(
                    notification_incidents.c.incident_id == follow_up.incident_id,
                    sa.or_(
                        notification_incidents.c.acknowledged_at.is_not(None),
                        notification_incidents.c.closed_at.is_not(None),
                    ),
                )
            ).first()
            if settled is None:
                _insert_absent(conn, [follow_up])
        return True

    def mark_failed(
        self, entry_id: str, claim: datetime, at: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """Delivery failed: try again at ``retry_at``, or (None) keep the row dead. False
        (nothing changed) when the row is no longer held by this claim."""
        values: dict[str, Any] = {"claimed_until": None, "last_error": error[:2000]}
        if retry_at is None:
            values["dead_at"] = to_db(at)
        else:
            values["next_attempt_at"] = to_db(retry_at)
        with self._tx() as conn:
            done = conn.execute(outbox.update().where(_held(entry_id, claim)).values(**values))
        return bool(done.rowcount)

    def defer(self, entry_id: str, claim: datetime, until: datetime, reason: str) -> bool:
        """Not sent now (a rate limit): due again at ``until``, the attempt not counted,
        keeping ``reason``. False when the row is no longer held by this claim."""
        with self._tx() as conn:
            done = conn.execute(
                outbox.update()
                .where(_held(entry_id, claim))
                .values(
                    next_attempt_at=to_db(until),
                    claimed_until=None,
                    attempts=outbox.c.attempts - 1,
                    last_error=reason,
                )
            )
        return bool(done.rowcount)

    def alerts_sent(
        self, incident_id: str, recipient: str, channel: ChannelKind, after: datetime
    ) -> list[datetime]:
        """When each alert of ``incident_id`` to ``recipient`` over ``channel`` was sent
        after ``after``, oldest first (the rate limit's window)."""
        with self._tx() as conn:
            values = conn.execute(
                sa.select(outbox.c.sent_at)
                .where(
                    outbox.c.incident_id == incident_id,
                    outbox.c.purpose == "alert",
                    outbox.c.recipient == recipient,
                    outbox.c.channel == channel,
                    outbox.c.sent_at > to_db(after),
                )
                .order_by(outbox.c.sent_at)
            ).scalars()
            return [from_db(v) for v in values]

    def outbox_entries(self, incident_id: str | None = None) -> list[OutboxEntry]:
        """Every row (of one incident), in due order."""
        query = sa.select(outbox).order_by(outbox.c.due_at, outbox.c.id)
        if incident_id is not None:
            query = query.where(outbox.c.incident_id == incident_id)
        with self._tx() as conn:
            return [_entry(row._asdict()) for row in conn.execute(query)]

    def next_due(self) -> datetime | None:
        """When the earliest unfinished row is next due (the loop's wake-up time)."""
        with self._tx() as conn:
            value = conn.execute(
                sa.select(sa.func.min(outbox.c.next_attempt_at)).where(_unfinished())
            ).scalar_one()
        return from_db(value) if isinstance(value, datetime) else None


_FRESH = ("claimed_until", "last_error", "sent_at", "cancelled_at", "dead_at")


def _insert_absent(conn: Connection, entries: Sequence[OutboxEntry]) -> None:
    if not entries:
        return
    ids = [e.id for e in entries]
    known = set(conn.execute(sa.select(outbox.c.id).where(outbox.c.id.in_(ids))).scalars())
    for entry in entries:
        if entry.id in known:
            continue
        known.add(entry.id)
        # A new row: unclaimed and unfinished, whatever the entry carries.
        values = entry.model_dump(exclude={"due_at", "next_attempt_at", *_FRESH})
        values.update(
            due_at=to_db(entry.due_at), next_attempt_at=to_db(entry.next_attempt_at or entry.due_at)
        )
        conn.execute(outbox.insert().values(**values, **dict.fromkeys(_FRESH)))


def _aware(data: dict[str, Any]) -> dict[str, Any]:
    """A row's columns, its naive UTC datetimes made aware."""
    return {k: from_db(v) if isinstance(v, datetime) else v for k, v in data.items()}


def _incident(data: dict[str, Any]) -> NotificationIncident:
    return NotificationIncident.model_validate(_aware(data))


def _entry(data: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry.model_validate({**_aware(data), "last_step": bool(data["last_step"])})
