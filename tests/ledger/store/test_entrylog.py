"""Submitting leaves: a signer outside its key's validity period is refused up front."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.errors import KeyOutOfPeriod
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.ledger.conftest import T0


def _nothing_stored(ledger: LedgerStore, stream: str) -> None:
    assert ledger.pending().count == 0
    assert ledger.stream(stream) == []


def test_a_key_closed_before_the_signing_time_is_refused(ledger: LedgerStore) -> None:
    base = Signer.generate("site:a", T0 - timedelta(days=30))
    closed = Signer.from_private_key(
        base._private_key, "site:a", T0 - timedelta(days=30), valid_until=T0
    )
    with pytest.raises(KeyOutOfPeriod, match=f"{closed.key_id} of site:a was rotated out"):
        ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], closed, T0 + timedelta(hours=1))
    _nothing_stored(ledger, "lot:A")


def test_a_key_not_yet_valid_is_refused(ledger: LedgerStore) -> None:
    future = Signer.generate("site:a", T0 + timedelta(days=1))
    with pytest.raises(KeyOutOfPeriod, match="is not valid yet"):
        ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], future, T0)
    _nothing_stored(ledger, "lot:A")


def test_a_rotation_recorded_in_the_store_is_honoured(ledger: LedgerStore, signer: Signer) -> None:
    """Another process rotated the key (close_key): this process's signer still says
    "open", but the store's record of the key wins."""
    first = ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], signer, T0)
    ledger.close_key(signer.key_id, T0 + timedelta(minutes=1))
    with pytest.raises(KeyOutOfPeriod) as info:
        ledger.submit("test-record", "r2", {"x": 2}, ["lot:A"], signer, T0 + timedelta(hours=1))
    assert signer.key_id in str(info.value)
    assert "to 2026-06-01T10:01:00.000000Z" in str(info.value)
    assert [e.id for e in ledger.stream("lot:A")] == [first.id]
    # Re-offering what was stored before the rotation is still idempotent.
    again = ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], signer, T0 + timedelta(hours=1))
    assert again.id == first.id
    # Signing inside the period (a late submission of an earlier reading) still works.
    inside = ledger.submit("test-record", "r3", {"x": 3}, ["lot:A"], signer, T0)
    assert inside.entry.links[0].seq == 1


def test_a_kept_record_comes_back_and_rides_in_the_bundle(
    ledger: LedgerStore, signer: Signer, tmp_path: Path
) -> None:
    import sqlite3

    from ledger.evidence import build_bundle
    from ledger.verify.verifier import Outcome, Verdict, verify_bundle

    summary = {"format": "lot-exposure/1", "mkt_c": 3.91, "excursion_minutes": 0.0}
    stored = ledger.submit("lot-exposure", "s1", summary, ["lot:A"], signer, T0, keep_record=True)
    ledger.submit("test-record", "plain", {"x": 1}, ["lot:A"], signer, T0)
    assert ledger.kept_record("lot-exposure", "s1") == summary
    assert ledger.kept_record("test-record", "plain") is None  # not asked to keep it
    # Offering it again (e.g. after a crash) keeps it once and is the same leaf.
    again = ledger.submit("lot-exposure", "s1", dict(summary), ["lot:A"], signer, T0, True)
    assert again.id == stored.id

    def records(kind: str, record_id: str) -> object:
        return {"x": 1} if record_id == "plain" else None  # the caller knows only its own

    bundle = build_bundle(ledger, {}, ["lot:A"], records, None, T0)
    assert [item["record"] for item in bundle["items"]] == [summary, {"x": 1}]
    report = verify_bundle(bundle)
    assert report.verdict is Verdict.NOT_ANCHORED  # consistent, just not batched yet
    assert not [c for c in report.checks if c.outcome is Outcome.FAIL]

    # The kept copy is covered by the signed digest: changing it in the database shows.
    with sqlite3.connect(tmp_path / "ledger.db") as db:  # the ledger fixture's file
        db.execute("UPDATE ledger_records SET canonical = ?", ('{"mkt_c":2.0}',))
    tampered = verify_bundle(build_bundle(ledger, {}, ["lot:A"], records, None, T0))
    (failure,) = [c for c in tampered.failures if c.outcome is Outcome.FAIL]
    assert (failure.name, failure.record_id) == ("record", "s1")
    assert "record was altered" in failure.detail


def test_submit_many_links_like_one_by_one_in_one_transaction(
    ledger: LedgerStore, tmp_path: Path, signer: Signer
) -> None:
    from ledger.batch import Submission
    from ledger.merkle import leaf_hash

    one_by_one = LedgerStore.open(f"sqlite:///{tmp_path / 'other.db'}")
    ledger.submit("test-record", "r0", {"n": 0}, ["lot:A"], signer, T0)  # already stored
    items = [
        Submission(kind="test-record", record_id=f"r{i}", record={"n": i}, streams=streams)
        for i, streams in enumerate([("lot:A",), ("lot:A", "lot:B"), (), ("lot:B",), ("lot:A",)])
    ]
    items.append(items[3])  # offered twice in one batch: the same leaf
    stored = ledger.submit_many(items, signer, T0)
    assert [s.entry.record_id for s in stored] == ["r0", "r1", "r2", "r3", "r4", "r3"]
    assert stored[3].id == stored[5].id
    for item in items[:5]:
        one_by_one.submit(item.kind, item.record_id, item.record, item.streams, signer, T0)
    for name in ("lot:A", "lot:B"):
        chain = ledger.stream(name)
        assert [(e.entry.record_id, e.leaf_hash) for e in chain] == [
            (e.entry.record_id, e.leaf_hash) for e in one_by_one.stream(name)
        ]  # Ed25519 is deterministic: the very same entries and leaves
        for seq, e in enumerate(chain):
            link = e.entry.link(name)
            assert link is not None
            assert link.seq == seq
            assert link.prev == (chain[seq - 1].leaf_hash if seq else None)
            assert e.leaf_hash == leaf_hash(e.entry.leaf_data())
    assert ledger.pending().count == 5
    one_by_one.close()


def test_submit_many_is_all_or_nothing(ledger: LedgerStore, signer: Signer) -> None:
    from ledger.batch import Submission
    from ledger.errors import EntryError

    ledger.submit("test-record", "r0", {"n": 0}, ["lot:A"], signer, T0)
    batch = [
        Submission(kind="test-record", record_id="r1", record={"n": 1}, streams=("lot:A",)),
        Submission(kind="test-record", record_id="r0", record={"n": 99}, streams=("lot:A",)),
    ]
    with pytest.raises(EntryError, match="test-record r0 was already submitted"):
        ledger.submit_many(batch, signer, T0)
    twice = [batch[0], batch[0].model_copy(update={"record": {"n": 2}})]
    with pytest.raises(EntryError, match="r1 is submitted twice with different content"):
        ledger.submit_many(twice, signer, T0)
    assert [e.entry.record_id for e in ledger.stream("lot:A")] == ["r0"]
    assert ledger.pending().count == 1
