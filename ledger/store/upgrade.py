"""Bring an existing ledger database up to the current tables: additive columns only.

``metadata.create_all`` makes missing tables but never touches existing ones, so a
column added to a table after databases were created in the field is listed here
and added (nullable, no default) when a store opens. Idempotent, in the opening
transaction: on SQLite ``BEGIN IMMEDIATE`` serialises two openers; on PostgreSQL
``ADD COLUMN IF NOT EXISTS`` lets both pass.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.store.schema import batches

# (table, column) in the order they were added.
ADDED_COLUMNS: tuple[tuple[sa.Table, str], ...] = ((batches, "genesis_hash"),)


def upgrade(conn: Connection) -> list[str]:
    """Add the columns an older database lacks; return them as ``table.column``."""
    inspector = sa.inspect(conn)
    added: list[str] = []
    for table, name in ADDED_COLUMNS:
        have = {column["name"] for column in inspector.get_columns(table.name)}
        if name in have:
            continue
        column = table.c[name]
        if column.nullable is False:
            raise ValueError(f"{table.name}.{name}: an added column must be nullable")
        kind = column.type.compile(dialect=conn.dialect)
        guard = "IF NOT EXISTS " if conn.dialect.name == "postgresql" else ""
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {guard}{name} {kind}")
        added.append(f"{table.name}.{name}")
    return added
