"""The anchoring port: what anchoring returns and what a chain adapter must do.

Pure models and the ``AnchorChain`` Protocol the worker drives; no web3 here, so
services and verifiers can depend on anchoring without pulling in a chain client
(``ledger.evm.sender.AnchorSender`` implements it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
UINT64_MAX = 2**64 - 1


def _check_bytes32(value: bytes, field: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{field} must be 32 bytes (a SHA-256 digest), got {len(value)}")
    return value


def _check_address(value: str, field: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{field} must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value


class AnchorReceipt(BaseModel):
    """Proof that a batch root went on chain: which root, where, in which tx and block."""

    model_config = ConfigDict(frozen=True)

    root: bytes
    size: int = Field(ge=1, le=UINT64_MAX)
    metadata: bytes
    chain_id: int = Field(ge=1)
    contract: str
    tx_hash: str
    block_number: int = Field(ge=0)

    @field_validator("root", "metadata")
    @classmethod
    def _bytes32(cls, value: bytes, info: ValidationInfo) -> bytes:
        return _check_bytes32(value, info.field_name or "value")

    @field_validator("contract")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_address(value, "contract")

    @field_validator("tx_hash")
    @classmethod
    def _tx(cls, value: str) -> str:
        if not _TX_HASH.match(value):
            raise ValueError(f"tx_hash must be 0x + 64 lowercase hex digits, got {value!r}")
        return value


class OnChainAnchor(BaseModel):
    """What the anchor contract records about a root."""

    model_config = ConfigDict(frozen=True)

    root: bytes
    size: int = Field(ge=1, le=UINT64_MAX)
    metadata: bytes
    block_number: int = Field(ge=0)
    timestamp: int = Field(ge=0)
    anchorer: str

    @field_validator("root", "metadata")
    @classmethod
    def _bytes32(cls, value: bytes, info: ValidationInfo) -> bytes:
        return _check_bytes32(value, info.field_name or "value")

    @field_validator("anchorer")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_address(value, "anchorer")


class SentTx(BaseModel):
    """A signed anchor transaction, kept so it can be re-broadcast unchanged."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    contract: str
    sender: str
    tx_hash: str
    nonce: int = Field(ge=0)
    raw: bytes
    gas_limit: int = Field(ge=21_000)
    max_fee_per_gas: int = Field(ge=0)
    max_priority_fee_per_gas: int = Field(ge=0)


class Located(BaseModel):
    """Where an anchored root is on chain right now: its transaction and block."""

    model_config = ConfigDict(frozen=True)

    tx_hash: str | None  # None only if the node cannot return the Anchored log
    block_number: int
    block_hash: str
    block_time: datetime


class TxOutcome(BaseModel):
    """A mined transaction's receipt, reduced to what anchoring needs."""

    model_config = ConfigDict(frozen=True)

    tx_hash: str
    succeeded: bool
    block_number: int
    block_hash: str


Broadcast = Literal["accepted", "known", "nonce_used"]


class AnchorChain(Protocol):
    """What the anchoring worker needs from a chain: prepare, send, watch, confirm.

    Every method raises ``ChainUnavailable`` when the node cannot be reached (the
    worker only waits), ``FeeAboveCeiling`` when fees exceed the ceiling,
    ``InsufficientFunds`` when the account cannot pay and ``AnchorRejected`` when the
    contract would revert (checked by estimating gas, so no gas is spent on it).
    """

    chain_id: int
    contract: str
    genesis_hash: str | None  # block 0's hash: the chain's identity across restarts

    @property
    def sender(self) -> str: ...

    def has_code(self, address: str) -> bool: ...

    def lookup(self, root: bytes) -> OnChainAnchor | None: ...

    def locate(self, root: bytes) -> Located | None: ...

    def next_nonce(self) -> int: ...

    def prepare_anchor(
        self,
        root: bytes,
        size: int,
        metadata: bytes,
        nonce: int,
        replacing: SentTx | None = None,
    ) -> SentTx: ...

    def broadcast(self, tx: SentTx) -> Broadcast: ...

    def receipt(self, tx_hash: str, wait_s: float) -> TxOutcome | None: ...

    def head(self) -> int: ...
