"""Running hub processes and singleton leases in the records database (issue #18).

``beat`` writes one instance's row (inserted at its first beat, refreshed after);
``forget_instance`` removes it at a clean stop; ``hub_instances`` lists every row, fresh
or not: whether a silent one is stale is the reader's call (``tracehub status`` says
"last seen ... ago"). Rows silent for ``PRUNE_AFTER`` are dropped at the next beat of any
instance, so a killed replica is shown for a day and then forgotten.

``hold_lease`` takes or renews a named lease: it is won when nobody holds it, when it
ran out, or when the caller already holds it; the one ``UPDATE ... WHERE`` decides, so
two replicas racing for it cannot both win. ``drop_lease`` gives it up at a clean stop,
so the next replica takes over at once instead of after the lease's time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc

from traceability.records.database import Database, from_db, to_db
from traceability.records.instancetables import hub_instances, hub_leases

PRUNE_AFTER = timedelta(days=1)


class InstanceBeat(BaseModel):
    """What one running process says of itself."""

    model_config = ConfigDict(frozen=True)

    id: str
    roles: tuple[str, ...]
    version: str
    host: str
    pid: int
    started_at: AwareDatetime
    beat_at: AwareDatetime
    healthy: bool
    detail: Mapping[str, Any] = {}


class InstanceRecords(Database):
    """The ``hub_instances`` and ``hub_leases`` tables."""

    def beat(self, beat: InstanceBeat) -> None:
        row = {
            "roles": ",".join(sorted(beat.roles)),
            "version": beat.version,
            "host": beat.host,
            "pid": beat.pid,
            "started_at": to_db(beat.started_at),
            "beat_at": to_db(beat.beat_at),
            "healthy": beat.healthy,
            "detail": json.dumps(dict(beat.detail), sort_keys=True, default=str),
        }
        t = hub_instances
        with self._tx() as conn:
            conn.execute(t.delete().where(t.c.beat_at < to_db(beat.beat_at - PRUNE_AFTER)))
            if not conn.execute(t.update().where(t.c.id == beat.id).values(**row)).rowcount:
                conn.execute(t.insert().values(id=beat.id, **row))

    def forget_instance(self, instance: str) -> None:
        with self._tx() as conn:
            conn.execute(hub_instances.delete().where(hub_instances.c.id == instance))

    def hub_instances(self) -> list[InstanceBeat]:
        t = hub_instances
        with self._tx() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.roles, t.c.started_at, t.c.id)).all()
        return [
            InstanceBeat(
                id=r.id,
                roles=tuple(r.roles.split(",")) if r.roles else (),
                version=r.version,
                host=r.host,
                pid=r.pid,
                started_at=from_db(r.started_at),
                beat_at=from_db(r.beat_at),
                healthy=bool(r.healthy),
                detail=json.loads(r.detail),
            )
            for r in rows
        ]

    def hold_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew lease ``name`` for ``holder`` until ``until``; False: another
        instance holds it at ``now``."""
        t = hub_leases
        free = sa.or_(t.c.holder == holder, t.c.until <= to_db(now))
        try:
            with self._tx() as conn:
                won = conn.execute(
                    t.update()
                    .where(t.c.name == name, free)
                    .values(holder=holder, until=to_db(until))
                ).rowcount
                if won:
                    return True
                held = conn.execute(sa.select(t.c.name).where(t.c.name == name)).first()
                if held is not None:
                    return False
                conn.execute(t.insert().values(name=name, holder=holder, until=to_db(until)))
                return True
        except sa_exc.IntegrityError:
            return False  # another instance inserted it first: theirs

    def drop_lease(self, name: str, holder: str) -> None:
        t = hub_leases
        with self._tx() as conn:
            conn.execute(t.delete().where(t.c.name == name, t.c.holder == holder))

    def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds lease ``name`` at ``now`` (None: free)."""
        t = hub_leases
        with self._tx() as conn:
            row = conn.execute(
                sa.select(t.c.holder).where(t.c.name == name, t.c.until > to_db(now))
            ).first()
        return None if row is None else str(row.holder)
