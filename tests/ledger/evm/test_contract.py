"""The web3 adapter against the embedded EVM and against a real anvil node."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3

from ledger.digest import sha256
from ledger.errors import AnchorRejected, ChainError, ChainUnavailable
from ledger.evm.contract import (
    AnchorContract,
    deploy_anchor_contract,
    embedded_web3,
    load_artifact,
    rpc_web3,
)
from ledger.evm.sender import AnchorSender
from ledger.merkle import leaf_hash, merkle_root
from tests.ledger.conftest import anchoring_account, send_anchor
from tracehub.services import Anvil, free_port

# anvil's second well-known dev account (public "test test … junk" mnemonic): funded, not owner.
ANVIL_SECOND_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
METADATA = sha256(b'{"batch":1}')


def _root() -> bytes:
    return merkle_root([leaf_hash(os.urandom(16)) for _ in range(3)])


@dataclass(frozen=True)
class Deployed:
    w3: Web3
    address: ChecksumAddress
    owner: AnchorContract
    anchorer: AnchorSender  # an allowed anchoring account


@pytest.fixture(scope="module")
def embedded() -> Deployed:
    w3 = embedded_web3()
    address = Web3.to_checksum_address(deploy_anchor_contract(w3))
    owner = AnchorContract(w3, address)
    _, sender = anchoring_account(w3, owner, address)
    return Deployed(w3, address, owner, sender)


@pytest.fixture(scope="module")
def on_anvil(anvil: Anvil) -> Deployed:
    w3 = rpc_web3(anvil.url)
    address = Web3.to_checksum_address(deploy_anchor_contract(w3, anvil.private_key))
    owner = AnchorContract(w3, address, anvil.private_key)
    return Deployed(w3, address, owner, AnchorSender(w3, address, anvil.private_key))


def test_embedded_anchor_then_lookup(embedded: Deployed) -> None:
    anchorer = embedded.anchorer
    root = _root()
    receipt = send_anchor(anchorer, root, 3, METADATA)
    assert anchorer.contract == embedded.address == Web3.to_checksum_address(embedded.address)
    assert anchorer.chain_id == embedded.w3.eth.chain_id
    tx = embedded.w3.eth.get_transaction_receipt(HexStr(receipt.tx_hash))
    assert tx["blockNumber"] == receipt.block_number
    # Storing the root costs more than the ~23k of an event-only anchor; keep it bounded.
    assert 45_000 < tx["gasUsed"] < 100_000
    logs = (
        embedded.w3.eth.contract(address=embedded.address, abi=load_artifact()["abi"])
        .events.Anchored()
        .process_receipt(tx)
    )
    assert logs[0]["args"]["root"] == root
    assert logs[0]["args"]["anchorer"] == anchorer.sender

    found = anchorer.lookup(root)
    assert found is not None
    assert (found.root, found.size, found.metadata) == (root, 3, METADATA)
    assert found.block_number == receipt.block_number
    assert found.anchorer == anchorer.sender
    assert found.timestamp == embedded.w3.eth.get_block(receipt.block_number)["timestamp"]
    assert embedded.owner.lookup(root) == found  # a read-only binding sees the same
    assert anchorer.lookup(_root()) is None


def test_embedded_rejections_name_the_custom_error(embedded: Deployed) -> None:
    anchorer, root = embedded.anchorer, _root()
    send_anchor(anchorer, root, 1, METADATA)
    with pytest.raises(AnchorRejected, match="root already anchored: 0x" + root.hex()):
        send_anchor(anchorer, root, 1, METADATA)
    with pytest.raises(AnchorRejected, match="root is zero"):
        send_anchor(anchorer, bytes(32), 1, METADATA)
    with pytest.raises(AnchorRejected, match="size is zero"):
        send_anchor(anchorer, _root(), 0, METADATA)
    with pytest.raises(AnchorRejected, match="root must be 32 bytes"):
        send_anchor(anchorer, root[:31], 1, METADATA)
    with pytest.raises(AnchorRejected, match="size 18446744073709551616 does not fit uint64"):
        send_anchor(anchorer, _root(), 2**64, METADATA)


def test_embedded_owner_controls_anchorers(embedded: Deployed) -> None:
    key, _ = anchoring_account(embedded.w3, embedded.owner, embedded.address)
    embedded.owner.set_anchorer(Account.from_key(key).address, False)  # funded, not allowed
    stranger = AnchorSender(embedded.w3, embedded.address, key)
    other = stranger.sender
    with pytest.raises(AnchorRejected, match=f"account {other} is not an allowed anchorer"):
        send_anchor(stranger, _root(), 2, METADATA)
    with pytest.raises(AnchorRejected, match=f"account {other} is not the contract owner"):
        stranger.set_anchorer(other, True)
    embedded.owner.set_anchorer(other, True)
    assert stranger.is_anchorer(other)
    root = _root()
    send_anchor(stranger, root, 2, METADATA)
    found = stranger.lookup(root)
    assert found is not None
    assert found.size == 2
    embedded.owner.set_anchorer(other, False)
    with pytest.raises(AnchorRejected, match="not an allowed anchorer"):
        send_anchor(stranger, _root(), 2, METADATA)


def test_embedded_chain_is_safe_to_share_between_threads(embedded: Deployed) -> None:
    roots = [_root() for _ in range(4)]
    done = threading.Event()
    failures: list[BaseException] = []

    def read_until_done() -> None:
        try:
            while not done.is_set():
                embedded.owner.lookup(roots[0])
                embedded.w3.eth.get_block("latest")
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        for root in roots:
            send_anchor(embedded.anchorer, root, 1, METADATA)
    finally:
        done.set()
        reader.join(timeout=30)
    assert failures == []
    assert all(embedded.owner.lookup(root) is not None for root in roots)


@pytest.mark.integration
def test_anvil_anchor_then_lookup(on_anvil: Deployed, anvil: Anvil) -> None:
    root = _root()
    receipt = send_anchor(on_anvil.anchorer, root, 5, METADATA)
    assert on_anvil.anchorer.chain_id == anvil.chain_id == 31337
    assert on_anvil.w3.eth.get_transaction_receipt(HexStr(receipt.tx_hash))["status"] == 1
    assert on_anvil.w3.eth.get_transaction(HexStr(receipt.tx_hash))["type"] == 2  # EIP-1559
    found = on_anvil.owner.lookup(root)
    assert found is not None
    assert (found.size, found.metadata, found.block_number) == (5, METADATA, receipt.block_number)
    assert on_anvil.owner.lookup(_root()) is None


@pytest.mark.integration
def test_anvil_rejections(on_anvil: Deployed, anvil: Anvil) -> None:
    root = _root()
    send_anchor(on_anvil.anchorer, root, 1, METADATA)
    with pytest.raises(AnchorRejected, match="root already anchored"):
        send_anchor(on_anvil.anchorer, root, 1, METADATA)
    with pytest.raises(AnchorRejected, match="root is zero"):
        send_anchor(on_anvil.anchorer, bytes(32), 1, METADATA)
    stranger = AnchorSender(on_anvil.w3, on_anvil.address, ANVIL_SECOND_KEY)
    with pytest.raises(AnchorRejected, match="is not an allowed anchorer"):
        send_anchor(stranger, _root(), 1, METADATA)


@pytest.mark.integration
def test_anvil_down_is_chain_unavailable(fresh_anvil: Anvil) -> None:
    w3 = rpc_web3(fresh_anvil.url)
    contract = AnchorSender(
        w3, deploy_anchor_contract(w3, fresh_anvil.private_key), fresh_anvil.private_key
    )
    fresh_anvil.stop()
    with pytest.raises(ChainUnavailable, match="estimate gas: the chain node cannot be reached"):
        contract.prepare_anchor(_root(), 1, METADATA, nonce=0)
    with pytest.raises(ChainUnavailable, match="lookup: the chain node cannot be reached"):
        contract.lookup(_root())


def test_nothing_listening_is_chain_unavailable() -> None:
    w3 = rpc_web3(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChainUnavailable, match="read chain id"):
        AnchorContract(w3, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def test_a_malformed_private_key_is_refused_before_any_call(embedded: Deployed) -> None:
    with pytest.raises(ChainError, match="private_key is not a valid secp256k1 key"):
        AnchorContract(embedded.w3, embedded.address, "0x1234")
    with pytest.raises(ChainError, match="address 'nowhere' is not an EVM address"):
        AnchorContract(embedded.w3, "nowhere")
