"""Anchoring: Merkle-batch pending events and anchor each batch root on chain.

A batch is the pending events in capture order. Leaf ``i`` is
``leaf_hash(canonicalize(stored event JSON))``; the root (RFC 6962) and a metadata
digest go on chain in one transaction through a ``ledger.anchor.Anchorer``; then the
batch and every event's leaf index are recorded in one database transaction.

Failure and crash safety:

* The chain fails (``ledger.errors.ChainError``): nothing is recorded, the events stay
  pending, ``AnchoringUnavailable`` is raised; the next call retries the same batch.
* The root went on chain but the process died (or the database failed) before the
  batch was recorded: the retry rebuilds the same batch (capture order is stable, see
  ``RecordStore.pending_events``), so it has the same root. Re-anchoring it would be
  refused by the contract, so the service first asks ``lookup(root)``: a root already
  on chain is recorded with what the contract says (size, metadata, block) and
  ``BatchSummary.recovered`` is True. The tx hash is not known then (the contract
  stores no tx hash); it is recorded as ``UNKNOWN_TX_HASH`` (all zeros).
* If more events were captured before the retry and ``max_events`` allows them in, the
  retried batch differs and gets a new root: the earlier root stays on chain unrecorded.
  Harmless (every event is still anchored exactly once in the records), and avoided
  by retrying with the same ``max_events``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ledger.anchor import Anchorer, AnchorReceipt, OnChainAnchor
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.errors import AnchorRejected, ChainError
from ledger.merkle import leaf_hash, merkle_root
from traceability.epcis import format_time
from traceability.errors import AnchoringUnavailable
from traceability.records import RecordStore, StoredEvent

BATCH_FORMAT = "tracehub-batch/1"
# Recorded when a batch is recovered from the contract, which does not keep tx hashes.
UNKNOWN_TX_HASH = "0x" + "0" * 64
DEFAULT_MAX_EVENTS = 1000


class BatchSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_id: int
    root: bytes
    size: int
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    recovered: bool  # True: found already on chain (crash recovery), not sent now


def event_leaf(event: StoredEvent) -> bytes:
    """The Merkle leaf hash of a stored event."""
    return leaf_hash(canonicalize(event.document()))


def batch_metadata(events: Sequence[StoredEvent]) -> bytes:
    """The 32-byte metadata digest anchored next to a batch root."""
    times = sorted(e.event_time for e in events)
    return sha256(
        canonicalize(
            {
                "format": BATCH_FORMAT,
                "size": len(events),
                "first_event_time": format_time(times[0]),
                "last_event_time": format_time(times[-1]),
            }
        )
    )


class AnchoringService:
    def __init__(self, store: RecordStore, anchorer: Anchorer) -> None:
        self._store = store
        self._anchorer = anchorer

    def anchor_pending(self, max_events: int = DEFAULT_MAX_EVENTS) -> BatchSummary | None:
        """Anchor up to ``max_events`` pending events as one batch; None if none pending.

        Raises ``AnchoringUnavailable`` when the chain fails (nothing recorded, retry
        later) and ``StoreUnavailable`` when recording fails after anchoring (the retry
        recovers the batch from the chain, see the module docstring).
        """
        pending = self._store.pending_events(max_events)
        if not pending:
            return None
        leaves = [event_leaf(e) for e in pending]
        root = merkle_root(leaves)
        receipt, recovered = self._anchor(root, len(leaves), batch_metadata(pending))
        batch = self._store.record_batch(
            receipt,
            [(e.id, i, leaf) for i, (e, leaf) in enumerate(zip(pending, leaves, strict=True))],
        )
        return BatchSummary(
            batch_id=batch.id,
            root=batch.root,
            size=batch.size,
            chain_id=batch.chain_id,
            contract=batch.contract,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            recovered=recovered,
        )

    def _anchor(self, root: bytes, size: int, metadata: bytes) -> tuple[AnchorReceipt, bool]:
        try:
            existing = self._anchorer.lookup(root)
            if existing is None:
                try:
                    return self._anchorer.anchor(root, size, metadata), False
                except AnchorRejected:
                    # Someone (another worker) anchored it between lookup and anchor.
                    existing = self._anchorer.lookup(root)
                    if existing is None:
                        raise
        except ChainError as exc:
            raise AnchoringUnavailable(
                f"anchoring batch root {root.hex()} ({size} events) failed: {exc}; "
                "the events stay pending, retry when the chain is reachable"
            ) from exc
        return self._recovered_receipt(existing, size), True

    def _recovered_receipt(self, existing: OnChainAnchor, size: int) -> AnchorReceipt:
        if existing.size != size:
            raise AnchoringUnavailable(
                f"root {existing.root.hex()} is on chain with size {existing.size}, but the "
                f"pending batch has {size} events; inspect the contract before retrying"
            )
        return AnchorReceipt(
            root=existing.root,
            size=existing.size,
            metadata=existing.metadata,
            chain_id=self._anchorer.chain_id,
            contract=self._anchorer.contract,
            tx_hash=UNKNOWN_TX_HASH,
            block_number=existing.block_number,
        )
