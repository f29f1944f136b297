"""Anchored batches on the records: which events went into which on-chain root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from ledger.anchor import AnchorReceipt
from traceability.errors import RecordConflict
from traceability.records.database import Database, from_db, now_utc, to_db
from traceability.records.entities import Batch, BatchLeaf
from traceability.records.schema import batches, events


class BatchRecords(Database):
    """Batches anchored by the anchoring service or mirrored from the ledger."""

    def record_batch(
        self, receipt: AnchorReceipt, leaves: Sequence[tuple[str, int, bytes]]
    ) -> Batch:
        """Record an anchored batch and assign each ``(event_id, leaf_index, leaf_hash)``.

        All or nothing: an event that is unknown or already in a batch aborts the whole
        record with ``RecordConflict``.
        """
        if len(leaves) != receipt.size:
            raise RecordConflict(
                f"batch {receipt.root.hex()}: receipt size {receipt.size} but "
                f"{len(leaves)} leaves given; record exactly the anchored leaves"
            )
        indexes = sorted(index for _, index, _ in leaves)
        if indexes != list(range(len(leaves))):
            raise RecordConflict(
                f"batch {receipt.root.hex()}: leaf indexes must be 0..{len(leaves) - 1} each once"
            )
        try:
            with self._tx() as conn:
                batch_id = _insert_batch(conn, receipt)
                for event_id, index, leaf in leaves:
                    updated = conn.execute(
                        events.update()
                        .where(events.c.id == event_id, events.c.batch_id.is_(None))
                        .values(batch_id=batch_id, leaf_index=index, leaf_hash=leaf.hex())
                    )
                    if updated.rowcount != 1:
                        raise RecordConflict(
                            f"event {event_id} is unknown or already anchored; "
                            "build batches from pending_events()"
                        )
                row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        except sa_exc.IntegrityError as exc:
            raise RecordConflict(
                f"batch root {receipt.root.hex()} is already recorded: {exc.orig}"
            ) from exc
        return _batch(row)

    def batch(self, batch_id: int) -> Batch | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else _batch(row)

    def batch_by_root(self, root: bytes) -> Batch | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.root == root.hex())).first()
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

    # ledger mirror (issue #5: the ledger anchors; this shows it on the records) -------

    def mark_anchored(
        self, receipt: AnchorReceipt, leaves: Sequence[tuple[str, int, bytes]]
    ) -> Batch:
        """Mirror a confirmed ledger batch: record it once, mark these events as in it.

        Unlike ``record_batch``, the ledger's batch may also hold other leaves (carbon
        reports, telemetry digests), so ``leaves`` — ``(event_id, leaf_index,
        leaf_hash)`` — may be a subset. Events already in a batch are left alone;
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
