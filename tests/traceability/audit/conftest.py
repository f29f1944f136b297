"""An audit trail over real records and a real ledger on one database (a SQLite file or
a new database on the session's PostgreSQL), with a clock that ticks a minute a call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.masterdata import database_url
from traceability.audit.entry import AuditActor, AuditEntry, AuditSubject
from traceability.audit.trail import AuditTrail
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ALICE = AuditActor(name="alice", kind="cli")
GTIN = "04012345111118"


class Ticking:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


class TrailSite:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store = RecordStore.open(url)
        self.ledger = LedgerStore.open(url)
        self.clock = Ticking()
        self.trail = AuditTrail(self.store, self.ledger, SIGNER, clock=self.clock)

    def change(self, n: int, **fields: Any) -> AuditEntry:
        """The ``n``-th change of product GTIN's name (lot L1's entries name the lot)."""
        values: dict[str, Any] = {
            "actor": ALICE,
            "action": "master.product.update",
            "subject": AuditSubject(kind="product", key=GTIN),
            "before": {"name": f"name {n - 1}"},
            "after": {"name": f"name {n}"},
            "reason": f"change {n}",
        }
        return self.trail.record(**{**values, **fields})

    def sql(self, statement: str, **params: object) -> int:
        """Raw SQL on the records database, as someone with a SQL console."""
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                return conn.execute(sa.text(statement), params).rowcount
        finally:
            engine.dispose()

    def scalar(self, statement: str, **params: object) -> Any:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(statement), params).scalar()
        finally:
            engine.dispose()

    def close(self) -> None:
        self.store.close()
        self.ledger.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrailSite]:
    with database_url(request.param, tmp_path, request) as url:
        opened = TrailSite(url)
        yield opened
        opened.close()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[TrailSite]:
    opened = TrailSite(f"sqlite:///{tmp_path / 'site.db'}")
    yield opened
    opened.close()
