"""Two anchor workers on one PostgreSQL and a real anvil node.

Exactly one anchors each batch; the holder is killed (SIGKILL) with its
transaction signed, recorded and broadcast but not yet mined, and the other
worker takes over: the same transaction is mined once, nothing lost or doubled.
Also: a reorg that drops the anchoring block makes the worker anchor again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from eth_account import Account
from web3 import Web3

from ledger.batch import BatchStatus
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, raw_request, rpc_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy
from tests.ledger.conftest import T0, postgres_database
from tests.support.postgres import PostgreSQL
from tracehub.services import Anvil

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a database and a node: there is no event to await


def _rpc(w3: Web3, method: str, *params: object) -> object:
    response = raw_request(w3, method, list(params))
    assert "error" not in response, response
    return response.get("result")


def _account(w3: Web3, owner_key: str) -> tuple[str, str]:
    address = deploy_anchor_contract(w3, owner_key)
    key = "0x" + os.urandom(32).hex()
    AnchorContract(w3, address, owner_key).set_anchorer(Account.from_key(key).address, True)
    fund_account(w3, Account.from_key(key).address, 10**18)
    return address, key


def test_killed_worker_mid_batch_is_taken_over(
    postgres: PostgreSQL, fresh_anvil: Anvil, signer: Signer
) -> None:
    url = postgres_database(postgres.url, "ledger_takeover")
    store = LedgerStore.open(url)
    w3 = rpc_web3(fresh_anvil.url)
    address, key = _account(w3, fresh_anvil.private_key)
    for i in range(20):
        store.submit("k", f"r{i}", {"i": i}, [f"lot:{i % 4}"], signer, T0)
    _rpc(w3, "evm_setAutomine", False)  # the tx will sit in the mempool
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.worker_proc", url, fresh_anvil.url, address, key, "A"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until(
            lambda: any(b.status is BatchStatus.SENT for b in store.unfinished_batches()),
            30,
            "worker A to send the batch",
        )
        (batch,) = store.unfinished_batches()
        assert batch.size == 20
        sender = AnchorSender(w3, address, key)
        second = AnchorWorker(store, sender, "B", BatchPolicy(lease_ttl_s=3, receipt_wait_s=0.2))
        assert not second.step(flush=True).holding  # A holds the lease: B stands by
    finally:
        first.kill()
        first.wait(timeout=10)
        assert first.stdout is not None
        first.stdout.close()
    _until(lambda: second.step().holding, 10, "worker B to take the lease over")
    _rpc(w3, "evm_mine")

    def confirmed() -> bool:
        second.step()
        current = store.batch(batch.id)
        return current is not None and current.status is BatchStatus.CONFIRMED

    _until(confirmed, 30, "worker B to confirm the batch")
    done = store.batch(batch.id)
    assert done is not None
    assert done.tx_hash == batch.tx_hash  # A's signed tx, mined once
    assert w3.eth.get_transaction_count(Account.from_key(key).address) == 1
    assert store.pending().count == 0
    assert store.unfinished_batches() == []
    found = AnchorContract(w3, address).lookup(batch.root)
    assert found is not None
    assert found.size == 20
    store.close()


def test_reorged_anchor_is_anchored_again(
    fresh_anvil: Anvil, ledger: LedgerStore, signer: Signer
) -> None:
    w3 = rpc_web3(fresh_anvil.url)
    address, key = _account(w3, fresh_anvil.private_key)
    for i in range(3):
        ledger.submit("k", f"r{i}", {"i": i}, ["lot:r"], signer, T0)
    worker = AnchorWorker(ledger, AnchorSender(w3, address, key), "w", BatchPolicy(confirmations=3))
    snapshot = _rpc(w3, "evm_snapshot")
    result = worker.step(flush=True)
    assert result.in_flight is not None
    assert result.in_flight.status is BatchStatus.INCLUDED  # 1 of 3 confirmations
    first_block = result.in_flight.block_hash
    _rpc(w3, "evm_revert", snapshot)  # the block holding the anchor is gone
    assert AnchorContract(w3, address).lookup(result.in_flight.root) is None
    again = worker.step()  # notices, re-broadcasts the same signed tx
    assert again.in_flight is not None
    assert again.in_flight.block_hash != first_block
    _rpc(w3, "evm_mine")
    _rpc(w3, "evm_mine")
    (confirmed,) = worker.step().confirmed
    assert confirmed.tx_hash == result.in_flight.tx_hash
    assert AnchorContract(w3, address).lookup(confirmed.root) is not None
