"""The worker's audit: a chain that is not the batches' own orphans them, the right
chain again restores them, and a block the node lost is re-anchored from its kept tx.
The genesis hash each batch records, and the column added to older databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.batch import BatchStatus
from ledger.evidence import build_bundle
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from tests.ledger.conftest import T0, Embedded, anchoring_account, postgres_database
from tests.support.postgres import PostgreSQL
from tracehub.services import ANVIL_DEV_PRIVATE_KEY, Anvil


def _anchor(ledger: LedgerStore, signer: Signer, sender: AnchorSender, rid: str) -> int:
    ledger.submit("test-record", rid, {"r": rid}, ["lot:A"], signer, T0)
    worker = AnchorWorker(ledger, sender, f"w-{rid}")
    (batch,) = worker.step(flush=True).confirmed
    worker.release()
    return batch.id


def _other_chain() -> AnchorSender:
    """A new in-process chain whose anchor contract sits at another address (the
    deployer's nonce is bumped first), as a reset chain with a fresh deployment.

    Two embedded chains started in the same second share their genesis hash, so the
    first chain's contract address must hold no code here: a plain transfer takes the
    deployer's first nonce, not a contract.
    """
    w3 = embedded_web3()
    deployer = w3.eth.accounts[0]
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": deployer, "to": deployer, "value": w3.to_wei(1, "wei")})
    )
    address = deploy_anchor_contract(w3)
    _, sender = anchoring_account(w3, AnchorContract(w3, address), address)
    return sender


def test_a_confirmed_batch_records_its_chains_genesis(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    batch = ledger.batch(_anchor(ledger, signer, embedded.sender, "a"))
    assert batch is not None
    assert batch.genesis_hash == embedded.sender.genesis_hash
    assert batch.genesis_hash == "0x" + bytes(embedded.w3.eth.get_block(0)["hash"]).hex()
    bundle = build_bundle(ledger, {}, ["lot:A"], lambda k, r: {"r": r}, None, T0)
    assert bundle["batches"][0]["anchor"]["genesis_hash"] == batch.genesis_hash


def test_batches_on_another_chain_are_orphaned_not_reanchored_and_restored(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    first = _anchor(ledger, signer, embedded.sender, "a")
    other = _other_chain()
    worker = AnchorWorker(ledger, other, "w-other")
    audit = worker.audit()
    assert audit is not None
    assert audit.orphaned == 1
    batch = ledger.batch(first)
    assert batch is not None
    assert batch.status is BatchStatus.ORPHANED
    assert batch.block_hash is not None  # kept as it was anchored
    assert ledger.unfinished_batches() == []  # never re-anchored on the new chain
    worker.step(flush=True)
    assert ledger.batch(first).status is BatchStatus.ORPHANED  # type: ignore[union-attr]
    anchor = build_bundle(ledger, {}, ["lot:A"], lambda k, r: {"r": r}, None, T0)["batches"][0]
    assert anchor["anchor"]["status"] == "orphaned"
    worker.release()
    # Pointed at its own chain again, the hub finds the batch there: confirmed again.
    back = AnchorWorker(ledger, embedded.sender, "w-back").audit()
    assert back is not None
    assert back.restored == 1
    assert ledger.batch(first).status is BatchStatus.CONFIRMED  # type: ignore[union-attr]


def test_another_genesis_on_the_same_chain_id_and_address_orphans(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    """A reset chain redeploys the contract at the same address: only block 0 tells."""
    first = _anchor(ledger, signer, embedded.sender, "a")
    with ledger._tx() as conn:  # the batch as anchored on a chain that began otherwise
        conn.execute(
            sa.text("UPDATE ledger_batches SET genesis_hash = :g"), {"g": "0x" + "ab" * 32}
        )
    audit = AnchorWorker(ledger, embedded.sender, "w").audit()
    assert audit is not None
    assert audit.orphaned == 1
    assert ledger.batch(first).status is BatchStatus.ORPHANED  # type: ignore[union-attr]


def test_a_batch_whose_block_the_node_lost_is_sent_again(
    ledger: LedgerStore, signer: Signer, embedded: Embedded
) -> None:
    first = _anchor(ledger, signer, embedded.sender, "a")
    with ledger._tx() as conn:  # the block the store names is not the chain's any more
        conn.execute(sa.text("UPDATE ledger_batches SET block_hash = :h"), {"h": "0x" + "cd" * 32})
    worker = AnchorWorker(ledger, embedded.sender, "w")
    audit = worker.audit()
    assert audit is not None
    assert audit.resent == (first,)
    (batch,) = worker.step().confirmed
    assert batch.id == first
    assert batch.block_hash != "0x" + "cd" * 32


@pytest.mark.integration
def test_anvil_killed_before_its_state_was_written_loses_the_block_and_it_is_resent(
    tmp_path: Path, signer: Signer
) -> None:
    """anvil dumps its state at intervals: a SIGKILL drops the blocks since the last
    dump (here: no interval, dumped only at a clean stop). The audit re-sends them."""
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    node = Anvil(tmp_path / "anvil", state_interval=None)
    node.start()
    try:
        from ledger.evm.contract import rpc_web3

        w3 = rpc_web3(node.url)
        address = deploy_anchor_contract(w3, ANVIL_DEV_PRIVATE_KEY)
        sender = AnchorSender(w3, address, ANVIL_DEV_PRIVATE_KEY)
        first = _anchor(ledger, signer, sender, "a")
        node.stop()  # a clean stop writes the state: batch 1's block survives
        node.start()
        second = _anchor(ledger, signer, sender, "b")
        node.kill()  # batch 2's block was never written
        node.start()
        sender = AnchorSender(w3, address, ANVIL_DEV_PRIVATE_KEY)
        assert sender.genesis_hash == ledger.batch(first).genesis_hash  # type: ignore[union-attr]
        worker = AnchorWorker(ledger, sender, "w-after")
        audit = worker.audit()
        assert audit is not None
        assert (audit.resent, audit.orphaned) == ((second,), 0)
        (batch,) = worker.step().confirmed
        assert batch.id == second
        assert sender.locate(batch.root) is not None
    finally:
        node.stop()
        ledger.close()


def _drop_genesis_column(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE ledger_batches DROP COLUMN genesis_hash")
    engine.dispose()


def test_an_older_sqlite_ledger_gets_the_genesis_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    LedgerStore.open(url).close()
    _drop_genesis_column(url)
    store = LedgerStore.open(url)
    store.close()
    columns = {c["name"] for c in sa.inspect(sa.create_engine(url)).get_columns("ledger_batches")}
    assert "genesis_hash" in columns
    LedgerStore.open(url).close()  # idempotent


@pytest.mark.integration
def test_an_older_postgres_ledger_gets_the_genesis_column(postgres: PostgreSQL) -> None:
    url = postgres_database(postgres.url, "ledger_upgrade")
    LedgerStore.open(url).close()
    _drop_genesis_column(url)
    LedgerStore.open(url).close()
    LedgerStore.open(url).close()
    engine = sa.create_engine(url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("ledger_batches")}
    engine.dispose()
    assert "genesis_hash" in columns
