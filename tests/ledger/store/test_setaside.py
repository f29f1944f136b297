"""Set-aside entries: a leaf that can never be verified is kept out of every batch with
its reason, the batch goes on without it, and reading entries names it instead of
failing them all. Poison rows are written straight into the database, around submit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.batch import SetAsideRecord
from ledger.errors import EntryError
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.ledger.conftest import T0
from tests.support.poison import LONG_LOT_STREAM, corrupt_leaf, inject_entry


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_a_poison_leaf_is_set_aside_at_the_cut_and_the_batch_goes_on(
    ledger: LedgerStore, signer: Signer, tmp_path: Path
) -> None:
    ledger.submit("epcis-event", "good-1", {"n": 1}, ["lot:x"], signer, T0)
    poison = inject_entry(_url(tmp_path), signer, "epcis-event", "poison", {"n": 0}, T0)
    ledger.submit("epcis-event", "good-2", {"n": 2}, ["lot:x"], signer, T0)
    assert ledger.pending().count == 3
    lease = ledger.acquire_lease("w", 60, T0)
    assert lease is not None
    told: list[SetAsideRecord] = []
    batch = ledger.cut_batch(lease, 10, T0, on_set_aside=told.append)
    assert batch is not None
    assert batch.size == 2
    (aside,) = told
    assert (aside.entry_id, aside.record_id, aside.stage) == (poison, "poison", "batch")
    assert aside.reason == "entry field stream: String should have at most 200 characters"
    assert ledger.set_aside_records() == [aside]
    assert ledger.set_aside_count() == 1
    assert ledger.pending().count == 0  # a set-aside leaf no longer waits for a batch
    assert ledger.cut_batch(lease, 10, T0) is None


def test_a_window_of_nothing_but_poison_does_not_hide_the_leaves_behind_it(
    ledger: LedgerStore, signer: Signer, tmp_path: Path
) -> None:
    for n in range(3):
        inject_entry(_url(tmp_path), signer, "epcis-event", f"poison-{n}", {"n": n}, T0)
    ledger.submit("epcis-event", "good", {"n": 9}, ["lot:x"], signer, T0)
    lease = ledger.acquire_lease("w", 60, T0)
    assert lease is not None
    batch = ledger.cut_batch(lease, 2, T0)  # the oldest two are poison, so is the third
    assert batch is not None
    assert batch.size == 1
    assert ledger.set_aside_count() == 3


@pytest.mark.parametrize(
    ("leaf_data", "named"),
    [
        ("{not json", "unreadable leaf"),
        ('{"format": "tracehub-entry/0"}', "entry format"),
    ],
)
def test_a_corrupt_leaf_is_set_aside_with_what_is_wrong(
    ledger: LedgerStore, signer: Signer, tmp_path: Path, leaf_data: str, named: str
) -> None:
    stored = ledger.submit("epcis-event", "torn", {"n": 1}, ["lot:x"], signer, T0)
    corrupt_leaf(_url(tmp_path), stored.id, leaf_data)
    lease = ledger.acquire_lease("w", 60, T0)
    assert lease is not None
    assert ledger.cut_batch(lease, 10, T0) is None
    (aside,) = ledger.set_aside_records()
    assert named in aside.reason


def test_a_leaf_whose_hash_is_not_its_data_is_set_aside(
    ledger: LedgerStore, signer: Signer, tmp_path: Path
) -> None:
    first = ledger.submit("epcis-event", "a", {"n": 1}, ["lot:x"], signer, T0)
    other = ledger.submit("epcis-event", "b", {"n": 2}, ["lot:y"], signer, T0)
    # a's row now carries b's (valid) entry: parses, but is not the leaf a's hash names
    corrupt_leaf(_url(tmp_path), first.id, other.entry.leaf_data().decode())
    lease = ledger.acquire_lease("w", 60, T0)
    assert lease is not None
    batch = ledger.cut_batch(lease, 10, T0)
    assert batch is not None
    assert batch.size == 1
    (aside,) = ledger.set_aside_records()
    assert aside.record_id == "a"
    assert "names epcis-event b" in aside.reason


def test_reading_entries_names_the_unreadable_ones_and_returns_the_rest(
    ledger: LedgerStore, signer: Signer, tmp_path: Path
) -> None:
    ledger.submit("epcis-event", "good", {"n": 1}, ["lot:x"], signer, T0)
    poison = inject_entry(_url(tmp_path), signer, "epcis-event", "poison", {"n": 0}, T0)
    found, unreadable = ledger.readable_entries("epcis-event", ["good", "poison", "absent"])
    assert list(found) == ["good"]
    assert list(unreadable) == ["poison"]
    assert unreadable["poison"][0] == poison
    with pytest.raises(EntryError, match="do not read back"):
        ledger.entries("epcis-event", ["good", "poison"])


def test_setting_aside_is_idempotent(ledger: LedgerStore, signer: Signer) -> None:
    stored = ledger.submit("epcis-event", "e", {"n": 1}, ["lot:x"], signer, T0)
    first = ledger.set_aside(stored.id, "epcis-event", "e", "mirror", "why", T0)
    assert first is not None
    assert ledger.set_aside(stored.id, "epcis-event", "e", "batch", "again", T0) is None
    assert ledger.set_aside_records() == [first]
    with pytest.raises(ValueError, match="stage"):
        ledger.set_aside(stored.id, "epcis-event", "e", "elsewhere", "why", T0)


def test_submit_refuses_a_stream_over_the_limit_with_an_entry_error(
    ledger: LedgerStore, signer: Signer
) -> None:
    with pytest.raises(EntryError, match="at most 200"):
        ledger.submit("epcis-event", "e", {"n": 1}, [LONG_LOT_STREAM], signer, T0)
    assert ledger.pending().count == 0


def test_an_older_database_gains_the_table_at_open(tmp_path: Path, signer: Signer) -> None:
    url = _url(tmp_path)
    store = LedgerStore.open(url)
    store.submit("epcis-event", "e", {"n": 1}, ["lot:x"], signer, T0)
    store.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE ledger_set_aside")  # as created before it existed
    engine.dispose()
    again = LedgerStore.open(url)
    try:
        assert again.set_aside_count() == 0
        assert again.pending().count == 1
        stored = again.entry("epcis-event", "e")
        assert stored is not None
        again.set_aside(stored.id, "epcis-event", "e", "batch", "why", T0 + timedelta(1))
        assert again.pending().count == 0
    finally:
        again.close()
