"""The durable spool (real SQLite files): order, durability across reopen, budget, state."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gateway.spool import ROW_OVERHEAD_BYTES, Incoming, Spool


def items(n: int, start: int = 0, size: int = 10) -> list[Incoming]:
    return [Incoming(f"t/{i}", b"x" * size, i) for i in range(start, start + n)]


def test_entries_come_back_in_order_and_survive_a_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    assert spool.append(items(5))
    assert spool.append(items(3, start=5))
    spool.close()
    again = Spool(tmp_path / "spool.sqlite3")
    entries = again.peek(100)
    assert [e.topic for e in entries] == [f"t/{i}" for i in range(8)]
    assert again.depth == 8
    assert again.bytes == sum(len(e.topic) + 10 + ROW_OVERHEAD_BYTES for e in entries)
    again.complete(entries[:3], [("s", "k", "v")])
    assert [e.topic for e in again.peek(100)] == [f"t/{i}" for i in range(3, 8)]
    assert again.state("s") == {"k": "v"}
    again.complete([], [("s", "k", None)])
    assert again.state("s") == {}
    again.close()


def test_append_waits_at_the_budget_until_drained(tmp_path: Path) -> None:
    one = len("t/0") + 100 + ROW_OVERHEAD_BYTES
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=3 * one, near_full_ratio=0.5)
    assert spool.append(items(3, size=100))
    assert spool.near_full
    stop = threading.Event()
    done = threading.Event()

    def blocked() -> None:
        spool.append(items(1, start=3, size=100), stop)
        done.set()

    thread = threading.Thread(target=blocked)
    thread.start()
    assert not done.wait(0.3)  # over budget: not stored, so the caller cannot ack
    spool.complete(spool.peek(1))
    assert done.wait(5)
    thread.join()
    assert spool.depth == 3
    spool.close()


def test_stop_releases_a_blocked_append_without_storing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=50)
    assert spool.append(items(1, size=40))
    stop = threading.Event()
    stop.set()
    assert spool.append(items(1, start=1, size=40), stop) is False
    assert spool.depth == 1
    spool.close()


def test_near_full_alarm_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=1000, near_full_ratio=0.1)
    spool.append(items(2, size=50))
    spool.append(items(2, start=2, size=50))
    assert [r.message.startswith("SPOOL NEAR FULL") for r in caplog.records].count(True) == 1
    spool.close()


def test_bad_settings_and_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Spool(tmp_path / "s", max_bytes=0)
    with pytest.raises(ValueError, match="near_full_ratio"):
        Spool(tmp_path / "s", near_full_ratio=1.5)
    (tmp_path / "file").write_text("x")
    from gateway.errors import SpoolUnavailable

    with pytest.raises(SpoolUnavailable, match="check the path is writable"):
        Spool(tmp_path / "file" / "spool.sqlite3")


def test_the_accepted_index_commits_with_the_batch_and_forgets_old_readings(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append([Incoming("t", b"x", 1)])
    [entry] = spool.peek(10)
    spool.complete(
        [entry], accepted=[("s/temperature/p1", 100, "d1"), ("s/temperature/p1", 200, "d2")]
    )
    assert spool.depth == 0
    assert spool.accepted_digests([("s/temperature/p1", 100)]) == {("s/temperature/p1", 100): "d1"}
    # A replayed batch indexes the same reading again: the first digest stands.
    spool.complete([], accepted=[("s/temperature/p1", 100, "other")])
    assert spool.accepted_digests([("s/temperature/p1", 100)]) == {("s/temperature/p1", 100): "d1"}
    spool.complete([], forget_accepted_before=150)
    assert spool.accepted_digests([("s/temperature/p1", 100)]) == {}
    assert spool.accepted_digests([("s/temperature/p1", 200), ("s/x", 1)]) == {
        ("s/temperature/p1", 200): "d2"
    }
    spool.close()
    reopened = Spool(tmp_path / "spool.sqlite3")  # durable across a restart
    assert reopened.accepted_count() == 1
    reopened.close()


def test_accepted_digests_answers_a_batch_larger_than_one_query(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    rows = [(f"s/temperature/p{i % 7}", i, f"d{i}") for i in range(1_000)]
    spool.complete([], accepted=rows)
    asked = [(device, ts) for device, ts, _ in rows] + [("s/temperature/p0", 5_000)]
    found = spool.accepted_digests(asked)
    assert found == {(device, ts): digest for device, ts, digest in rows}


def test_accepted_newest_is_each_devices_latest_indexed_reading(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    assert spool.accepted_newest() == {}
    spool.complete([], accepted=[("a", 5, "x"), ("a", 9, "y"), ("b", 2, "z")])
    assert spool.accepted_newest() == {"a": 9, "b": 2}
