"""A CapturePort for a gateway that runs on its own: EPCIS events kept in a SQLite outbox.

Used when no traceability service is wired in (``python -m gateway``); each event is
stored once under its id ``sha256:`` + hex SHA-256 of its RFC 8785 form, so the
replay of a batch stores nothing twice. Another process can forward the outbox.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.errors import CaptureRejected, CaptureUnavailable
from ledger.canonical import canonicalize
from ledger.errors import CanonicalizationError


class OutboxCapture:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            with self._db:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, "
                    "event TEXT NOT NULL)"
                )
        except (OSError, sqlite3.Error) as exc:
            raise CaptureUnavailable(f"cannot open EPCIS outbox {self.path}: {exc}") from exc

    def capture(self, event: Mapping[str, Any]) -> str:
        try:
            canonical = canonicalize(dict(event))
        except CanonicalizationError as exc:
            raise CaptureRejected(str(exc)) from exc
        event_id = "sha256:" + hashlib.sha256(canonical).hexdigest()
        with self._lock:
            try:
                with self._db:
                    self._db.execute(
                        "INSERT OR IGNORE INTO outbox (event_id, event) VALUES (?, ?)",
                        (event_id, json.dumps(dict(event), sort_keys=True)),
                    )
            except sqlite3.Error as exc:
                raise CaptureUnavailable(f"cannot write EPCIS outbox {self.path}: {exc}") from exc
        return event_id

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT event FROM outbox ORDER BY rowid").fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
