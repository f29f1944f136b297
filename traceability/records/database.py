"""The records database connection: engine, per-call transactions, time conversion.

``Database`` is the base of ``traceability.records.store.RecordStore``: it owns the SQLAlchemy
engine, upgrades the schema on open (Alembic, ``traceability.records.migrate``) and gives every
call its own transaction. The record kinds live in their own modules (catalog, locations,
shipments, stays, packaging, primaryfactors, eventlog, batchlog) as mixins over this base;
``_add`` gives one record its transaction, ``_import_each`` a whole import file its one.

Times are stored as naive UTC and returned aware (UTC), because SQLite has no
timezone-aware column type.

Thread safety: one store is shared by the web app and the anchoring loop. Every call
opens its own pooled connection and transaction. On SQLite all calls also take one
process-wide lock: a deferred SQLite transaction that upgrades from read to write can fail
with "database is locked" immediately (the busy timeout does not apply), and an in-memory
database has a single connection that must not be used concurrently.

Write order: ``_tx(ordered=True)`` (the event log's inserts) holds the write-order lock
from its first statement to its commit: on SQLite ``BEGIN IMMEDIATE`` (the database's
single write lock, across processes too), on PostgreSQL a transaction-level advisory lock
on ``WRITE_ORDER_LOCK``. Such transactions commit in the order they took the lock, so a
clock read after the start is in commit order (the record time paging relies on it).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from gs1.identifiers import Gtin
from traceability.errors import RecordError, RecordRefused, StoreUnavailable
from traceability.records import migrate

DEFAULT_URL = "sqlite:///tracehub-records.db"
# The PostgreSQL advisory lock of ordered transactions: any fixed bigint ("tracehub").
WRITE_ORDER_LOCK = int.from_bytes(b"tracehub", "big")
Row = TypeVar("Row")


def to_db(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("records store needs aware datetimes; attach a timezone")
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def gtin_digits(value: Gtin | str) -> str:
    """The 14-digit GTIN of ``value`` (validated when given as text)."""
    return value.value if isinstance(value, Gtin) else Gtin.parse(value).value


class Database:
    """The engine and transactions shared by every kind of record."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self._sqlite else contextlib.nullcontext()
        )
        with self._tx() as conn:
            migrate.upgrade(conn)

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> Self:
        """Open (and create the tables of) the database at ``url``."""
        try:
            sa_url = sa.make_url(url)
        except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a bad port
            raise StoreUnavailable(
                f"records URL {_shown(url)!r} is not a database URL; use e.g. 'sqlite:///records.db'"
            ) from exc
        kwargs: dict[str, Any] = {}
        if sa_url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if sa_url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        try:
            engine = sa.create_engine(sa_url, **kwargs)
        except (sa_exc.ArgumentError, ImportError) as exc:
            raise StoreUnavailable(f"records URL {_shown(url)!r}: {exc}") from exc
        if sa_url.get_backend_name() == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def _tx(self, *, ordered: bool = False) -> Iterator[Connection]:
        """A transaction; ``ordered``: holding the write-order lock (module docstring)."""
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    if ordered:
                        self._take_write_order(conn)
                    yield conn
            except sa_exc.IntegrityError:
                raise  # callers turn these into RecordConflict with context
            except sa_exc.DBAPIError as exc:
                if _refused(exc):  # the value, not the database: no retry helps
                    raise RecordRefused(
                        f"records database refused a value: {exc.orig}; the data must change"
                    ) from exc
                raise StoreUnavailable(
                    f"records database {self._engine.url!r} failed: {exc.orig}; "
                    "check that it is reachable and writable"
                ) from exc

    def _take_write_order(self, conn: Connection) -> None:
        if self._sqlite:
            # pysqlite has not begun yet (it begins lazily, before the first write): begin
            # now, taking the write lock at once, and it commits this transaction as usual.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self._engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_ORDER_LOCK)))

    def _add(self, value: Row, put: Callable[[Connection, Row], None]) -> Row:
        """``put`` one record in its own transaction; the record back."""
        with self._tx() as conn:
            put(conn, value)
        return value

    def _import_each(self, rows: Sequence[Row], put: Callable[[Connection, Row], None]) -> None:
        """``put`` every row in ONE transaction; the first failing row is named by its
        number (1 = the file's first row) and nothing of the file is kept."""
        with self._tx() as conn:
            for number, row in enumerate(rows, start=1):
                try:
                    put(conn, row)
                except RecordError as exc:
                    raise type(exc)(f"row {number}: {exc}") from exc


def _refused(exc: sa_exc.DBAPIError) -> bool:
    """A data exception (SQLSTATE class 22: too long, out of range, a NUL) or a program
    limit (54: an index row too large): the value is at fault, not the database."""
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    return isinstance(exc, sa_exc.DataError) or state[:2] in ("22", "54")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _shown(url: str) -> str:
    """``url`` fit for an error message: its password, if any, replaced by ***."""
    return _PASSWORD.sub(r"\1***@", url)
