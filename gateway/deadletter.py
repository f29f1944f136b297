"""Dead letters: messages the gateway refused, kept with the reason (SQLite file)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gateway.errors import DeadLetterUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT NOT NULL,
    received_at TEXT NOT NULL,
    code TEXT NOT NULL DEFAULT 'bad_field',
    UNIQUE (topic, payload_sha256)
)
"""


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    topic: str
    payload: bytes
    reason: str
    field: str
    received_at: datetime
    code: str


class DeadLetterStore:
    """Thread-safe; the same (topic, payload) is stored once, so a redelivered bad
    message does not raise the counter twice."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._added = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: paho's thread writes; the lock serialises access.
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            with self._db:
                self._db.execute(_SCHEMA)
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(dead_letter)")}
                if "code" not in columns:  # a file from before reason codes existed
                    self._db.execute(
                        "ALTER TABLE dead_letter ADD COLUMN code TEXT NOT NULL DEFAULT 'bad_field'"
                    )
        except (OSError, sqlite3.Error) as exc:
            raise DeadLetterUnavailable(
                f"cannot open dead-letter store {self.path}: {exc}; check the path is writable"
            ) from exc

    @property
    def added(self) -> int:
        """Dead letters stored by this instance (the counter)."""
        with self._lock:
            return self._added

    def add(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        field: str,
        received_at: datetime | None = None,
        code: str = "bad_field",
    ) -> bool:
        """Store one dead letter; False if the same topic+payload is already there."""
        when = (received_at or datetime.now(UTC)).astimezone(UTC).isoformat()
        digest = hashlib.sha256(payload).hexdigest()
        with self._lock:
            try:
                with self._db:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO dead_letter "
                        "(topic, payload, payload_sha256, reason, field, received_at, code) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (topic, payload, digest, reason, field, when, code),
                    )
            except sqlite3.Error as exc:
                raise DeadLetterUnavailable(
                    f"cannot write dead-letter store {self.path}: {exc}"
                ) from exc
            inserted = cursor.rowcount == 1
            if inserted:
                self._added += 1
            return inserted

    def count(self) -> int:
        """All dead letters in the file (also those from earlier runs)."""
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()
        return int(n)

    def counts(self) -> dict[str, int]:
        """All dead letters in the file per reason code (the cumulative counters)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT code, COUNT(*) FROM dead_letter GROUP BY code ORDER BY code"
            ).fetchall()
        return {str(code): int(n) for code, n in rows}

    def list(self, limit: int = 100) -> list[DeadLetter]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, reason, field, received_at, code FROM dead_letter "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            DeadLetter(
                id=r[0],
                topic=r[1],
                payload=bytes(r[2]),
                reason=r[3],
                field=r[4],
                received_at=datetime.fromisoformat(r[5]),
                code=r[6],
            )
            for r in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
