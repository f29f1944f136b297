"""The ledger store on SQLite and PostgreSQL: submission, hash chains, lease fencing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from ledger.batch import BatchStatus
from ledger.errors import EntryError, LeaseLost
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.ledger.conftest import T0, postgres_database
from tests.support.postgres import PostgreSQL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, ledger: LedgerStore) -> Iterator[LedgerStore]:
    if request.param == "sqlite":
        yield ledger
        return
    server: PostgreSQL = request.getfixturevalue("postgres")
    pg = LedgerStore.open(postgres_database(server.url, "ledger_store_test"))
    yield pg
    pg.close()


def test_submit_is_idempotent_and_immutable(store: LedgerStore, signer: Signer) -> None:
    first = store.submit("epcis-event", "e1", {"a": 1}, ["lot:x"], signer, T0)
    again = store.submit("epcis-event", "e1", {"a": 1.0}, ["lot:x"], signer, T0)
    assert again.id == first.id
    with pytest.raises(EntryError, match="already submitted with digest"):
        store.submit("epcis-event", "e1", {"a": 2}, ["lot:x"], signer, T0)
    assert store.pending().count == 1
    assert store.public_keys() == [signer.public]


def test_streams_chain_in_submission_order(store: LedgerStore, signer: Signer) -> None:
    a = store.submit("k", "1", {"n": 1}, ["s1"], signer, T0)
    b = store.submit("k", "2", {"n": 2}, ["s1", "s2"], signer, T0)
    c = store.submit("k", "3", {"n": 3}, ["s1"], signer, T0)
    chain = store.stream("s1")
    assert [e.entry.record_id for e in chain] == ["1", "2", "3"]
    link_b, link_c = b.entry.link("s1"), c.entry.link("s1")
    assert link_b is not None
    assert link_c is not None
    assert (link_b.seq, link_b.prev) == (1, a.leaf_hash)
    assert (link_c.seq, link_c.prev) == (2, b.leaf_hash)
    assert [e.entry.record_id for e in store.stream("s2")] == ["2"]


def test_concurrent_submitters_keep_the_chain_contiguous(
    store: LedgerStore, signer: Signer
) -> None:
    def submit(offset: int) -> None:
        for i in range(15):
            store.submit("k", f"{offset}-{i}", {"i": i, "o": offset}, ["hot"], signer, T0)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chain = store.stream("hot")
    assert len(chain) == 45
    for seq, item in enumerate(chain):
        link = item.entry.link("hot")
        assert link is not None
        assert link.seq == seq
        assert link.prev == (chain[seq - 1].leaf_hash if seq else None)


def test_lease_is_exclusive_and_fences_a_stale_holder(store: LedgerStore, signer: Signer) -> None:
    store.submit("k", "1", {"n": 1}, [], signer, T0)
    a = store.acquire_lease("A", 10, T0)
    assert a is not None
    assert store.acquire_lease("B", 10, T0 + timedelta(seconds=5)) is None
    renewed = store.acquire_lease("A", 10, T0 + timedelta(seconds=5))
    assert renewed is not None
    assert renewed.token == a.token
    b = store.acquire_lease("B", 10, T0 + timedelta(seconds=16))  # A's lease expired
    assert b is not None
    assert b.token == a.token + 1
    with pytest.raises(LeaseLost, match="taken over by B"):
        store.cut_batch(a, 10, T0)  # A woke up late: fenced off
    batch = store.cut_batch(b, 10, T0)
    assert batch is not None
    assert batch.status is BatchStatus.CUT
    store.release_lease(b)
    assert store.acquire_lease("C", 10, T0 + timedelta(seconds=17)) is not None


def test_cut_batches_hold_each_leaf_once_with_proofs(store: LedgerStore, signer: Signer) -> None:
    for i in range(7):
        store.submit("k", str(i), {"i": i}, [], signer, T0)
    lease = store.acquire_lease("A", 10, T0)
    assert lease is not None
    first = store.cut_batch(lease, 4, T0)
    second = store.cut_batch(lease, 4, T0)
    assert first is not None
    assert second is not None
    assert (first.size, second.size) == (4, 3)
    assert store.cut_batch(lease, 4, T0) is None
    from ledger.merkle import verify_inclusion

    entry = store.entry("k", "5")
    assert entry is not None
    assert entry.batch_id == second.id
    assert entry.leaf_index is not None
    proof = store.proof(entry)
    assert verify_inclusion(entry.leaf_hash, entry.leaf_index, 3, proof, second.root)
