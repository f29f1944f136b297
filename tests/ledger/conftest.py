"""Fixtures for the ledger tests: a signer, a SQLite ledger store, an embedded chain."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from ledger.anchor import TxOutcome
from ledger.errors import AnchorRejected
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # in the past: leases taken at T0 have expired


@pytest.fixture
def signer() -> Signer:
    return Signer.generate("site-test", datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    store = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield store
    store.close()


@dataclass(frozen=True)
class Embedded:
    w3: Web3
    address: str
    owner: AnchorContract
    sender: AnchorSender
    key: str


def anchoring_account(w3: Web3, owner: AnchorContract, address: str) -> tuple[str, AnchorSender]:
    """A fresh funded key, allowed to anchor into ``address``."""
    key = "0x" + os.urandom(32).hex()
    fund_account(w3, Account.from_key(key).address, 10**18)
    owner.set_anchorer(Account.from_key(key).address, True)
    return key, AnchorSender(w3, address, key)


def send_anchor(sender: AnchorSender, root: bytes, size: int, metadata: bytes) -> TxOutcome:
    """Anchor one root the way the worker does (prepare, broadcast, await the receipt),
    without a ledger store: for tests of the chain adapter itself."""
    tx = sender.prepare_anchor(root, size, metadata, sender.next_nonce())
    sender.broadcast(tx)
    outcome = sender.receipt(tx.tx_hash, 30)
    assert outcome is not None, f"anchor tx {tx.tx_hash} was not mined"
    if not outcome.succeeded:
        raise AnchorRejected(f"anchor transaction {tx.tx_hash} reverted")
    return outcome


@pytest.fixture
def embedded() -> Embedded:
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    owner = AnchorContract(w3, address)
    key, sender = anchoring_account(w3, owner, address)
    return Embedded(w3, address, owner, sender, key)


def postgres_database(server_url: str, name: str) -> str:
    """A fresh database ``name`` on the PostgreSQL fixture's server; its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name
