"""The audit trail's SQL on SQLite and PostgreSQL: appends take the next seq and the digest
before them (concurrent writers too, one chain without a gap), a failing builder keeps
nothing, which entries the ledger took, rows edited into bad JSON, and no way to change
or remove an entry through the records."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from traceability.records.audittrail import AuditRecords
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.db'}"
        return
    server: PostgreSQL = request.getfixturevalue("postgres")
    name = f"audit_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield server.url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def records(url: str) -> Iterator[RecordStore]:
    store = RecordStore.open(url)
    yield store
    store.close()


def _row(seq: int, prev: str | None, actor: str = "alice", **fields: Any) -> dict[str, Any]:
    """A row whose digest chains over its seq, its actor and the digest before it."""
    digest = hashlib.sha256(f"{seq}|{actor}|{prev}".encode()).hexdigest()
    return {
        "seq": seq,
        "at": T0 + timedelta(minutes=seq),
        "actor_name": actor,
        "actor_kind": "cli",
        "actor_role": None,
        "action": "master.product.update",
        "subject_kind": "product",
        "subject_key": "04012345111118",
        "lots": [],
        "before": None,
        "after": {"name": f"v{seq}", "temp_max_c": 4.5},
        "reason": f"change {seq}",
        "signature": None,
        "prev": prev,
        "digest": digest,
        **fields,
    }


def _chained(rows: list[dict[str, Any]]) -> bool:
    return all(b["prev"] == a["digest"] for a, b in pairwise(rows))


def test_appends_take_the_next_seq_and_the_digest_before_them(records: RecordStore) -> None:
    seen: list[tuple[int, str | None]] = []

    def build(seq: int, prev: str | None) -> dict[str, Any]:
        seen.append((seq, prev))
        return _row(seq, prev)

    first = records.append_audit([build])
    more = records.append_audit([build, build])
    assert [r["seq"] for r in first + more] == [1, 2, 3]
    assert seen[0] == (1, None)
    assert seen[1] == (2, first[0]["digest"])
    assert seen[2] == (3, more[0]["digest"])
    rows = records.audit_rows()
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert _chained(rows)
    assert rows[0]["after"] == {"name": "v1", "temp_max_c": 4.5}
    assert rows[0]["before"] is None
    assert rows[0]["at"] == T0 + timedelta(minutes=1)
    assert rows[0]["malformed"] == []
    assert records.audit_row(2) == rows[1]
    assert records.audit_row(9) is None


def test_a_failing_builder_keeps_nothing_of_its_batch(records: RecordStore) -> None:
    def broken(seq: int, prev: str | None) -> dict[str, Any]:
        raise ValueError("no")

    records.append_audit([_row])
    with pytest.raises(ValueError, match="no"):
        records.append_audit([_row, broken])
    assert [r["seq"] for r in records.audit_rows()] == [1]
    assert [r["seq"] for r in records.append_audit([_row])] == [2]


def test_concurrent_writers_make_one_chain_without_a_gap(url: str) -> None:
    stores = [RecordStore.open(url) for _ in range(2)]
    try:

        def write(store: RecordStore, name: str) -> None:
            for _ in range(15):
                store.append_audit([lambda seq, prev: _row(seq, prev, actor=name)])

        threads = [
            threading.Thread(target=write, args=(store, f"w{i}")) for i, store in enumerate(stores)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows = stores[0].audit_rows()
    finally:
        for store in stores:
            store.close()
    assert [r["seq"] for r in rows] == list(range(1, 31))
    assert _chained(rows)
    assert {r["actor_name"] for r in rows} == {"w0", "w1"}


def test_what_the_ledger_took_is_noted_once(records: RecordStore) -> None:
    records.append_audit([_row, _row, _row])
    assert [r["seq"] for r in records.unsigned_audit()] == [1, 2, 3]
    records.mark_audit_signed([1, 2], T0)
    records.mark_audit_signed([2, 1], T0)  # again: no change, no error
    assert [r["seq"] for r in records.unsigned_audit()] == [3]
    assert [r["seq"] for r in records.unsigned_audit(limit=1)] == [3]
    assert records.audit_signed_seqs() == {1, 2}


def test_filters_and_order(records: RecordStore) -> None:
    records.append_audit([_row, lambda s, p: _row(s, p, actor="bo", action="client.add"), _row])
    assert [r["seq"] for r in records.audit_rows(actor="bo")] == [2]
    assert [r["seq"] for r in records.audit_rows(action="client")] == [2]
    assert [r["seq"] for r in records.audit_rows(action="master")] == [1, 3]
    assert [r["seq"] for r in records.audit_rows(action="master_")] == []  # no LIKE wildcard
    assert [r["seq"] for r in records.audit_rows(newest_first=True, limit=2)] == [3, 2]
    assert [r["seq"] for r in records.audit_rows(after_seq=1)] == [2, 3]
    assert [r["seq"] for r in records.audit_rows(since=T0 + timedelta(minutes=2))] == [2, 3]


def test_a_column_edited_into_bad_json_is_named_not_raised(url: str, records: RecordStore) -> None:
    records.append_audit([_row])
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("""UPDATE audit_entries SET "after" = '{oops' WHERE seq = 1"""))
    engine.dispose()
    (row,) = records.audit_rows()
    assert row["malformed"] == ["after"]
    assert row["after"] == "{oops"


def test_the_records_offer_no_way_to_change_or_remove_an_entry() -> None:
    own = {name for name in vars(AuditRecords) if not name.startswith("__")}
    assert own == {
        "append_audit",
        "audit_rows",
        "audit_row",
        "unsigned_audit",
        "audit_signed_seqs",
        "mark_audit_signed",
    }
