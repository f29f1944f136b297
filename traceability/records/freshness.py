"""What changed in the records since a reader last looked, for caches in other processes.

A web replica keeps rendered lot pages; what changes them is often written by another
process (a gateway's capture, another replica's console, the alarm worker's incident
steps, a `tracehub records import`). ``freshness_mark`` is a few counters that move
whenever master data, the audit trail or an incident changes; ``lots_captured_since``
names the lots whose events were captured after a time. Both are cheap reads over
indexed columns.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from traceability.records.audittables import audit_entries
from traceability.records.database import Database, to_db
from traceability.records.schema import event_epcs, events, incident_steps


class Mark(BaseModel):
    """Counters that only grow: a different mark means something changed."""

    model_config = ConfigDict(frozen=True)

    audit: int  # the newest audit entry: master data, people's steps
    steps: int  # incident steps (the alarm worker's and the console's)


class FreshnessRecords(Database):
    def freshness_mark(self) -> Mark:
        with self._tx() as conn:
            audit = conn.execute(sa.select(sa.func.max(audit_entries.c.seq))).scalar()
            steps = conn.execute(sa.select(sa.func.count()).select_from(incident_steps)).scalar()
        return Mark(audit=audit or 0, steps=steps or 0)

    def lots_captured_since(self, since: datetime, limit: int) -> set[tuple[str, str]] | None:
        """The lots (GTIN, lot) named by events captured after ``since``; None when more
        than ``limit`` (the caller forgets everything instead)."""
        query = (
            sa.select(event_epcs.c.gtin, event_epcs.c.lot)
            .join(events, events.c.id == event_epcs.c.event_id)
            .where(events.c.captured_at > to_db(since), event_epcs.c.lot.is_not(None))
            .distinct()
            .limit(limit + 1)
        )
        with self._tx() as conn:
            found = {(str(r.gtin), str(r.lot)) for r in conn.execute(query)}
        return None if len(found) > limit else found
