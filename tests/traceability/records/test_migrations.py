"""Alembic migrations: upgrade/downgrade on SQLite and a real PostgreSQL, the skeleton's
databases upgrade in place, and the migrated schema matches ``traceability.records.schema``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.events import GTIN
from tests.support.postgres import PostgreSQL
from traceability.records import migrate
from traceability.records.schema import metadata
from traceability.records.store import RecordStore


def _tables(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        name: {c["name"] for c in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def _expected() -> dict[str, set[str]]:
    return {name: {c.name for c in table.columns} for name, table in metadata.tables.items()}


def test_upgrade_matches_schema_and_downgrades_sqlite(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with engine.begin() as conn:
        migrate.upgrade(conn)
        assert migrate.current(conn) == migrate.head()
    assert _tables(engine) == _expected()
    with engine.begin() as conn:
        migrate.downgrade(conn, "0004")
    assert "clients" not in _tables(engine)
    assert "hub_activities" in _tables(engine)
    with engine.begin() as conn:
        migrate.downgrade(conn, "0001")
    assert "locations" not in _tables(engine)
    assert "role" not in _tables(engine)["event_epcs"]
    with engine.begin() as conn:
        migrate.upgrade(conn)
    assert _tables(engine) == _expected()
    engine.dispose()


def test_skeleton_database_is_upgraded_in_place(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        # What the skeleton's create_all left behind: tables, data, no alembic_version.
        migrate.upgrade(conn, "0001")
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text(f"INSERT INTO products (gtin, name) VALUES ('{GTIN}', 'Salmon')"))
    engine.dispose()
    store = RecordStore.open(url)
    try:
        product = store.get_product(GTIN)
        assert product is not None
        assert product.name == "Salmon"
        assert product.excursion_budget_min is None
    finally:
        store.close()


@pytest.fixture
def pg_url(postgres: PostgreSQL) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.mark.integration
def test_upgrade_and_downgrade_on_postgresql(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        migrate.upgrade(conn)
    assert _tables(engine) == _expected()
    with engine.begin() as conn:
        migrate.downgrade(conn, "base")
    assert _tables(engine) == {}
    engine.dispose()
    store = RecordStore.open(pg_url)
    try:
        store.add_product(GTIN, "Salmon", 0.0, 4.0, excursion_budget_min=30, mkt_limit_c=5.0)
        product = store.get_product(GTIN)
        assert product is not None
        assert product.mkt_limit_c == 5.0
        issued = store.add_client("erp-1", ["capture"])  # migration 0005
        assert store.authenticate(issued.token) == issued.client
    finally:
        store.close()
