"""Frozen values the ledger store takes and returns: entries, batches, leases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.anchor import SentTx
from ledger.entry import Entry

__all__ = [
    "AnchorTarget",
    "BatchRecord",
    "BatchStatus",
    "Inclusion",
    "Lease",
    "PendingSummary",
    "SentTx",
    "SetAsideRecord",
    "StoredEntry",
    "Submission",
]


class BatchStatus(StrEnum):
    """A batch's anchoring state; only a lease holder moves it forward."""

    CUT = "cut"  # leaves fixed and root computed; no transaction yet
    SENT = "sent"  # a signed transaction is recorded (and broadcast)
    INCLUDED = "included"  # mined in a block, not yet deep enough
    CONFIRMED = "confirmed"  # at least the confirmation depth deep
    # Confirmed on a chain the hub's chain is not (another genesis or chain id, or the
    # contract is gone: the chain was reset). Kept as it was, never re-anchored: a new
    # anchor would move the anchored time the signatures are judged by.
    ORPHANED = "orphaned"


class Submission(BaseModel):
    """One record for ``LedgerStore.submit_many`` (the arguments of ``submit``)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    record_id: str
    record: Any
    streams: tuple[str, ...] = ()
    keep_record: bool = False


class StoredEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int  # global submission order
    entry: Entry
    leaf_hash: bytes
    submitted_at: datetime
    batch_id: int | None
    leaf_index: int | None


class Inclusion(BaseModel):
    """Where a root landed: the block that holds its anchor."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    contract: str
    tx_hash: str | None  # None: recovered from the contract, which keeps no tx hash
    block_number: int
    block_hash: str
    block_time: datetime
    genesis_hash: str | None = None  # block 0: tells a reset chain from this one


class AnchorTarget(BaseModel):
    """Where confirmed batches were anchored: a chain (id and genesis) and a contract."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    genesis_hash: str | None  # None: anchored before the ledger recorded it
    contract: str


class BatchRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    root: bytes
    size: int
    metadata: bytes
    metadata_doc: dict[str, Any]
    status: BatchStatus
    created_at: datetime
    oldest_submitted_at: datetime
    chain_id: int | None = None
    contract: str | None = None
    sender: str | None = None
    tx_hash: str | None = None
    nonce: int | None = None
    raw_tx: bytes | None = None
    gas_limit: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    sent_at: datetime | None = None
    block_number: int | None = None
    block_hash: str | None = None
    block_time: datetime | None = None
    confirmed_at: datetime | None = None
    recovered: bool = False
    genesis_hash: str | None = None

    def sent_tx(self) -> SentTx | None:
        """The recorded signed transaction, if the batch has one."""
        if (
            self.raw_tx is None
            or self.tx_hash is None
            or self.nonce is None
            or self.chain_id is None
            or self.contract is None
            or self.sender is None
            or self.gas_limit is None
            or self.max_fee_per_gas is None
            or self.max_priority_fee_per_gas is None
        ):
            return None
        return SentTx(
            chain_id=self.chain_id,
            contract=self.contract,
            sender=self.sender,
            tx_hash=self.tx_hash,
            nonce=self.nonce,
            raw=self.raw_tx,
            gas_limit=self.gas_limit,
            max_fee_per_gas=self.max_fee_per_gas,
            max_priority_fee_per_gas=self.max_priority_fee_per_gas,
        )


class Lease(BaseModel):
    """The anchoring lease as held by one worker; ``token`` fences stale holders off."""

    model_config = ConfigDict(frozen=True)

    name: str
    holder: str
    token: int
    expires_at: datetime


class SetAsideRecord(BaseModel):
    """An entry the ledger set aside instead of stopping on it, and why.

    ``stage``: ``batch`` (kept out of every batch: its leaf cannot be anchored) or
    ``mirror`` (its batch is on chain, but the entry cannot be read back onto the records).
    """

    model_config = ConfigDict(frozen=True)

    entry_id: int
    kind: str
    record_id: str
    stage: str
    reason: str
    set_aside_at: datetime


class PendingSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    count: int
    oldest_submitted_at: datetime | None
