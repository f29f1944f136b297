"""Test fixtures' master data through tracehub's write path, for a ledger attached late.

Fixtures write products, lots and locations straight to the store (no ledger yet);
``sign_master`` signs each as ``MasterData`` would have had the fixture written through
it (``MasterData.sign``, version 1). Test-only: in tracehub nothing signs what a table
holds after the fact, which would sign a hand edit.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.masterdata.service import MasterData
from traceability.records.entities import Product
from traceability.records.store import RecordStore


def sign_master(store: RecordStore, ledger: LedgerStore, signer: Signer) -> MasterData:
    master = MasterData(store, ledger, signer)
    products: dict[str, Product] = {}
    for lot in store.lots():
        product = products.get(lot.gtin) or store.get_product(lot.gtin)
        assert product is not None
        products[lot.gtin] = product
        found = store.lot_master(lot.gtin, lot.lot)
        assert found is not None
        master.sign([found])
    master.sign(list(products.values()))
    master.sign(store.locations())
    return master


class Site:
    """Records and ledger on one database URL (SQLite file or PostgreSQL), the site's
    signer, ``MasterData`` over them and an anchor contract on an embedded EVM."""

    def __init__(self, url: str, clock: Callable[[], datetime] | None = None) -> None:
        from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
        from ledger.evm.sender import AnchorSender, fund_account
        from ledger.worker import AnchorWorker

        self.url = url
        self.store = RecordStore.open(url)
        self.ledger = LedgerStore.open(url)
        self.signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
        self.master = MasterData(self.store, self.ledger, self.signer, clock=clock)
        w3 = embedded_web3()
        address = deploy_anchor_contract(w3)
        sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
        fund_account(w3, sender.sender, 10**18)
        AnchorContract(w3, address).set_anchorer(sender.sender, True)
        self.worker = AnchorWorker(self.ledger, sender, "w-master")

    def anchor(self) -> None:
        """Cut, send and confirm every pending leaf."""
        for _ in range(5):
            self.worker.step(flush=True)
            if self.ledger.pending().count == 0 and not self.ledger.unfinished_batches():
                return
        raise AssertionError("the pending leaves were not anchored")

    def sql(self, statement: str, **params: object) -> int:
        """Raw SQL on the records database, as an operator with a SQL console."""
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                return conn.execute(sa.text(statement), params).rowcount
        finally:
            engine.dispose()

    def close(self) -> None:
        self.store.close()
        self.ledger.close()


@contextmanager
def database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new database on the session's PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'site.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = f"md_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield server.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
