"""The audit trail in the records database (issue #17): append-only entries, hash-chained.

``append_audit`` is the one write: in one transaction holding the write-order lock
(``Database._tx(ordered=True)``: concurrent writers, in this process or another, take
turns), each builder is handed the next ``seq`` and the digest of the entry before it
and returns the row to insert, so the chain has one order and no gap. The entry's
format and its digest are ``traceability.audit``'s business (that package builds on the
records, not the other way). ``mark_audit_signed`` notes which entries the ledger took.
There is no update and no delete: a change to the trail is made outside tracehub, and
``AuditTrail.verify`` names it.

Rows cross as plain mappings: ``seq``, ``at`` (aware UTC), ``actor_name``, ``actor_kind``,
``actor_role``, ``action``, ``subject_kind``, ``subject_key``, ``lots`` (a list),
``before``, ``after`` (JSON values), ``reason``, ``signature`` (a mapping or None),
``prev``, ``digest`` (and, read back, ``malformed``: see ``_from_db``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from traceability.errors import RecordConflict
from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import audit_entries, audit_signed

# (seq, the previous entry's digest or None) -> the row to insert
AuditBuilder = Callable[[int, str | None], Mapping[str, Any]]
_JSON = ("lots", "before", "after", "signature")
_CHUNK = 500


class AuditRecords(Database):
    """Append-only audit entries (``traceability.audit``)."""

    def append_audit(self, builders: Sequence[AuditBuilder]) -> list[dict[str, Any]]:
        """Append one entry per builder, in order, in one transaction; the rows as stored."""
        rows: list[dict[str, Any]] = []
        try:
            with self._tx(ordered=True) as conn:
                last = conn.execute(
                    sa.select(audit_entries.c.seq, audit_entries.c.digest)
                    .order_by(audit_entries.c.seq.desc())
                    .limit(1)
                ).first()
                seq, prev = (int(last.seq), str(last.digest)) if last else (0, None)
                for build in builders:
                    seq += 1
                    row = dict(build(seq, prev))
                    conn.execute(audit_entries.insert().values(**_to_db(row)))
                    prev = str(row["digest"])
                    rows.append(row)
        except sa_exc.IntegrityError as exc:  # only without the lock: a concurrent append
            raise RecordConflict(f"audit entry {seq}: taken meanwhile; retry") from exc
        return rows

    def audit_rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        subject: str | None = None,
        subject_kind: str | None = None,
        action: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Entries by seq (``newest_first``: the latest first), those at or after
        ``since`` and before ``until``, of the actor named, of the subject key (and kind),
        of the action or under it (``master`` takes ``master.product.update``)."""
        c = audit_entries.c
        query = sa.select(audit_entries).where(c.seq > after_seq)
        if since is not None:
            query = query.where(c.at >= to_db(since))
        if until is not None:
            query = query.where(c.at < to_db(until))
        if actor is not None:
            query = query.where(c.actor_name == actor)
        if subject is not None:
            query = query.where(c.subject_key == subject)
        if subject_kind is not None:
            query = query.where(c.subject_kind == subject_kind)
        if action is not None:
            under = c.action.startswith(f"{action}.", autoescape=True)
            query = query.where(sa.or_(c.action == action, under))
        query = query.order_by(c.seq.desc() if newest_first else c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._tx() as conn:
            return [_from_db(row._asdict()) for row in conn.execute(query)]

    def audit_row(self, seq: int) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(audit_entries).where(audit_entries.c.seq == seq)).first()
        return None if row is None else _from_db(row._asdict())

    def unsigned_audit(self, limit: int = _CHUNK) -> list[dict[str, Any]]:
        """The entries the ledger has not taken yet (by ``mark_audit_signed``), by seq."""
        query = (
            sa.select(audit_entries)
            .outerjoin(audit_signed, audit_signed.c.seq == audit_entries.c.seq)
            .where(audit_signed.c.seq.is_(None))
            .order_by(audit_entries.c.seq)
            .limit(limit)
        )
        with self._tx() as conn:
            return [_from_db(row._asdict()) for row in conn.execute(query)]

    def audit_signed_seqs(self) -> set[int]:
        with self._tx() as conn:
            return {int(s) for s in conn.execute(sa.select(audit_signed.c.seq)).scalars()}

    def mark_audit_signed(self, seqs: Iterable[int], at: datetime) -> None:
        """Note that the ledger took the entries ``seqs`` (again: no change)."""
        wanted = sorted(set(seqs))
        try:
            with self._tx() as conn:
                for i in range(0, len(wanted), _CHUNK):
                    chunk = wanted[i : i + _CHUNK]
                    known = set(
                        conn.execute(
                            sa.select(audit_signed.c.seq).where(audit_signed.c.seq.in_(chunk))
                        ).scalars()
                    )
                    fresh = [{"seq": s, "signed_at": to_db(at)} for s in chunk if s not in known]
                    if fresh:
                        conn.execute(audit_signed.insert(), fresh)
        except sa_exc.IntegrityError:
            pass  # a concurrent signer noted them first


def _to_db(row: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: row.get(name) for name in audit_entries.c.keys()}  # noqa: SIM118 - column names
    values["at"] = to_db(row["at"])
    for name in _JSON:
        value = row[name]
        values[name] = None if value is None and name != "lots" else json.dumps(value)
    return values


def _from_db(row: dict[str, Any]) -> dict[str, Any]:
    """The row as a mapping; a JSON column that does not parse (an edit outside
    tracehub) keeps its text and is named in ``malformed``, for ``verify`` to report."""
    row["at"] = from_db(row["at"])
    row["malformed"] = []
    for name in _JSON:
        text = row[name]
        try:
            row[name] = None if text is None else json.loads(text)
        except ValueError:
            row["malformed"].append(name)
    return row
