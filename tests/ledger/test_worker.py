"""The anchoring worker against the embedded EVM: policy, batching, recovery."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account

from ledger.batch import BatchStatus
from ledger.errors import ChainUnavailable, FeeAboveCeiling, InsufficientFunds
from ledger.evm.sender import AnchorSender
from ledger.fees import FeePolicy
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy
from tests.ledger.conftest import T0, Embedded, send_anchor


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _submit(ledger: LedgerStore, signer: Signer, n: int, at: datetime, prefix: str = "r") -> None:
    for i in range(n):
        ledger.submit(
            "test-record", f"{prefix}{i}", {"i": i, "p": prefix}, [f"s{i % 3}"], signer, at
        )


def test_policy_cuts_at_n_leaves_or_t_seconds(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    clock = Clock(T0)
    worker = AnchorWorker(
        ledger, embedded.sender, "w1", BatchPolicy(max_leaves=5, max_age_s=10), clock
    )
    _submit(ledger, signer, 3, T0)
    assert not worker.due()
    assert worker.step().confirmed == ()  # 3 < 5 leaves and only 0 s old
    clock.now = T0 + timedelta(seconds=10)
    assert worker.due()
    (batch,) = worker.step().confirmed
    assert (batch.size, batch.status) == (3, BatchStatus.CONFIRMED)
    _submit(ledger, signer, 12, clock.now, prefix="x")  # N reached twice: two full batches
    result = worker.step()
    assert [b.size for b in result.confirmed] == [5, 5]
    assert ledger.pending().count == 2


def test_flush_anchors_one_tx_per_batch_and_bundle_proofs_hold(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    worker = AnchorWorker(ledger, embedded.sender, "w1", BatchPolicy(max_leaves=1000))
    _submit(ledger, signer, 50, T0)
    start = embedded.w3.eth.block_number
    (batch,) = worker.step(flush=True).confirmed
    assert embedded.w3.eth.block_number == start + 1  # 50 leaves, one transaction
    on_chain = embedded.owner.lookup(batch.root)
    assert on_chain is not None
    assert (on_chain.size, on_chain.metadata) == (50, batch.metadata)
    assert batch.tx_hash is not None
    assert batch.block_hash is not None
    assert not batch.recovered


def test_crash_after_send_is_recovered_from_the_chain(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    """The root went on chain but the worker died before recording it: adopt, not resend."""
    _submit(ledger, signer, 4, T0)
    lease = ledger.acquire_lease("dead", 0.001, T0)
    assert lease is not None
    cut = ledger.cut_batch(lease, 10, T0)
    assert cut is not None
    send_anchor(embedded.sender, cut.root, cut.size, cut.metadata)  # sent, never recorded
    worker = AnchorWorker(ledger, embedded.sender, "w2", BatchPolicy())
    blocks = embedded.w3.eth.block_number
    (batch,) = worker.step().confirmed
    assert batch.id == cut.id
    assert batch.recovered
    assert batch.tx_hash is not None  # found through the Anchored log
    assert embedded.w3.eth.block_number == blocks  # nothing sent twice


def test_recorded_but_unbroadcast_tx_is_rebroadcast_unchanged(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    _submit(ledger, signer, 2, T0)
    lease = ledger.acquire_lease("dead", 0.001, T0)
    assert lease is not None
    cut = ledger.cut_batch(lease, 10, T0)
    assert cut is not None
    tx = embedded.sender.prepare_anchor(
        cut.root, cut.size, cut.metadata, embedded.sender.next_nonce()
    )
    ledger.mark_sent(lease, cut.id, tx, T0)  # ... and the process died before broadcasting
    (batch,) = AnchorWorker(ledger, embedded.sender, "w2").step().confirmed
    assert batch.tx_hash == tx.tx_hash


def test_fee_ceiling_and_balance_only_delay(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    _submit(ledger, signer, 2, T0)
    stingy = AnchorSender(embedded.w3, embedded.address, embedded.key, FeePolicy(max_fee_per_gas=1))
    with pytest.raises(FeeAboveCeiling, match="ceiling"):
        AnchorWorker(ledger, stingy, "w1").step(flush=True)
    assert ledger.unfinished_batches()[0].status is BatchStatus.CUT  # nothing sent, no gas
    unfunded = "0x" + os.urandom(32).hex()
    embedded.owner.set_anchorer(Account.from_key(unfunded).address, True)
    broke = AnchorSender(embedded.w3, embedded.address, unfunded)
    with pytest.raises(InsufficientFunds, match="fund the account"):
        AnchorWorker(ledger, broke, "w1").step()
    (batch,) = AnchorWorker(ledger, embedded.sender, "w1").step().confirmed
    assert batch.status is BatchStatus.CONFIRMED


def test_chain_error_is_transient(ledger: LedgerStore, signer: Signer) -> None:
    _submit(ledger, signer, 1, T0)

    class Down:
        chain_id = 1
        contract = "0x" + "00" * 20
        sender = "0x" + "00" * 20

        def locate(self, root: bytes) -> None:
            raise ChainUnavailable("connection refused (a fake chain that is down)")

    with pytest.raises(ChainUnavailable):
        AnchorWorker(ledger, Down(), "w1").step(flush=True)  # type: ignore[arg-type]
    assert ledger.pending().count == 0  # cut, kept for the next step
    assert ledger.unfinished_batches()[0].status is BatchStatus.CUT


def test_a_poison_leaf_is_set_aside_logged_and_the_rest_anchored(
    ledger: LedgerStore,
    signer: Signer,
    embedded: Embedded,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ledger.merkle import merkle_root
    from tests.support.poison import inject_entry

    _submit(ledger, signer, 2, T0)
    inject_entry(f"sqlite:///{tmp_path / 'ledger.db'}", signer, "test-record", "bad", {}, T0)
    _submit(ledger, signer, 2, T0, prefix="y")
    worker = AnchorWorker(ledger, embedded.sender, "w1", BatchPolicy(max_leaves=1000))
    with caplog.at_level(logging.WARNING, logger="ledger.worker"):
        (batch,) = worker.step(flush=True).confirmed
    assert (batch.size, batch.status) == (4, BatchStatus.CONFIRMED)
    good = [ledger.entry("test-record", r) for r in ("r0", "r1", "y0", "y1")]
    assert batch.root == merkle_root([e.leaf_hash for e in good if e is not None])
    (aside,) = ledger.set_aside_records()
    assert aside.record_id == "bad"
    assert aside.stage == "batch"
    assert any("set aside test-record bad" in r.getMessage() for r in caplog.records)
    assert worker.step(flush=True).confirmed == ()  # nothing left, nothing retried
