"""Bring a records database to the newest schema with Alembic (SQLite and PostgreSQL).

Called by ``RecordStore.open``; also ``tracehub records migrate``. A database created by
the walking skeleton (tables, no ``alembic_version``) is stamped at 0001 first, so it is
upgraded in place instead of failing on "table already exists".
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

_SCRIPTS = Path(__file__).parent / "migrations"
SKELETON_REVISION = "0001"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory(str(_SCRIPTS)).get_current_head()
    assert revision is not None  # the package ships at least one migration
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


SCHEMA_LOCK = 0x7472_6163_6568  # "tracehub": the records' and the ledger's schema changes


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database behind ``connection`` (inside the caller's transaction)."""
    if connection.dialect.name == "postgresql":
        # Replicas starting together would each create the same tables (a duplicate key
        # in pg_type): one upgrades, the others wait, then find it done. Held to commit.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    config = _config(connection)
    # Alembic reports every (empty) upgrade at INFO; opening a store is not news.
    log = logging.getLogger("alembic")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        if current(connection) is None and sa.inspect(connection).has_table("events"):
            command.stamp(config, SKELETON_REVISION)
        command.upgrade(config, revision)
    finally:
        log.setLevel(level)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(_config(connection), revision)
