"""Anchored batches on the records: which events went into which on-chain root.

The ledger cuts and anchors batches (``ledger.worker``); ``mark_anchored`` mirrors a
confirmed one here (``traceability.anchoring.feeder.EventFeeder``) so the lot page can
show it. These rows are a cache of the ledger's batches, never a second source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.anchor import AnchorReceipt
from traceability.records.database import Database, from_db, now_utc, to_db
from traceability.records.entities import Batch, BatchLeaf
from traceability.records.schema import batches, events


class BatchRecords(Database):
    """The ledger's confirmed batches, as mirrored onto the records."""

    def batch(self, batch_id: int) -> Batch | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else _batch(row)

    def batch_leaves(self, batch_id: int) -> list[BatchLeaf]:
        """The recorded leaves of a batch, in leaf order."""
        query = (
            sa.select(events.c.id, events.c.leaf_index, events.c.leaf_hash)
            .where(events.c.batch_id == batch_id)
            .order_by(events.c.leaf_index)
        )
        with self._tx() as conn:
            return [
                BatchLeaf(
                    event_id=row.id,
                    leaf_index=row.leaf_index,
                    leaf_hash=bytes.fromhex(row.leaf_hash),
                )
                for row in conn.execute(query)
            ]

    def mark_anchored(
        self, receipt: AnchorReceipt, leaves: Sequence[tuple[str, int, bytes]]
    ) -> Batch:
        """Mirror a confirmed ledger batch: record it once, mark these events as in it.

        The ledger's batch may also hold other leaves (carbon reports, telemetry
        digests), so ``leaves`` — ``(event_id, leaf_index, leaf_hash)`` — may be a
        subset. Events already in a batch are left alone;
        calling it again is harmless.
        """
        with self._tx() as conn:
            found = conn.execute(
                sa.select(batches.c.id).where(batches.c.root == receipt.root.hex())
            ).first()
            batch_id = _insert_batch(conn, receipt) if found is None else int(found.id)
            for event_id, index, leaf in leaves:
                conn.execute(
                    events.update()
                    .where(events.c.id == event_id, events.c.batch_id.is_(None))
                    .values(batch_id=batch_id, leaf_index=index, leaf_hash=leaf.hex())
                )
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return _batch(row)


def _batch(row: sa.Row[Any]) -> Batch:
    data = row._asdict()
    data["root"] = bytes.fromhex(data["root"])
    data["metadata"] = bytes.fromhex(data["metadata"])
    data["created_at"] = from_db(data["created_at"])
    return Batch.model_validate(data)


def _insert_batch(conn: Connection, receipt: AnchorReceipt) -> int:
    """Insert the batch row of ``receipt``; its new id."""
    result = conn.execute(
        batches.insert().values(
            root=receipt.root.hex(),
            size=receipt.size,
            metadata=receipt.metadata.hex(),
            chain_id=receipt.chain_id,
            contract=receipt.contract,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            created_at=to_db(now_utc()),
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None  # an INSERT always reports its primary key
    return int(pk[0])
