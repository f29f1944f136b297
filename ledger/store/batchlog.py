"""The batch log: leaves cut into batches, and each batch's way onto the chain.

A batch fixes the oldest pending leaves (at most N) under one RFC 6962 root and
a metadata document; it then moves ``cut → sent → included → confirmed`` (and
back on a reorg or a lost nonce; ``confirmed → sent`` when the node lost the block in
a crash; ``confirmed ⇄ orphaned`` when the chain is not, or is again, the one the batch
was anchored on). Every move is fenced by the anchoring lease
(``ledger.store.lease.check_lease``) in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.batch import (
    AnchorTarget,
    BatchRecord,
    BatchStatus,
    Inclusion,
    Lease,
    SentTx,
    SetAsideRecord,
    StoredEntry,
)
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import leaf_problem
from ledger.errors import EntryError
from ledger.merkle import MerkleTree, merkle_root
from ledger.signing import format_instant
from ledger.store.database import LedgerDatabase, from_db, to_db
from ledger.store.lease import check_lease
from ledger.store.schema import batches, entries
from ledger.store.setaside import not_set_aside, record_set_aside

BATCH_FORMAT = "tracehub-batch/2"


class BatchLog(LedgerDatabase):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # A cut batch never changes, so its leaves and tree are safe to keep.
        self._leaves_cache = lru_cache(maxsize=64)(self._load_batch_leaves)
        self._tree = lru_cache(maxsize=8)(lambda batch_id: MerkleTree(self.batch_leaves(batch_id)))

    # reading ------------------------------------------------------------------------

    def batch(self, batch_id: int) -> BatchRecord | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else batch_record(row)

    def unfinished_batches(self) -> list[BatchRecord]:
        """Batches cut but not yet confirmed (nor orphaned), oldest first."""
        open_states = (BatchStatus.CUT, BatchStatus.SENT, BatchStatus.INCLUDED)
        query = (
            sa.select(batches)
            .where(batches.c.status.in_([s.value for s in open_states]))
            .order_by(batches.c.id)
        )
        with self._tx() as conn:
            return [batch_record(row) for row in conn.execute(query)]

    def confirmed_batches(self, after_id: int = 0, limit: int = 100) -> list[BatchRecord]:
        query = (
            sa.select(batches)
            .where(batches.c.status == BatchStatus.CONFIRMED.value, batches.c.id > after_id)
            .order_by(batches.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            return [batch_record(row) for row in conn.execute(query)]

    def anchor_targets(self) -> list[tuple[AnchorTarget, BatchStatus]]:
        """Each chain and contract that confirmed (or orphaned) batches name."""
        query = (
            sa.select(batches.c.chain_id, batches.c.genesis_hash, batches.c.contract)
            .add_columns(batches.c.status)
            .where(
                batches.c.status.in_([BatchStatus.CONFIRMED.value, BatchStatus.ORPHANED.value]),
                batches.c.chain_id.is_not(None),
                batches.c.contract.is_not(None),
            )
            .distinct()
        )
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return [
            (
                AnchorTarget(chain_id=r.chain_id, genesis_hash=r.genesis_hash, contract=r.contract),
                BatchStatus(r.status),
            )
            for r in rows
        ]

    def newest_confirmed(self, target: AnchorTarget, limit: int) -> list[BatchRecord]:
        """The newest confirmed batches anchored on ``target``, newest first."""
        query = (
            sa.select(batches)
            .where(batches.c.status == BatchStatus.CONFIRMED.value, *_on(target))
            .order_by(batches.c.id.desc())
            .limit(limit)
        )
        with self._tx() as conn:
            return [batch_record(row) for row in conn.execute(query)]

    def batch_leaves(self, batch_id: int) -> tuple[bytes, ...]:
        """The leaf hashes of a batch in leaf order (a cut batch never changes)."""
        return self._leaves_cache(batch_id)

    def _load_batch_leaves(self, batch_id: int) -> tuple[bytes, ...]:
        query = (
            sa.select(entries.c.leaf_hash)
            .where(entries.c.batch_id == batch_id)
            .order_by(entries.c.leaf_index)
        )
        with self._tx() as conn:
            return tuple(bytes.fromhex(h) for h in conn.execute(query).scalars())

    def proof(self, stored: StoredEntry) -> tuple[bytes, ...]:
        """The RFC 6962 inclusion proof of a batched entry in its batch."""
        if stored.batch_id is None or stored.leaf_index is None:
            raise EntryError(f"{stored.entry.kind} {stored.entry.record_id} is not batched yet")
        return self._tree(stored.batch_id).proof(stored.leaf_index)

    # the state machine --------------------------------------------------------------

    def cut_batch(
        self,
        lease: Lease,
        max_leaves: int,
        now: datetime,
        on_set_aside: Callable[[SetAsideRecord], None] | None = None,
    ) -> BatchRecord | None:
        """Fix the oldest pending leaves (at most ``max_leaves``) into a new batch.

        Each leaf is screened first (``ledger.entry.leaf_problem``): one that could never
        be verified is set aside with its reason (``ledger.store.setaside``), in the
        same transaction, and told to ``on_set_aside``; the batch goes on without it.
        """
        if max_leaves < 1:
            raise ValueError(f"max_leaves {max_leaves}: must be at least 1")
        with self._tx() as conn:
            check_lease(conn, lease)
            rows = self._screened(conn, max_leaves, now, on_set_aside)
            if not rows:
                return None
            leaves = [bytes.fromhex(r.leaf_hash) for r in rows]
            doc = {
                "format": BATCH_FORMAT,
                "size": len(rows),
                "first_entry": rows[0].id,
                "last_entry": rows[-1].id,
                "cut_at": format_instant(now),
            }
            oldest = min(r.submitted_at for r in rows)
            result = conn.execute(
                batches.insert().values(
                    root=merkle_root(leaves).hex(),
                    size=len(rows),
                    metadata=sha256(canonicalize(doc)).hex(),
                    metadata_doc=json.dumps(doc, sort_keys=True),
                    status=BatchStatus.CUT.value,
                    created_at=to_db(now),
                    oldest_submitted_at=oldest,
                    recovered=False,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            batch_id = int(pk[0])
            conn.execute(
                entries.update()
                .where(entries.c.id == sa.bindparam("entry_id"))
                .values(batch_id=batch_id, leaf_index=sa.bindparam("index")),
                [{"entry_id": r.id, "index": i} for i, r in enumerate(rows)],
            )
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return batch_record(row)

    @staticmethod
    def _screened(
        conn: Connection,
        max_leaves: int,
        now: datetime,
        on_set_aside: Callable[[SetAsideRecord], None] | None,
    ) -> list[sa.Row[Any]]:
        """The oldest pending leaves that can be anchored (the others set aside)."""
        while True:
            rows = conn.execute(
                sa.select(
                    entries.c.id,
                    entries.c.kind,
                    entries.c.record_id,
                    entries.c.leaf_hash,
                    entries.c.leaf_data,
                    entries.c.submitted_at,
                )
                .where(entries.c.batch_id.is_(None), not_set_aside())
                .order_by(entries.c.id)
                .limit(max_leaves)
            ).all()
            good: list[Any] = []
            for row in rows:
                problem = leaf_problem(row.kind, row.record_id, row.leaf_hash, row.leaf_data)
                if problem is None:
                    good.append(row)
                    continue
                aside = record_set_aside(
                    conn, row.id, row.kind, row.record_id, "batch", problem, now
                )
                if aside is not None and on_set_aside is not None:
                    on_set_aside(aside)
            if good or not rows:
                return good
            # A window of nothing but poison: the next leaves are behind it.

    def mark_sent(self, lease: Lease, batch_id: int, tx: SentTx, now: datetime) -> BatchRecord:
        return self._move(
            lease,
            batch_id,
            {BatchStatus.CUT, BatchStatus.SENT},
            status=BatchStatus.SENT.value,
            chain_id=tx.chain_id,
            contract=tx.contract,
            sender=tx.sender,
            tx_hash=tx.tx_hash,
            nonce=tx.nonce,
            raw_tx=tx.raw.hex(),
            gas_limit=tx.gas_limit,
            max_fee_per_gas=tx.max_fee_per_gas,
            max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
            sent_at=to_db(now),
        )

    def mark_included(
        self, lease: Lease, batch_id: int, inclusion: Inclusion, *, recovered: bool = False
    ) -> BatchRecord:
        values: dict[str, Any] = {
            "status": BatchStatus.INCLUDED.value,
            "chain_id": inclusion.chain_id,
            "contract": inclusion.contract,
            "block_number": inclusion.block_number,
            "block_hash": inclusion.block_hash,
            "block_time": to_db(inclusion.block_time),
            "recovered": recovered,
            "genesis_hash": inclusion.genesis_hash,
        }
        if inclusion.tx_hash is not None:
            values["tx_hash"] = inclusion.tx_hash
        return self._move(
            lease, batch_id, {BatchStatus.CUT, BatchStatus.SENT, BatchStatus.INCLUDED}, **values
        )

    def mark_confirmed(self, lease: Lease, batch_id: int, now: datetime) -> BatchRecord:
        return self._move(
            lease,
            batch_id,
            {BatchStatus.INCLUDED},
            status=BatchStatus.CONFIRMED.value,
            confirmed_at=to_db(now),
        )

    def mark_reorged(self, lease: Lease, batch_id: int) -> BatchRecord:
        """The including block is gone: back to SENT (keep the tx to re-broadcast)."""
        return self._move(
            lease,
            batch_id,
            {BatchStatus.INCLUDED},
            status=BatchStatus.SENT.value,
            block_number=None,
            block_hash=None,
            block_time=None,
            recovered=False,
        )

    def mark_vanished(self, lease: Lease, batch_id: int) -> BatchRecord:
        """A confirmed batch's block is gone from its own chain (the node lost its last
        blocks in a crash, or a deep reorg): back to SENT, the tx kept to re-broadcast."""
        return self._move(
            lease,
            batch_id,
            {BatchStatus.CONFIRMED},
            status=BatchStatus.SENT.value,
            block_number=None,
            block_hash=None,
            block_time=None,
            confirmed_at=None,
            recovered=False,
        )

    def mark_orphaned(self, lease: Lease, target: AnchorTarget) -> int:
        """Every confirmed batch on ``target``, a chain that is not the hub's: orphaned."""
        return self._move_all(lease, target, BatchStatus.CONFIRMED, BatchStatus.ORPHANED)

    def mark_restored(self, lease: Lease, target: AnchorTarget) -> int:
        """Orphaned batches on ``target``, the hub's chain again: confirmed once more."""
        return self._move_all(lease, target, BatchStatus.ORPHANED, BatchStatus.CONFIRMED)

    def _move_all(
        self, lease: Lease, target: AnchorTarget, source: BatchStatus, status: BatchStatus
    ) -> int:
        with self._tx() as conn:
            check_lease(conn, lease)
            result = conn.execute(
                batches.update()
                .where(batches.c.status == source.value, *_on(target))
                .values(status=status.value)
            )
        return int(result.rowcount or 0)

    def mark_unsent(self, lease: Lease, batch_id: int) -> BatchRecord:
        """The recorded transaction can never be mined (nonce used elsewhere): start over."""
        return self._move(
            lease,
            batch_id,
            {BatchStatus.SENT},
            status=BatchStatus.CUT.value,
            tx_hash=None,
            nonce=None,
            raw_tx=None,
            gas_limit=None,
            max_fee_per_gas=None,
            max_priority_fee_per_gas=None,
            sent_at=None,
        )

    def _move(
        self, lease: Lease, batch_id: int, allowed: set[BatchStatus], **values: Any
    ) -> BatchRecord:
        with self._tx() as conn:
            check_lease(conn, lease)
            row = conn.execute(
                sa.select(batches).where(batches.c.id == batch_id).with_for_update()
            ).first()
            if row is None:
                raise EntryError(f"batch {batch_id} does not exist")
            if BatchStatus(row.status) not in allowed:
                raise EntryError(
                    f"batch {batch_id} is {row.status}; expected one of "
                    f"{sorted(s.value for s in allowed)}"
                )
            conn.execute(batches.update().where(batches.c.id == batch_id).values(**values))
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return batch_record(row)


def _on(target: AnchorTarget) -> list[sa.ColumnElement[bool]]:
    genesis = batches.c.genesis_hash
    return [
        batches.c.chain_id == target.chain_id,
        batches.c.contract == target.contract,
        genesis.is_(None) if target.genesis_hash is None else genesis == target.genesis_hash,
    ]


def batch_record(row: sa.Row[Any]) -> BatchRecord:
    """A ``ledger_batches`` row as a ``BatchRecord``."""
    data = row._asdict()
    data["root"] = bytes.fromhex(data["root"])
    data["metadata"] = bytes.fromhex(data["metadata"])
    data["metadata_doc"] = json.loads(data["metadata_doc"])
    data["raw_tx"] = None if data["raw_tx"] is None else bytes.fromhex(data["raw_tx"])
    for name in ("created_at", "oldest_submitted_at", "sent_at", "block_time", "confirmed_at"):
        data[name] = from_db(data[name])
    return BatchRecord.model_validate(data)
