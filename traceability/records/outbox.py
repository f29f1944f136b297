"""The notification outbox: each message to send, to whom, when; sent, failed or cancelled.

``notification_incidents`` holds one row per incident that notifications were scheduled
for; ``outbox`` one row per message to one recipient over one channel. Row ids are
deterministic (incident, purpose, step, round, recipient, channel), so scheduling the
same thing twice (``opened()`` re-delivered after a crash) adds nothing.

Sending is claim → send → mark, each step its own short transaction:

1. ``claim_due`` takes a lease on due rows (``claimed_until``) and counts the attempt;
   a second sender (another replica) cannot claim a leased row.
2. The caller sends, outside any transaction (a network call must not hold the lock).
3. ``mark_sent`` / ``mark_failed`` record the outcome and release the lease.

Exactly once, and its limit: a crash (SIGKILL, power) after the receiver accepted a
message and before ``mark_sent`` committed leaves the row claimed; when the lease runs
out it is sent again, once, with the same id (the webhook's ``X-Tracehub-Delivery``, the
e-mail's ``Message-ID``, the SMS gateway's ``id``), so a receiver that de-duplicates by it
shows it once. That window is one commit (``mark_sent`` is the first thing done after
the receiver answers). No other crash point sends twice, and none loses a row: a row is
only ever finished by ``mark_sent``, ``mark_failed(retry_at=None)`` (dead, with the
reason) or a cancellation.
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
        and add ``notes(incident, reached)`` for those its alerts reached, in one
        transaction. The number of rows cancelled; None for an incident never scheduled.
        Ending it the same way again changes nothing."""
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
            cancelled = conn.execute(
                outbox.update()
                .where(
                    outbox.c.incident_id == incident_id,
                    outbox.c.purpose == "alert",
                    _unfinished(),
                )
                .values(cancelled_at=to_db(at), last_error=f"{state}" + (f" by {by}" if by else ""))
            ).rowcount
            reached = [
                SentTo(recipient=r.recipient, channel=r.channel, address=r.address)
                for r in conn.execute(
                    sa.select(outbox.c.recipient, outbox.c.channel, outbox.c.address)
                    .where(
                        outbox.c.incident_id == incident_id,
                        outbox.c.purpose == "alert",
                        outbox.c.sent_at.is_not(None),
                    )
                    .distinct()
                    .order_by(outbox.c.recipient, outbox.c.channel, outbox.c.address)
                )
            ]
            _insert_absent(conn, list(notes(incident, reached)))
        return int(cancelled)

    def claim_due(self, now: datetime, lease_s: float, limit: int = 50) -> list[OutboxEntry]:
        """Lease up to ``limit`` rows due by ``now`` (oldest first) for ``lease_s`` seconds
        and count the attempt. A row leased by another sender is skipped until its lease
        runs out (that sender crashed, or is still sending)."""
        moment = to_db(now)
        until = to_db(now + timedelta(seconds=lease_s))
        claimed = []
        with self._tx() as conn:
            free = sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= moment)
            rows = conn.execute(
                sa.select(outbox)
                .where(_unfinished(), outbox.c.next_attempt_at <= moment, free)
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

    def mark_sent(self, entry_id: str, at: datetime, follow_up: OutboxEntry | None = None) -> None:
        """The receiver accepted ``entry_id``; ``follow_up`` (the next re-notification) is
        added with it, unless the incident was acknowledged or closed meanwhile."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(outbox.c.incident_id).where(outbox.c.id == entry_id)
            ).first()
            conn.execute(
                outbox.update()
                .where(outbox.c.id == entry_id)
                .values(sent_at=to_db(at), claimed_until=None, last_error=None)
            )
            if follow_up is None or row is None:
                return
            settled = conn.execute(
                sa.select(notification_incidents.c.incident_id).where(
                    notification_incidents.c.incident_id == row.incident_id,
                    sa.or_(
                        notification_incidents.c.acknowledged_at.is_not(None),
                        notification_incidents.c.closed_at.is_not(None),
                    ),
                )
            ).first()
            if settled is None:
                _insert_absent(conn, [follow_up])

    def mark_failed(
        self, entry_id: str, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Delivery failed: try again at ``retry_at``, or (None) keep the row dead."""
        values: dict[str, Any] = {"claimed_until": None, "last_error": error[:2000]}
        if retry_at is None:
            values["dead_at"] = to_db(at)
        else:
            values["next_attempt_at"] = to_db(retry_at)
        with self._tx() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(**values))

    def cancel_entry(self, entry_id: str, at: datetime, reason: str) -> None:
        """Drop one unsent row (a rate limit), keeping ``reason``."""
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == entry_id, _unfinished())
                .values(cancelled_at=to_db(at), claimed_until=None, last_error=reason)
            )

    def sent_since(self, recipient: str, channel: ChannelKind, since: datetime) -> int:
        """Messages sent to ``recipient`` over ``channel`` since ``since``."""
        with self._tx() as conn:
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(
                    outbox.c.recipient == recipient,
                    outbox.c.channel == channel,
                    outbox.c.sent_at >= to_db(since),
                )
            ).scalar_one()
        return int(count)

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


def _insert_absent(conn: Connection, entries: Sequence[OutboxEntry]) -> None:
    if not entries:
        return
    ids = [e.id for e in entries]
    known = set(conn.execute(sa.select(outbox.c.id).where(outbox.c.id.in_(ids))).scalars())
    for entry in entries:
        if entry.id in known:
            continue
        known.add(entry.id)
        conn.execute(
            outbox.insert().values(
                id=entry.id,
                incident_id=entry.incident_id,
                purpose=entry.purpose,
                step=entry.step,
                round=entry.round,
                last_step=entry.last_step,
                recipient=entry.recipient,
                channel=entry.channel,
                address=entry.address,
                message=entry.message,
                due_at=to_db(entry.due_at),
                attempts=entry.attempts,
                next_attempt_at=to_db(entry.next_attempt_at or entry.due_at),
                claimed_until=None,
                last_error=None,
                sent_at=None,
                cancelled_at=None,
                dead_at=None,
            )
        )


def _when(value: object) -> datetime | None:
    return from_db(value) if isinstance(value, datetime) else None


def _incident(data: dict[str, Any]) -> NotificationIncident:
    return NotificationIncident(
        incident_id=data["incident_id"],
        site=data["site"],
        notice=data["notice"],
        opened_at=from_db(data["opened_at"]),
        acknowledged_at=_when(data["acknowledged_at"]),
        acknowledged_by=data["acknowledged_by"],
        closed_at=_when(data["closed_at"]),
    )


def _entry(data: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        id=data["id"],
        incident_id=data["incident_id"],
        purpose=data["purpose"],
        step=data["step"],
        round=data["round"],
        last_step=bool(data["last_step"]),
        recipient=data["recipient"],
        channel=data["channel"],
        address=data["address"],
        message=data["message"],
        due_at=from_db(data["due_at"]),
        attempts=data["attempts"],
        next_attempt_at=_when(data["next_attempt_at"]),
        claimed_until=_when(data["claimed_until"]),
        last_error=data["last_error"],
        sent_at=_when(data["sent_at"]),
        cancelled_at=_when(data["cancelled_at"]),
        dead_at=_when(data["dead_at"]),
    )
