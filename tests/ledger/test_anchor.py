from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ledger.anchor import AnchorReceipt, OnChainAnchor

GOOD_RECEIPT: dict[str, Any] = {
    "root": b"\x01" * 32,
    "size": 3,
    "metadata": b"\x02" * 32,
    "chain_id": 31337,
    "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "tx_hash": "0x" + "ab" * 32,
    "block_number": 2,
}


def test_receipt_is_frozen() -> None:
    receipt = AnchorReceipt(**GOOD_RECEIPT)
    with pytest.raises(ValidationError, match="frozen"):
        receipt.size = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("root", b"\x01" * 31, "root must be 32 bytes"),
        ("metadata", b"", "metadata must be 32 bytes"),
        ("size", 0, "greater than or equal to 1"),
        ("size", 2**64, "less than or equal to 18446744073709551615"),
        ("contract", "0x1234", "contract must be a 0x-prefixed 20-byte hex address"),
        ("tx_hash", "0x" + "AB" * 32, "tx_hash must be 0x + 64 lowercase hex digits"),
        ("chain_id", 0, "greater than or equal to 1"),
    ],
)
def test_receipt_rejects_bad_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AnchorReceipt(**{**GOOD_RECEIPT, field: value})
    assert info.value.errors()[0]["loc"] == (field,)
    assert message in str(info.value)


def test_on_chain_anchor_rejects_a_bad_anchorer() -> None:
    with pytest.raises(ValidationError, match="anchorer must be a 0x-prefixed"):
        OnChainAnchor(
            root=b"\x01" * 32,
            size=1,
            metadata=b"\x00" * 32,
            block_number=1,
            timestamp=0,
            anchorer="nobody",
        )
