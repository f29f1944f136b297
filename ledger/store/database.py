"""The ledger's SQL database: the engine, fenced-off transactions, time columns.

SQLAlchemy Core over any URL: SQLite by default (it may be the records' own file;
the tables are prefixed ``ledger_``), PostgreSQL when several anchor workers run.
On SQLite every transaction starts with ``BEGIN IMMEDIATE``: a deferred
transaction that upgrades from read to write can fail at once with "database is
locked", and the store is shared by threads and processes.

Columns hold naive UTC datetimes (SQLite has no time zones); the helpers below
convert at the edge, so the rest of the ledger only sees aware datetimes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger.errors import StoreUnavailable


def open_engine(url: str) -> Engine:
    """An engine for ``url``; ``StoreUnavailable`` names a URL that is not one."""
    try:
        sa_url = sa.make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a bad port
        raise StoreUnavailable(
            f"ledger URL {_shown(url)!r} is not a database URL; use e.g. 'sqlite:///ledger.db'"
        ) from exc
    kwargs: dict[str, Any] = {}
    sqlite = sa_url.get_backend_name() == "sqlite"
    if sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if sa_url.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
    try:
        engine = sa.create_engine(sa_url, **kwargs)
    except (sa_exc.ArgumentError, ImportError) as exc:
        raise StoreUnavailable(f"ledger URL {_shown(url)!r}: {exc}") from exc
    if sqlite:
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


class LedgerDatabase:
    """An engine and its transactions; the store's parts build on it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa_exc.IntegrityError:
            raise
        except sa_exc.DBAPIError as exc:
            raise StoreUnavailable(
                f"ledger database failed: {exc.orig}; check that it is reachable and writable"
            ) from exc


def to_db(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the ledger store needs aware datetimes; attach a timezone")
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE instead of pysqlite's BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _shown(url: str) -> str:
    """``url`` fit for an error message: its password, if any, replaced by ***."""
    return _PASSWORD.sub(r"\1***@", url)
