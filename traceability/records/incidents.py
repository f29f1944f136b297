"""Incidents and their lifecycle steps, as the records keep them for queries (the signed
steps are ledger records).

The rows are a cache: what a page or ``verify`` states comes from the signed steps in
the ledger (``traceability.incidents``). ``incident_alarms`` names every alarm that
opened or joined an incident, so a re-delivered alarm finds its incident; an alarm of
the same rule and place arriving while an incident for them is still ``open``
(unacknowledged: ``unacknowledged_incident``) joins it
(``attach_alarm``, or with its ``joined`` step: ``add_step(alarm_id=…)``) instead of
opening another (a flapping probe opens one incident). ``done_seq`` is how far an
incident's steps are done (signed, the notifier and the disposition capture told), so a
restart finishes what a crash left undone (``unfinished_incidents``).

Values cross as plain mappings with the fields of ``traceability.incidents.model``'s
``Incident`` and ``Step`` (that package builds on the records, not the other way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import incident_alarms, incident_steps, incidents


class IncidentRecords(Database):
    """Incidents and their steps for queries; the signed steps are ledger records."""

    def open_incident(
        self, incident: Mapping[str, Any], alarm_id: str, first: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Insert ``incident`` with its opening alarm and step; an incident already
        holding that id or alarm (a re-delivery, a concurrent opener) is returned as is."""
        try:
            with self._tx() as conn:
                conn.execute(incidents.insert().values(**_row(incident)))
                conn.execute(
                    incident_alarms.insert().values(alarm_id=alarm_id, incident_id=incident["id"])
                )
                _insert_step(conn, incident["id"], first)
        except sa_exc.IntegrityError:
            pass
        found = self.incident(incident["id"]) or self.incident_for_alarm(alarm_id)
        if found is None:
            raise RecordConflict(f"incident {incident['id']}: could not be stored; retry")
        return found

    def attach_alarm(self, incident_id: str, alarm_id: str) -> None:
        """Record that ``alarm_id`` joined ``incident_id`` (idempotent)."""
        try:
            with self._tx() as conn:
                conn.execute(
                    incident_alarms.insert().values(alarm_id=alarm_id, incident_id=incident_id)
                )
        except sa_exc.IntegrityError:
            pass  # already attached (to this incident or, in a race, to another)

    def incident_for_alarm(self, alarm_id: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            found = conn.execute(
                sa.select(incident_alarms.c.incident_id).where(
                    incident_alarms.c.alarm_id == alarm_id
                )
            ).scalar()
            return None if found is None else _load(conn, str(found))

    def unclosed_incident(self, rule: str, location: str) -> dict[str, Any] | None:
        """The not yet closed incident of ``rule`` at ``location`` (the latest), if any."""
        with self._tx() as conn:
            found = conn.execute(
                sa.select(incidents.c.id)
                .where(
                    incidents.c.rule == rule,
                    incidents.c.location == location,
                    incidents.c.state != "closed",
                )
                .order_by(incidents.c.raised_at.desc())
                .limit(1)
            ).scalar()
            return None if found is None else _load(conn, str(found))

    def unacknowledged_incident(self, rule: str, location: str) -> dict[str, Any] | None:
        """The still ``open`` incident of ``rule`` at ``location`` (the latest), if any: the
        one a returning alarm joins. Once acknowledged, a new alarm opens a new incident
        (which notifies) instead of joining one nobody is watching for alerts."""
        with self._tx() as conn:
            found = conn.execute(
                sa.select(incidents.c.id)
                .where(
                    incidents.c.rule == rule,
                    incidents.c.location == location,
                    incidents.c.state == "open",
                )
                .order_by(incidents.c.raised_at.desc())
                .limit(1)
            ).scalar()
            return None if found is None else _load(conn, str(found))

    def incident_cleared(self, incident_id: str, cleared_at: datetime) -> None:
        """The alarm cleared: the incident's span ends at ``cleared_at`` (the latest)."""
        with self._tx() as conn:
            conn.execute(
                incidents.update()
                .where(
                    incidents.c.id == incident_id,
                    sa.or_(
                        incidents.c.cleared_at.is_(None), incidents.c.cleared_at < to_db(cleared_at)
                    ),
                )
                .values(cleared_at=to_db(cleared_at))
            )

    def add_step(
        self,
        incident_id: str,
        step: Mapping[str, Any],
        state: str,
        *,
        alarm_id: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append ``step`` (its seq must be the next) and move the incident to ``state``,
        in one transaction with ``alarm_id`` joining the incident (a ``joined`` step) and
        the column ``changes`` (``cleared_at``, ``peak_c``, ``lots``). A concurrent step that took
        the seq, or the alarm joined meanwhile, is a ``RecordConflict`` (read, retry)."""
        values: dict[str, Any] = {"state": state}
        for name, value in (changes or {}).items():
            if name == "lots":
                values[name] = json.dumps(list(value))
            else:
                values[name] = to_db(value) if isinstance(value, datetime) else value
        try:
            with self._tx() as conn:
                if _load(conn, incident_id) is None:
                    raise RecordNotFound(f"incident {incident_id}: no such incident")
                if alarm_id is not None:
                    conn.execute(
                        incident_alarms.insert().values(alarm_id=alarm_id, incident_id=incident_id)
                    )
                _insert_step(conn, incident_id, step)
                conn.execute(
                    incidents.update().where(incidents.c.id == incident_id).values(**values)
                )
        except sa_exc.IntegrityError as exc:
            raise RecordConflict(
                f"incident {incident_id}: step {step['seq']} was taken meanwhile; read it again"
            ) from exc
        found = self.incident(incident_id)
        assert found is not None
        return found

    def incident_done(self, incident_id: str, seq: int) -> None:
        """The incident's steps up to ``seq`` are done: signed, and the notifier and the
        disposition capture told (never moves back)."""
        with self._tx() as conn:
            conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id, incidents.c.done_seq < seq)
                .values(done_seq=seq)
            )

    def unfinished_incidents(self) -> list[dict[str, Any]]:
        """Incidents with a step not done (a crash between the records and the ledger,
        the notifier or the capture): ``IncidentService.resume`` finishes them."""
        last = (
            sa.select(sa.func.max(incident_steps.c.seq))
            .where(incident_steps.c.incident_id == incidents.c.id)
            .scalar_subquery()
        )
        with self._tx() as conn:
            ids = [
                str(i)
                for i in conn.execute(
                    sa.select(incidents.c.id).where(incidents.c.done_seq < last)
                ).scalars()
            ]
            return [found for i in ids if (found := _load(conn, i)) is not None]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            return _load(conn, incident_id)

    def incidents(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Incidents, newest raised first (``state``: only those in it)."""
        query = sa.select(incidents.c.id).order_by(incidents.c.raised_at.desc()).limit(limit)
        if state is not None:
            query = query.where(incidents.c.state == state)
        with self._tx() as conn:
            ids = [str(i) for i in conn.execute(query).scalars()]
            return [found for i in ids if (found := _load(conn, i)) is not None]


def _row(incident: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {c.name: incident.get(c.name) for c in incidents.columns}
    for name in ("started_at", "raised_at", "cleared_at"):
        row[name] = None if row[name] is None else to_db(row[name])
    row["lots"] = json.dumps(list(incident.get("lots") or ()))
    row["done_seq"] = int(incident.get("done_seq") or 0)
    return row


def _insert_step(conn: Connection, incident_id: str, step: Mapping[str, Any]) -> None:
    conn.execute(
        incident_steps.insert().values(
            incident_id=incident_id,
            seq=step["seq"],
            step=step["step"],
            actor=step["actor"],
            role=step["role"],
            at=to_db(step["at"]),
            body=json.dumps(step["record"], sort_keys=True, ensure_ascii=False),
            record_id=step["record_id"],
        )
    )


def _load(conn: Connection, incident_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        return None
    alarms = conn.execute(
        sa.select(incident_alarms.c.alarm_id)
        .where(incident_alarms.c.incident_id == incident_id)
        .order_by(incident_alarms.c.alarm_id)
    ).scalars()
    steps = conn.execute(
        sa.select(incident_steps)
        .where(incident_steps.c.incident_id == incident_id)
        .order_by(incident_steps.c.seq)
    ).all()
    data: dict[str, Any] = {c.name: getattr(row, c.name) for c in incidents.columns}
    for name in ("started_at", "raised_at", "cleared_at"):
        data[name] = None if data[name] is None else from_db(data[name])
    data["lots"] = tuple(json.loads(row.lots))
    data["alarm_ids"] = tuple(str(a) for a in alarms)
    data["steps"] = tuple(
        {
            "seq": s.seq,
            "step": s.step,
            "actor": s.actor,
            "role": s.role,
            "at": from_db(s.at),
            "comment": str(json.loads(s.body).get("comment") or ""),
            "record": json.loads(s.body),
            "record_id": s.record_id,
        }
        for s in steps
    )
    return data
