"""The earliest kept records of one kind: what a retention check must not outlive.

The ledger does not look inside records, so it cannot say which one is "oldest" by the
record's own time. It can say which were submitted first: ``earliest_kept(kind, since,
span)`` returns the kept records of ``kind`` submitted from the first submission at or
after ``since`` up to ``span`` later. A caller whose records are always submitted within
a known delay of their own time (a telemetry window is sealed within the gateway's
backfill window after it starts) passes that delay as ``span`` and finds its oldest
record among them, without reading every record the ledger holds.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ledger.store.database import LedgerDatabase, to_db
from ledger.store.schema import entries, kept_records


class EarliestRecords(LedgerDatabase):
    def earliest_kept(self, kind: str, since: datetime, span: timedelta) -> list[Any]:
        """Kept records of ``kind`` submitted in [first at/after ``since``, + ``span``]."""
        first_query = sa.select(sa.func.min(entries.c.submitted_at)).where(
            entries.c.kind == kind, entries.c.submitted_at >= to_db(since)
        )
        with self._tx() as conn:
            first = conn.execute(first_query).scalar()
            if first is None:
                return []
            query = (
                sa.select(kept_records.c.canonical)
                .join(entries, entries.c.id == kept_records.c.entry_id)
                .where(
                    entries.c.kind == kind,
                    entries.c.submitted_at >= first,
                    entries.c.submitted_at <= first + span,
                )
                .order_by(entries.c.submitted_at)
            )
            texts = conn.execute(query).scalars().all()
        return [json.loads(text) for text in texts]
