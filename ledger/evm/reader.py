"""A read-only ``ChainView`` over any Web3, for verifying bundles and lots.

It binds one ``AnchorContract`` per contract address the evidence names (only
reads: no key, no transactions), and translates failures like the rest of the
adapter (``ChainUnavailable`` when the node cannot be reached).
"""

from __future__ import annotations

from web3 import Web3

from ledger.anchor import Located
from ledger.evm.contract import AnchorContract, _guard, genesis_hash


class ChainReader:
    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._contracts: dict[str, AnchorContract] = {}

    def chain_id(self) -> int:
        return int(_guard(lambda: self._w3.eth.chain_id, "read chain id"))

    def genesis_hash(self) -> str:
        return genesis_hash(self._w3)

    def has_code(self, contract: str) -> bool:
        checksum = Web3.to_checksum_address(contract)
        return bool(_guard(lambda: self._w3.eth.get_code(checksum), "read code"))

    def _contract(self, address: str) -> AnchorContract:
        if address not in self._contracts:
            self._contracts[address] = AnchorContract(self._w3, address)
        return self._contracts[address]

    def locate(self, contract: str, root: bytes) -> Located | None:
        return self._contract(contract).locate(root)

    def size_of(self, contract: str, root: bytes) -> int | None:
        found = self._contract(contract).lookup(root)
        return None if found is None else found.size
