"""An in-memory ``ledger.anchor.Anchorer`` for unit tests of the anchoring logic.

It behaves like the anchor contract as the contract promises: a root can be anchored
once, a second anchor of the same root is refused with ``AnchorRejected``.
"""

from __future__ import annotations

from ledger.anchor import AnchorReceipt, OnChainAnchor
from ledger.errors import AnchorRejected, ChainUnavailable


class FakeAnchorer:
    chain_id = 1337
    contract = "0x" + "a1" * 20
    account = "0x" + "b2" * 20

    def __init__(self) -> None:
        self.roots: dict[bytes, OnChainAnchor] = {}
        self.block = 0
        self.down = False
        self.anchor_calls = 0

    def anchor(self, root: bytes, size: int, metadata: bytes) -> AnchorReceipt:
        self.anchor_calls += 1
        if self.down:
            raise ChainUnavailable("connection refused (fake chain is down)")
        if root in self.roots:
            raise AnchorRejected("AlreadyAnchored(root)")
        self.block += 1
        self.roots[root] = OnChainAnchor(
            root=root,
            size=size,
            metadata=metadata,
            block_number=self.block,
            timestamp=1_790_000_000 + self.block,
            anchorer=self.account,
        )
        return AnchorReceipt(
            root=root,
            size=size,
            metadata=metadata,
            chain_id=self.chain_id,
            contract=self.contract,
            tx_hash="0x" + f"{self.block:064x}",
            block_number=self.block,
        )

    def lookup(self, root: bytes) -> OnChainAnchor | None:
        if self.down:
            raise ChainUnavailable("connection refused (fake chain is down)")
        return self.roots.get(root)
