from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gs1.errors import InvalidIdentifier
from ledger.anchor import AnchorReceipt
from tests.support.events import COLD_ROOM, DOCK, GTIN
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.store import EpcLink, NewEvent, RecordStore

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def new_event(n: int, *, lot: str | None = "L1", minutes: int = 0, where: str = DOCK) -> NewEvent:
    epc = f"urn:epc:id:sgtin:4012345.011111.{1000 + n}"
    moment = T0 + timedelta(minutes=minutes)
    # The body is what the event says (the columns are its index): keep them in step.
    body = {
        "type": "ObjectEvent",
        "eventTime": moment.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "readPoint": {"id": where},
        "n": n,
    }
    return NewEvent(
        id=f"sha256:{n:064x}",
        event_time=moment,
        type="ObjectEvent",
        biz_step="arriving",
        read_point=where,
        biz_location=None,
        body=json.dumps(body),
        epcs=(EpcLink(epc=epc, gtin=GTIN, serial=str(1000 + n), lot=lot),),
        action="OBSERVE",
    )


def receipt(root: bytes, size: int) -> AnchorReceipt:
    return AnchorReceipt(
        root=root,
        size=size,
        metadata=b"\x01" * 32,
        chain_id=1337,
        contract="0x" + "ab" * 20,
        tx_hash="0x" + "cd" * 32,
        block_number=7,
    )


def test_tables_are_created_and_sqlite_runs_in_wal_with_foreign_keys(
    store: RecordStore, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'records.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"products", "lots", "units", "events", "event_epcs", "batches"} <= names
    with store._engine.connect() as conn:  # the store's own connections enforce FKs
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_products_and_lots(stocked: RecordStore) -> None:
    product = stocked.get_product("4012345111118")  # GTIN-13 accepted, stored as 14
    assert product is not None
    assert product.gtin == GTIN
    assert (product.temp_min_c, product.temp_max_c) == (0.0, 4.0)
    lot = stocked.get_lot(GTIN, "L1")
    assert lot is not None
    assert lot.expiry == date(2026, 12, 5)
    assert lot.quantity == 10
    assert stocked.lot_of_unit(GTIN, "1005") == "L1"
    assert stocked.lot_of_unit(GTIN, "2000") is None
    assert stocked.get_lot(GTIN, "L2") is None


def test_adding_the_same_product_and_lot_again_is_a_no_op(stocked: RecordStore) -> None:
    stocked.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    stocked.add_lot(
        GTIN, "L1", expiry=date(2026, 12, 5), origin="NO", quantity=10, serials=["1001"]
    )
    assert stocked.lot_of_unit(GTIN, "1001") == "L1"


def test_conflicts_and_missing_records_are_named(stocked: RecordStore) -> None:
    with pytest.raises(RecordConflict, match=f"product {GTIN} already exists"):
        stocked.add_product(GTIN, "Smoked salmon")
    with pytest.raises(RecordConflict, match=r"serial 1003 .* already belongs to lot L1"):
        stocked.add_lot(GTIN, "L2", serials=["1003", "2001"])
    assert stocked.get_lot(GTIN, "L2") is None  # the failed add_lot rolled back whole
    with pytest.raises(RecordNotFound, match="product 04006381333931 is unknown"):
        stocked.add_lot("4006381333931", "L1")
    with pytest.raises(InvalidIdentifier, match="GTIN 4012345111119: check digit"):
        stocked.add_product("4012345111119", "typo")
    with pytest.raises(InvalidIdentifier, match="lot"):
        stocked.add_lot(GTIN, "L 3")
    with pytest.raises(RecordConflict, match=r"temp_min_c 8\.0 is above temp_max_c 2\.0"):
        stocked.add_product("4006381333931", "odd", temp_min_c=8.0, temp_max_c=2.0)


def test_store_event_is_idempotent(stocked: RecordStore) -> None:
    first = stocked.store_event(new_event(1))
    again = stocked.store_event(new_event(1))
    assert (first.created, again.created) == (True, False)
    assert first.event_id == again.event_id
    assert [e.id for e in stocked.events_for_lot(GTIN, "L1")] == [first.event_id]


def test_events_for_lot_are_ordered_by_event_time(stocked: RecordStore) -> None:
    stocked.store_event(new_event(1, minutes=30))
    stocked.store_event(new_event(2, minutes=10))
    stocked.store_event(new_event(3, minutes=20, lot=None))  # unknown unit: not linked
    timeline = stocked.events_for_lot(GTIN, "L1")
    assert [e.id for e in timeline] == [new_event(2).id, new_event(1).id]
    assert timeline[0].event_time == T0 + timedelta(minutes=10)
    assert timeline[0].event_time.tzinfo is UTC
    assert stocked.get_event(new_event(3).id) is not None


def test_last_location_prefers_the_latest_event(stocked: RecordStore) -> None:
    assert stocked.last_location(GTIN, "L1") is None
    stocked.store_event(new_event(1, minutes=5, where=COLD_ROOM))
    stocked.store_event(new_event(2, minutes=0, where=DOCK))
    last = stocked.last_location(GTIN, "L1")
    assert last is not None
    assert (last.location, last.event_time) == (COLD_ROOM, T0 + timedelta(minutes=5))


def test_pending_events_follow_capture_order(stocked: RecordStore) -> None:
    for n, minutes in [(1, 30), (2, 10), (3, 20)]:
        stocked.store_event(new_event(n, minutes=minutes))
    pending = stocked.pending_events(limit=2)
    assert [e.id for e in pending] == [new_event(1).id, new_event(2).id]
    with pytest.raises(ValueError, match="limit 0"):
        stocked.pending_events(limit=0)


def test_mark_anchored_mirrors_a_ledger_batch(stocked: RecordStore) -> None:
    for n in (1, 2, 3):
        stocked.store_event(new_event(n))
    # The ledger's batch holds 3 leaves; two are events (the other, say, a carbon report).
    leaves = [(new_event(1).id, 0, b"\x11" * 32), (new_event(2).id, 2, b"\x22" * 32)]
    batch = stocked.mark_anchored(receipt(b"\x99" * 32, 3), leaves)
    assert batch.root == b"\x99" * 32
    assert (batch.size, batch.chain_id, batch.block_number) == (3, 1337, 7)
    assert stocked.batch(batch.id) == batch
    assert stocked.batch(batch.id + 1) is None
    assert [(x.event_id, x.leaf_index, x.leaf_hash) for x in stocked.batch_leaves(batch.id)] == (
        leaves
    )
    assert [e.id for e in stocked.pending_events(limit=10)] == [new_event(3).id]
    stored = stocked.get_event(new_event(2).id)
    assert stored is not None
    assert (stored.batch_id, stored.leaf_index, stored.leaf_hash) == (batch.id, 2, b"\x22" * 32)


def test_mark_anchored_again_is_harmless(stocked: RecordStore) -> None:
    stocked.store_event(new_event(1))
    stocked.store_event(new_event(2))
    first = stocked.mark_anchored(receipt(b"\x01" * 32, 1), [(new_event(1).id, 0, b"\x11" * 32)])
    again = stocked.mark_anchored(receipt(b"\x01" * 32, 1), [(new_event(1).id, 0, b"\x11" * 32)])
    assert again == first  # one batch row per root
    # An event already in a batch keeps it; the others join the new one.
    other = stocked.mark_anchored(
        receipt(b"\x02" * 32, 2),
        [(new_event(1).id, 0, b"\x33" * 32), (new_event(2).id, 1, b"\x22" * 32)],
    )
    assert other.id != first.id
    kept = stocked.get_event(new_event(1).id)
    assert kept is not None
    assert (kept.batch_id, kept.leaf_hash) == (first.id, b"\x11" * 32)
    assert [x.event_id for x in stocked.batch_leaves(other.id)] == [new_event(2).id]
    assert stocked.pending_events(limit=5) == []


def test_two_threads_write_and_read_concurrently(stocked: RecordStore) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(offset: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(offset, offset + 40):
                stocked.store_event(new_event(n))
                stocked.events_for_lot(GTIN, "L1")
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (1, 100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(stocked.events_for_lot(GTIN, "L1")) == 80


def test_in_memory_store_is_shared_across_threads() -> None:
    store = RecordStore.open("sqlite://")
    store.add_product(GTIN, "x")
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(store.get_product(GTIN)))
    thread.start()
    thread.join(timeout=10)
    assert seen
    assert seen[0] is not None
    store.close()


def test_bad_url_is_named() -> None:
    from traceability.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="not a database URL"):
        RecordStore.open("records.db")


def test_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    from traceability.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="check that it is reachable and writable"):
        RecordStore.open(f"sqlite:///{tmp_path / 'missing-dir' / 'records.db'}")
