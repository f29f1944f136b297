"""The anchoring port: what anchoring returns and what a chain adapter must do.

Pure models and a Protocol; no web3 here, so services and verifiers can depend
on anchoring without pulling in a chain client (``ledger.chain`` implements it).
"""

from __future__ import annotations

import re
from typing import Protocol

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


class Anchorer(Protocol):
    """Anchors Merkle roots on a chain and looks them up again.

    ``anchor`` raises ``AnchorRejected`` when the contract refuses (e.g. the root
    is already anchored) and ``ChainUnavailable`` when the chain cannot be reached.
    """

    chain_id: int
    contract: str

    def anchor(self, root: bytes, size: int, metadata: bytes) -> AnchorReceipt: ...

    def lookup(self, root: bytes) -> OnChainAnchor | None: ...
