"""Set-aside entries: what cannot be anchored on its own is put aside, not retried forever.

A leaf whose stored data does not parse as its entry (a row written around ``submit``,
by a bug or by hand) can never be verified, and anchoring it would commit a root to
it; reading it back would stop every batch behind it. So the batch cutter screens each
leaf (``ledger.entry.leaf_problem``) and sets the bad ones aside (stage ``batch``), the
feeder sets aside what it cannot read back (stage ``mirror``), and the rest goes on.
Each set-aside entry keeps its reason; ``tracehub status`` and the hub's ``/readyz``
show them. Outages are never set aside: they raise ``StoreUnavailable`` and are retried.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.batch import SetAsideRecord
from ledger.entry import MAX_KIND_LENGTH, MAX_RECORD_ID_LENGTH
from ledger.store.database import LedgerDatabase, aware, to_db
from ledger.store.schema import entries, set_aside

STAGES = ("batch", "mirror")


def not_set_aside() -> sa.ColumnElement[bool]:
    """A WHERE clause on ``ledger_entries``: the entry was not set aside."""
    return ~sa.exists().where(set_aside.c.entry_id == entries.c.id)


def record_set_aside(
    conn: Connection,
    entry_id: int,
    kind: str,
    record_id: str,
    stage: str,
    reason: str,
    now: datetime,
) -> SetAsideRecord | None:
    """Set ``entry_id`` aside in ``conn``'s transaction; None when it already was."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r}: one of {STAGES}")
    found = conn.execute(
        sa.select(set_aside.c.entry_id).where(set_aside.c.entry_id == entry_id)
    ).first()
    if found is not None:
        return None
    # A poison row may break the column limits too: what is kept must fit the table.
    record = SetAsideRecord(
        entry_id=entry_id,
        kind=kind[:MAX_KIND_LENGTH],
        record_id=record_id[:MAX_RECORD_ID_LENGTH],
        stage=stage,
        reason=reason,
        set_aside_at=now,
    )
    conn.execute(
        set_aside.insert().values(
            entry_id=record.entry_id,
            kind=record.kind,
            record_id=record.record_id,
            stage=record.stage,
            reason=record.reason,
            set_aside_at=to_db(now),
        )
    )
    return record


class SetAsideLog(LedgerDatabase):
    def set_aside(
        self, entry_id: int, kind: str, record_id: str, stage: str, reason: str, now: datetime
    ) -> SetAsideRecord | None:
        """Set an entry aside with its reason; None when it already was (idempotent)."""
        with self._tx() as conn:
            return record_set_aside(conn, entry_id, kind, record_id, stage, reason, now)

    def set_aside_records(self, limit: int = 100) -> list[SetAsideRecord]:
        """The entries set aside, newest first."""
        query = (
            sa.select(set_aside)
            .order_by(set_aside.c.set_aside_at.desc(), set_aside.c.entry_id.desc())
            .limit(limit)
        )
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return [
            SetAsideRecord(
                entry_id=r.entry_id,
                kind=r.kind,
                record_id=r.record_id,
                stage=r.stage,
                reason=r.reason,
                set_aside_at=aware(r.set_aside_at),
            )
            for r in rows
        ]

    def set_aside_count(self) -> int:
        with self._tx() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(set_aside)).scalar_one())
