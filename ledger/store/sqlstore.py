"""The ledger's SQL store: pending leaves, hash chains, batches, keys and the lease.

One object over one database, assembled from its parts (each a module):

* ``database``  the engine, transactions (``BEGIN IMMEDIATE`` on SQLite), time columns
* ``entrylog``  ``submit`` (sign, link, queue), keys, reading entries and streams
* ``batchlog``  cutting batches, proofs, the fenced ``cut → sent → included →
  confirmed`` moves
* ``lease``     the anchoring lease with its fencing token
* ``setaside``  entries set aside (cannot be anchored on their own), with the reason
* ``earliest``  the first kept records of a kind (what a retention check must not outlive)
* ``upgrade``   columns added to the tables since older databases were created

SQLite by default (it may be the records' own file; the tables are prefixed
``ledger_``), PostgreSQL when several anchor workers run.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.store.batchlog import BATCH_FORMAT, BatchLog
from ledger.store.database import open_engine
from ledger.store.earliest import EarliestRecords
from ledger.store.entrylog import EntryLog
from ledger.store.lease import ANCHOR_LEASE, LeaseTable
from ledger.store.schema import metadata
from ledger.store.setaside import SetAsideLog
from ledger.store.upgrade import upgrade

SCHEMA_LOCK = 0x7472_6163_6568  # "tracehub", as traceability.records.migrate's

__all__ = ["ANCHOR_LEASE", "BATCH_FORMAT", "LedgerStore"]


class LedgerStore(EntryLog, BatchLog, LeaseTable, SetAsideLog, EarliestRecords):
    """Build with ``LedgerStore.open(url)``; ``close()`` when done. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        with self._tx() as conn:
            if conn.dialect.name == "postgresql":
                # Replicas opening a new database together: one creates, the others wait
                # (the records' migrations take the same lock, held to commit).
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            metadata.create_all(conn)
            upgrade(conn)  # columns added since older databases were created

    @classmethod
    def open(cls, url: str) -> LedgerStore:
        return cls(open_engine(url))
