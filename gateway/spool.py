"""The durable spool: raw messages between the MQTT acknowledgement and InfluxDB.

One SQLite file in WAL mode. The MQTT side appends a batch in one transaction and
acknowledges the batch only after the commit returned, so a message the broker
has forgotten is always on disk. The drain side reads in id order (arrival order)
and deletes what it has handled in the same transaction as the pipeline's own
state (RFID de-duplication, AGV loads, evidence windows, the ``accepted`` index of
stored readings), so a crash replays a whole batch or nothing; every side effect of
a batch is idempotent.

The spool is bounded by a disk budget on the bytes it holds: at the budget,
``append`` waits (the MQTT side then stops acknowledging and the broker keeps the
rest in the persistent session); from ``near_full_ratio`` on, ``near_full`` is
true and a warning is logged once per crossing.

Each thread uses its own connection (sqlite3 connections are per thread);
WAL lets the drain side read while the MQTT side writes.

Another process may append (``tracehub readings import``, gateway/loggerfile.py): an
idle drain side re-counts the table when another connection committed (``resync``).
The devices a logger file speaks for (state ``KEPT_SCOPE``) keep their ``accepted``
index beyond the backfill window: a later file of any age must still meet it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.errors import SpoolUnavailable

log = logging.getLogger(__name__)

# Per-row overhead counted against the budget besides topic and payload (ids,
# timestamps, b-tree cells): a rough figure, so a flood of empty payloads counts too.
ROW_OVERHEAD_BYTES = 32

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS spool (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        received_ns INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS state (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    ) WITHOUT ROWID""",
    # The readings the pipeline stored, for the backfill window: (device, ts) → digest of
    # the point, so a redelivery is recognised and a different reading at a stored
    # (device, ts) is refused instead of overwriting it (gateway/admission.py).
    """CREATE TABLE IF NOT EXISTS accepted (
        device TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (device, ts_ns)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS accepted_by_time ON accepted (ts_ns)",
)

_KEYS_PER_QUERY = 400  # two parameters each, far below SQLite's limit
_COUNT = "SELECT COUNT(*), COALESCE(SUM(LENGTH(topic) + LENGTH(payload)), 0) FROM spool"
KEPT_SCOPE = "accepted_kept"  # device → "1": its accepted readings are never forgotten
Synchronous = Literal["OFF", "NORMAL", "FULL"]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message to spool: topic, raw payload, when the gateway received it (ns)."""

    topic: str
    payload: bytes
    received_ns: int


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A spooled message; ``id`` grows with arrival order."""

    id: int
    topic: str
    payload: bytes
    received_ns: int


def _size(topic: str, payload: bytes) -> int:
    return len(topic) + len(payload) + ROW_OVERHEAD_BYTES


class Spool:
    """Thread-safe durable FIFO of raw messages, with key/value state for the drainer."""

    def __init__(
        self,
        path: Path | str,
        max_bytes: int = 1 << 30,
        *,
        near_full_ratio: float = 0.8,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"spool max_bytes must be > 0, got {max_bytes}")
        if not 0 < near_full_ratio <= 1:
            raise ValueError(f"spool near_full_ratio must be in (0, 1], got {near_full_ratio}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.near_full_ratio = near_full_ratio
        self._synchronous = synchronous
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._cond = threading.Condition()
        self._closed = False
        self._alarmed = False
        # Around an append's commit + count and a re-count: never a row counted twice.
        self._appending = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._db()
            with db:
                for statement in _SCHEMA:
                    db.execute(statement)
            depth, size = db.execute(_COUNT).fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise SpoolUnavailable(
                f"cannot open spool {self.path}: {exc}; check the path is writable"
            ) from exc
        self._depth = int(depth)
        self._bytes = int(size) + self._depth * ROW_OVERHEAD_BYTES

    # --- connections ---------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise SpoolUnavailable(f"spool {self.path} is closed")
            # check_same_thread=False only so close() can close every thread's connection.
            db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged message
            # survives a power cut too; NORMAL survives a process crash (kill -9).
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._local.db = db
            with self._cond:
                self._connections.append(db)
        return db

    # --- state for the MQTT side ---------------------------------------------------
    @property
    def depth(self) -> int:
        """Messages spooled and not yet drained."""
        with self._cond:
            return self._depth

    @property
    def bytes(self) -> int:
        """Bytes held against the budget."""
        with self._cond:
            return self._bytes

    @property
    def fill_ratio(self) -> float:
        with self._cond:
            return self._bytes / self.max_bytes

    @property
    def near_full(self) -> bool:
        return self.fill_ratio >= self.near_full_ratio

    def append(self, items: Sequence[Incoming], stop: threading.Event | None = None) -> bool:
        """Durably store ``items`` in one transaction; True once committed.

        Waits while the spool is at its budget; returns False if ``stop`` is set
        meanwhile (nothing stored). Raises SpoolUnavailable if SQLite fails.
        """
        if not items:
            return True
        size = sum(_size(i.topic, i.payload) for i in items)
        with self._cond:
            # One batch may overshoot the budget, else a batch bigger than the whole
            # budget would wait forever.
            while self._bytes > 0 and self._bytes + size > self.max_bytes:
                self._alarm()
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.1)
        db = self._db()
        with self._appending:
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO spool (topic, payload, received_ns) VALUES (?, ?, ?)",
                    [(i.topic, i.payload, i.received_ns) for i in items],
                )
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise SpoolUnavailable(f"cannot write spool {self.path}: {exc}") from exc
            with self._cond:
                self._depth += len(items)
                self._bytes += size
                if self._bytes >= self.near_full_ratio * self.max_bytes:
                    self._alarm()
                self._cond.notify_all()
        return True

    def resync(self) -> int:
        """Re-count the table (rows another process appended); return the depth."""
        with self._appending:
            try:
                depth, size = self._db().execute(_COUNT).fetchone()
            except sqlite3.Error as exc:
                raise SpoolUnavailable(f"cannot read spool {self.path}: {exc}") from exc
            with self._cond:
                self._depth = int(depth)
                self._bytes = int(size) + self._depth * ROW_OVERHEAD_BYTES
                self._cond.notify_all()
                return self._depth

    def _changed_elsewhere(self) -> bool:
        """Another connection committed since this thread last asked (SQLite's cheap
        ``data_version``; the first ask says yes)."""
        version = int(self._db().execute("PRAGMA data_version").fetchone()[0])
        seen, self._local.data_version = getattr(self._local, "data_version", None), version
        return bool(seen != version)

    def _alarm(self) -> None:
        if not self._alarmed:
            self._alarmed = True
            log.warning(
                "SPOOL NEAR FULL: %s holds %d of %d bytes (%.0f%%); InfluxDB is not keeping "
                "up or is down. At 100%% the gateway stops acknowledging and the broker "
                "queues. Raise spool_max_bytes or fix the sink.",
                self.path,
                self._bytes,
                self.max_bytes,
                100 * self._bytes / self.max_bytes,
            )

    # --- drain side ----------------------------------------------------------------
    def wait_for_entries(self, timeout: float) -> bool:
        """Block until something is spooled (or ``timeout``); True if the spool is not empty.
        Idle, it also looks for rows another process appended."""
        with self._cond:
            if self._cond.wait_for(lambda: self._depth > 0 or self._closed, timeout):
                return self._depth > 0
        try:
            return self._changed_elsewhere() and self.resync() > 0
        except (sqlite3.Error, SpoolUnavailable):
            return False  # closed meanwhile, or a locked file: asked again next round

    def peek(self, limit: int, after_id: int = 0) -> list[SpoolEntry]:
        """The oldest ``limit`` entries with an id above ``after_id``."""
        try:
            rows = (
                self._db()
                .execute(
                    "SELECT id, topic, payload, received_ns FROM spool WHERE id > ? "
                    "ORDER BY id LIMIT ?",
                    (after_id, limit),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise SpoolUnavailable(f"cannot read spool {self.path}: {exc}") from exc
        return [SpoolEntry(r[0], r[1], bytes(r[2]), r[3]) for r in rows]

    def accepted_digests(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The digests of the readings stored for these (device, ts_ns), those there are:
        one query per 400 keys, not one per reading."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, int], str] = {}
        try:
            db = self._db()
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[start : start + _KEYS_PER_QUERY]
                rows = db.execute(
                    "SELECT device, ts_ns, digest FROM accepted WHERE (device, ts_ns) IN "
                    f"(VALUES {', '.join(['(?, ?)'] * len(chunk))})",
                    [value for key in chunk for value in key],
                )
                found.update(((str(d), int(t)), str(g)) for d, t, g in rows)
        except sqlite3.Error as exc:
            raise SpoolUnavailable(f"cannot read spool {self.path}: {exc}") from exc
        return found

    def accepted_newest(self) -> dict[str, int]:
        """Per device, the newest ts_ns the index holds (the primary key orders it)."""
        try:
            rows = self._db().execute("SELECT device, MAX(ts_ns) FROM accepted GROUP BY device")
            return {str(device): int(ts) for device, ts in rows}
        except sqlite3.Error as exc:
            raise SpoolUnavailable(f"cannot read spool {self.path}: {exc}") from exc

    def accepted_count(self) -> int:
        """Readings held in the redelivery index."""
        (n,) = self._db().execute("SELECT COUNT(*) FROM accepted").fetchone()
        return int(n)

    def complete(
        self,
        entries: Sequence[SpoolEntry],
        state: Sequence[tuple[str, str, str | None]] = (),
        also: Callable[[sqlite3.Connection], None] | None = None,
        *,
        accepted: Sequence[tuple[str, int, str]] = (),
        forget_accepted_before: int | None = None,
    ) -> None:
        """Delete drained ``entries``, apply ``state`` upserts (value None deletes), index
        the ``accepted`` readings (device, ts_ns, digest) and forget those dated before
        ``forget_accepted_before`` (ns), atomically."""
        if not entries and not state and not accepted and forget_accepted_before is None:
            return
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            if entries:
                db.executemany("DELETE FROM spool WHERE id = ?", [(e.id,) for e in entries])
            upserts = [(s, k, v) for s, k, v in state if v is not None]
            deletes = [(s, k) for s, k, v in state if v is None]
            if upserts:
                db.executemany(
                    "INSERT OR REPLACE INTO state (scope, key, value) VALUES (?, ?, ?)", upserts
                )
            if deletes:
                db.executemany("DELETE FROM state WHERE scope = ? AND key = ?", deletes)
            if accepted:
                # OR IGNORE: a replayed batch indexes the same (device, ts) again.
                db.executemany(
                    "INSERT OR IGNORE INTO accepted (device, ts_ns, digest) VALUES (?, ?, ?)",
                    accepted,
                )
            if forget_accepted_before is not None:
                db.execute(
                    "DELETE FROM accepted WHERE ts_ns < ? AND device NOT IN "
                    "(SELECT key FROM state WHERE scope = ?)",
                    (forget_accepted_before, KEPT_SCOPE),
                )
            if also is not None:
                also(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise SpoolUnavailable(f"cannot update spool {self.path}: {exc}") from exc
        freed = sum(_size(e.topic, e.payload) for e in entries)
        with self._cond:
            # Not below zero: a batch may hold rows another process appended (resync).
            self._depth = max(0, self._depth - len(entries))
            self._bytes = max(0, self._bytes - freed)
            if self._alarmed and self._bytes < self.near_full_ratio * self.max_bytes:
                self._alarmed = False
                log.warning(
                    "spool %s back under %.0f%% of its budget",
                    self.path,
                    100 * self.near_full_ratio,
                )
            self._cond.notify_all()

    def state(self, scope: str) -> dict[str, str]:
        """All values of one state scope."""
        try:
            rows = (
                self._db()
                .execute("SELECT key, value FROM state WHERE scope = ?", (scope,))
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise SpoolUnavailable(f"cannot read spool state {self.path}: {exc}") from exc
        return {k: v for k, v in rows}

    def wait_empty(self, timeout: float) -> bool:
        """Block until everything spooled has been drained."""
        deadline = time.monotonic() + timeout
        with self._cond:
            return self._cond.wait_for(
                lambda: self._depth == 0, max(0.0, deadline - time.monotonic())
            )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            connections, self._connections = self._connections, []
            self._cond.notify_all()
        for db in connections:
            db.close()
