from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.deadletter import DeadLetterStore
from gateway.errors import DeadLetterUnavailable


def test_stores_and_lists_with_reason(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl" / "dead.sqlite3")
    when = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert store.add("t/1", b"\xff\x00", "payload: Invalid JSON", "payload", when)
    [letter] = store.list()
    assert (letter.topic, letter.payload, letter.field, letter.received_at) == (
        "t/1",
        b"\xff\x00",
        "payload",
        when,
    )
    assert letter.reason == "payload: Invalid JSON"
    store.close()


def test_same_message_is_stored_once_and_counted_once(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dead.sqlite3")
    assert store.add("t/1", b"x", "r", "f")
    assert not store.add("t/1", b"x", "r", "f")
    assert store.add("t/2", b"x", "r", "f")
    assert (store.added, store.count()) == (2, 2)
    store.close()


def test_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "dead.sqlite3"
    first = DeadLetterStore(path)
    first.add("t/1", b"x", "r", "f")
    first.close()
    again = DeadLetterStore(path)
    assert (again.added, again.count()) == (0, 1)
    again.close()


def test_concurrent_adds(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dead.sqlite3")
    threads = [
        threading.Thread(
            target=lambda i=i: [store.add(f"t/{i}", bytes([j]), "r", "f") for j in range(50)]
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 200
    store.close()


def test_unwritable_path_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(DeadLetterUnavailable, match="check the path is writable"):
        DeadLetterStore(blocker / "dead.sqlite3")
