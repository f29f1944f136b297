"""Alarm evaluation state: what the alarm engine has seen and raised, per rule, place and probe.

The engine (``traceability.alarms.engine``) keeps here, per (rule, location, device), its
evaluation state as JSON and the watermark of the readings it processed, and every alarm
it raised with one reported flag per transition (raised, cleared). ``save_alarm_round``
writes a round's states and alarms in ONE transaction; the engine then calls its sink and
``mark_alarm_reported``: a crash in between leaves the transition unreported, and
``unreported_alarms`` hands it back at the next start. Bodies are opaque JSON here (the
alarm model belongs to the alarms package, which imports the records, not the reverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from traceability.records.database import Database, from_db, now_utc, to_db
from traceability.records.schema import alarm_series, alarms

Transition = Literal["raised", "cleared"]


class AlarmSeriesRow(BaseModel):
    """One rule's state over one series (``device`` None: place-wide)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    location: str
    device: str | None
    state: str  # JSON
    watermark: AwareDatetime | None


class AlarmRow(BaseModel):
    """An alarm as stored: index columns and its JSON body."""

    model_config = ConfigDict(frozen=True)

    id: str
    rule: str
    kind: str
    severity: str
    location: str
    device: str | None
    started_at: AwareDatetime
    raised_at: AwareDatetime
    cleared_at: AwareDatetime | None
    body: str  # JSON


class PendingReport(BaseModel):
    """A transition committed but not yet confirmed delivered to the sink."""

    model_config = ConfigDict(frozen=True)

    alarm_id: str
    transition: Transition
    body: str


class AlarmStateRecords(Database):
    """Alarm evaluation state."""

    def alarm_series(self) -> list[AlarmSeriesRow]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(alarm_series)).all()
        return [
            AlarmSeriesRow(
                rule=row.rule,
                location=row.location,
                device=row.device or None,
                state=row.state,
                watermark=None if row.watermark is None else from_db(row.watermark),
            )
            for row in rows
        ]

    def save_alarm_round(
        self, series: Sequence[AlarmSeriesRow], raised: Sequence[AlarmRow]
    ) -> None:
        """Store a round's states and alarms in one transaction. An alarm already stored
        is updated (its clearing); a newly set ``cleared_at`` becomes a pending report."""
        stamp = to_db(now_utc())
        with self._tx() as conn:
            _put_series(conn, series, stamp)
            for alarm in raised:
                _put_alarm(conn, alarm)

    def unreported_alarms(self) -> list[PendingReport]:
        """Transitions not yet marked reported, oldest first, each raise before its clear."""
        query = (
            sa.select(alarms)
            .where(
                sa.or_(
                    alarms.c.raised_reported.is_(False),
                    sa.and_(alarms.c.cleared_at.is_not(None), alarms.c.cleared_reported.is_(False)),
                )
            )
            .order_by(alarms.c.raised_at, alarms.c.id)
        )
        pending: list[PendingReport] = []
        with self._tx() as conn:
            for row in conn.execute(query):
                if not row.raised_reported:
                    pending.append(
                        PendingReport(alarm_id=row.id, transition="raised", body=row.body)
                    )
                if row.cleared_at is not None and not row.cleared_reported:
                    pending.append(
                        PendingReport(alarm_id=row.id, transition="cleared", body=row.body)
                    )
        return pending

    def mark_alarm_reported(self, alarm_id: str, transition: Transition) -> None:
        column = "raised_reported" if transition == "raised" else "cleared_reported"
        with self._tx() as conn:
            conn.execute(alarms.update().where(alarms.c.id == alarm_id).values({column: True}))

    def stored_alarms(self, active_only: bool = False, limit: int = 100) -> list[AlarmRow]:
        """Alarms newest first; ``active_only``: not cleared."""
        query = sa.select(alarms).order_by(alarms.c.raised_at.desc(), alarms.c.id).limit(limit)
        if active_only:
            query = query.where(alarms.c.cleared_at.is_(None))
        with self._tx() as conn:
            return [_alarm_row(row) for row in conn.execute(query)]


def _put_series(conn: Connection, series: Sequence[AlarmSeriesRow], stamp: datetime) -> None:
    """Insert new series and update known ones, each as one executemany: a round touches
    every series that read something (hundreds, every few seconds)."""
    if not series:
        return
    table = alarm_series.c
    known = {
        (row.rule, row.location, row.device)
        for row in conn.execute(sa.select(table.rule, table.location, table.device))
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for one in series:
        device = one.device or ""
        watermark = None if one.watermark is None else to_db(one.watermark)
        if (one.rule, one.location, device) in known:
            updates.append(
                {
                    "k_rule": one.rule,
                    "k_location": one.location,
                    "k_device": device,
                    "v_state": one.state,
                    "v_watermark": watermark,
                }
            )
        else:
            inserts.append(
                {
                    "rule": one.rule,
                    "location": one.location,
                    "device": device,
                    "state": one.state,
                    "watermark": watermark,
                    "updated_at": stamp,
                }
            )
    if inserts:
        conn.execute(alarm_series.insert(), inserts)
    if updates:
        statement = (
            alarm_series.update()
            .where(
                table.rule == sa.bindparam("k_rule"),
                table.location == sa.bindparam("k_location"),
                table.device == sa.bindparam("k_device"),
            )
            .values(
                state=sa.bindparam("v_state"),
                watermark=sa.bindparam("v_watermark"),
                updated_at=stamp,
            )
        )
        conn.execute(statement, updates)


def _put_alarm(conn: Connection, alarm: AlarmRow) -> None:
    cleared = None if alarm.cleared_at is None else to_db(alarm.cleared_at)
    found = conn.execute(sa.select(alarms.c.cleared_at).where(alarms.c.id == alarm.id)).first()
    if found is None:
        conn.execute(
            alarms.insert().values(
                id=alarm.id,
                rule=alarm.rule,
                kind=alarm.kind,
                severity=alarm.severity,
                location=alarm.location,
                device=alarm.device,
                started_at=to_db(alarm.started_at),
                raised_at=to_db(alarm.raised_at),
                cleared_at=cleared,
                body=alarm.body,
                raised_reported=False,
                cleared_reported=False,
            )
        )
    elif found.cleared_at is None and cleared is not None:
        conn.execute(
            alarms.update()
            .where(alarms.c.id == alarm.id)
            .values(cleared_at=cleared, body=alarm.body, cleared_reported=False)
        )


def _alarm_row(row: sa.Row[Any]) -> AlarmRow:
    return AlarmRow(
        id=row.id,
        rule=row.rule,
        kind=row.kind,
        severity=row.severity,
        location=row.location,
        device=row.device,
        started_at=from_db(row.started_at),
        raised_at=from_db(row.raised_at),
        cleared_at=None if row.cleared_at is None else from_db(row.cleared_at),
        body=row.body,
    )
