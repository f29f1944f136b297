"""The anchoring lease: one worker anchors at a time, fenced by a token.

A lease row (``ledger_leases``) names its holder, a fencing token and when it
expires. The holder renews it each round; a killed holder's lease expires and
another worker takes over, incrementing the token. Every state change of a batch
runs ``check_lease`` in its own transaction, so a worker that was paused past its
lease (and replaced) cannot overwrite its successor's work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from ledger.batch import Lease
from ledger.errors import LeaseLost
from ledger.store.database import LedgerDatabase, aware, to_db
from ledger.store.schema import leases

ANCHOR_LEASE = "anchor"


class LeaseTable(LedgerDatabase):
    def acquire_lease(
        self, holder: str, ttl_s: float, now: datetime, name: str = ANCHOR_LEASE
    ) -> Lease | None:
        """Take or renew the lease; None while another holder's lease is unexpired.

        A takeover increments the fencing token, so the previous holder's next
        fenced write fails with ``LeaseLost``.
        """
        expires = to_db(now + timedelta(seconds=ttl_s))
        try:
            with self._tx() as conn:
                row = conn.execute(
                    sa.select(leases).where(leases.c.name == name).with_for_update()
                ).first()
                if row is None:
                    token = 1
                    conn.execute(
                        leases.insert().values(
                            name=name, holder=holder, token=token, expires_at=expires
                        )
                    )
                elif row.holder == holder:
                    token = int(row.token)
                    conn.execute(
                        leases.update().where(leases.c.name == name).values(expires_at=expires)
                    )
                elif aware(row.expires_at) <= now:
                    token = int(row.token) + 1
                    conn.execute(
                        leases.update()
                        .where(leases.c.name == name)
                        .values(holder=holder, token=token, expires_at=expires)
                    )
                else:
                    return None
        except sa_exc.IntegrityError:
            return None  # another worker created the lease row first
        return Lease(name=name, holder=holder, token=token, expires_at=aware(expires))

    def release_lease(self, lease: Lease) -> None:
        """Give the lease up at once (a clean shutdown), if still ours."""
        with self._tx() as conn:
            conn.execute(
                leases.update()
                .where(
                    leases.c.name == lease.name,
                    leases.c.holder == lease.holder,
                    leases.c.token == lease.token,
                )
                .values(expires_at=datetime(1970, 1, 1))
            )


def check_lease(conn: Connection, lease: Lease) -> None:
    """Inside a transaction: ``LeaseLost`` unless ``lease`` is still the holder's."""
    row = conn.execute(
        sa.select(leases).where(leases.c.name == lease.name).with_for_update()
    ).first()
    if row is None or row.holder != lease.holder or int(row.token) != lease.token:
        holder = "nobody" if row is None else f"{row.holder} (token {row.token})"
        raise LeaseLost(
            f"lease {lease.name!r} token {lease.token} of {lease.holder} was taken over "
            f"by {holder}; this worker stops anchoring until it wins the lease again"
        )
