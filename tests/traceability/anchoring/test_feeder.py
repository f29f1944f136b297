from __future__ import annotations

import pytest

from ledger.anchor import Anchorer
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.merkle import leaf_hash, merkle_root
from tests.support.events import object_event
from tests.support.fake_anchorer import FakeAnchorer
from traceability.anchoring.feeder import UNKNOWN_TX_HASH, AnchoringService, batch_metadata
from traceability.capture import CaptureService
from traceability.errors import AnchoringUnavailable, StoreUnavailable
from traceability.records.store import RecordStore


def capture(store: RecordStore, *serials: str) -> list[str]:
    service = CaptureService(store)
    return [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(serials)
    ]


def test_fake_is_an_anchorer() -> None:
    anchorer: Anchorer = FakeAnchorer()
    assert anchorer.chain_id == 1337


def test_nothing_pending_means_no_batch(stocked: RecordStore) -> None:
    fake = FakeAnchorer()
    assert AnchoringService(stocked, fake).anchor_pending() is None
    assert fake.anchor_calls == 0


def test_anchor_pending_builds_and_records_a_batch(stocked: RecordStore) -> None:
    ids = capture(stocked, "1001", "1002", "1003")
    fake = FakeAnchorer()
    summary = AnchoringService(stocked, fake).anchor_pending()
    assert summary is not None
    leaves = [leaf_hash(canonicalize(stocked.get_event(i).document())) for i in ids]  # type: ignore[union-attr]
    assert summary.root == merkle_root(leaves)
    assert (summary.size, summary.block_number, summary.recovered) == (3, 1, False)
    assert fake.roots[summary.root].metadata == sha256(
        canonicalize(
            {
                "format": "tracehub-batch/1",
                "size": 3,
                "first_event_time": "2026-11-22T10:00:00.000Z",
                "last_event_time": "2026-11-22T10:02:00.000Z",
            }
        )
    )
    recorded = stocked.batch_leaves(summary.batch_id)
    assert [(x.event_id, x.leaf_index, x.leaf_hash) for x in recorded] == [
        (i, n, leaf) for n, (i, leaf) in enumerate(zip(ids, leaves, strict=True))
    ]
    assert stocked.pending_events(limit=10) == []
    assert AnchoringService(stocked, fake).anchor_pending() is None


def test_max_events_splits_batches(stocked: RecordStore) -> None:
    capture(stocked, "1001", "1002", "1003")
    service = AnchoringService(stocked, FakeAnchorer())
    first = service.anchor_pending(max_events=2)
    second = service.anchor_pending(max_events=2)
    assert first is not None
    assert second is not None
    assert (first.size, second.size) == (2, 1)
    assert service.anchor_pending(max_events=2) is None


def test_chain_failure_records_nothing_and_keeps_events_pending(stocked: RecordStore) -> None:
    capture(stocked, "1001", "1002")
    fake = FakeAnchorer()
    fake.down = True
    service = AnchoringService(stocked, fake)
    with pytest.raises(AnchoringUnavailable, match="the events stay pending"):
        service.anchor_pending()
    assert len(stocked.pending_events(limit=10)) == 2
    fake.down = False
    summary = service.anchor_pending()
    assert summary is not None
    assert summary.size == 2


def test_anchored_but_not_recorded_is_recovered_from_the_chain(stocked: RecordStore) -> None:
    capture(stocked, "1001", "1002")
    fake = FakeAnchorer()
    pending = stocked.pending_events(limit=10)
    root = merkle_root([leaf_hash(canonicalize(e.document())) for e in pending])
    # The crash: the root reached the chain, the process died before record_batch.
    fake.anchor(root, 2, batch_metadata(pending))
    summary = AnchoringService(stocked, fake).anchor_pending()
    assert summary is not None
    assert summary.recovered
    assert summary.root == root
    assert summary.block_number == 1
    assert summary.tx_hash == UNKNOWN_TX_HASH
    assert fake.anchor_calls == 1  # not sent again
    assert stocked.pending_events(limit=10) == []


def test_rejected_because_another_worker_anchored_it_meanwhile(stocked: RecordStore) -> None:
    capture(stocked, "1001")

    class RacingAnchorer(FakeAnchorer):
        def lookup(self, root: bytes):  # type: ignore[no-untyped-def]
            # The first lookup misses; the other worker anchors right after it.
            if not self.roots and self.anchor_calls == 0:
                super().anchor(root, 1, b"\x00" * 32)
                self.anchor_calls = 0
                return None
            return super().lookup(root)

    fake = RacingAnchorer()
    summary = AnchoringService(stocked, fake).anchor_pending()
    assert summary is not None
    assert summary.recovered
    assert fake.anchor_calls == 1


def test_store_failure_after_anchoring_recovers_on_retry(
    stocked: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture(stocked, "1001")
    fake = FakeAnchorer()
    service = AnchoringService(stocked, fake)

    def broken(*_args: object) -> None:
        raise StoreUnavailable("disk full (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(stocked, "record_batch", broken)
        with pytest.raises(StoreUnavailable):
            service.anchor_pending()
    assert len(fake.roots) == 1
    summary = service.anchor_pending()
    assert summary is not None
    assert summary.recovered
    assert stocked.pending_events(limit=10) == []


def test_feeder_renews_a_rotated_site_key(stocked: RecordStore, tmp_path: object) -> None:
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from ledger.errors import KeyOutOfPeriod
    from ledger.signing import Signer
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.feeder import EventFeeder

    assert isinstance(tmp_path, Path)
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    old = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    new = Signer.generate("site:test", datetime.now(UTC) - timedelta(minutes=1))
    ids = capture(stocked, "1001")
    ledger.submit("probe", "p", {"x": 1}, [], old, datetime(2026, 2, 1, tzinfo=UTC))
    ledger.close_key(old.key_id, datetime.now(UTC) - timedelta(minutes=1))  # rotated elsewhere
    with pytest.raises(KeyOutOfPeriod):
        EventFeeder(stocked, ledger, old).sync()
    feeder = EventFeeder(stocked, ledger, old, renew_signer=lambda: new)
    assert feeder.sync().submitted == 1
    (entry,) = ledger.entries("epcis-event", ids).values()
    assert entry.entry.signature.key_id == new.key_id
    ledger.close()


def test_feeder_submits_the_others_when_one_event_is_refused(
    stocked: RecordStore, tmp_path: object
) -> None:
    from collections.abc import Sequence
    from datetime import UTC, datetime
    from pathlib import Path

    from ledger.batch import StoredEntry, Submission
    from ledger.errors import EntryError
    from ledger.signing import Signer
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.feeder import EventFeeder

    assert isinstance(tmp_path, Path)
    ids = capture(stocked, "1001", "1002", "1003")

    class Refusing(LedgerStore):
        """The real store, refusing one record (a stand-in for a conflicting one)."""

        def submit_many(
            self, items: Sequence[Submission], signer: Signer, now: datetime | None = None
        ) -> list[StoredEntry]:
            if any(item.record_id == ids[1] for item in items):
                raise EntryError(f"epcis-event {ids[1]} was already submitted with digest …")
            return super().submit_many(items, signer, now)

    ledger = Refusing.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    feeder = EventFeeder(
        stocked, ledger, Signer.generate("site:t", datetime(2026, 1, 1, tzinfo=UTC))
    )
    with pytest.raises(EntryError) as refused:
        feeder.sync()
    assert ids[1] in str(refused.value)
    assert set(ledger.entries("epcis-event", ids)) == {ids[0], ids[2]}
    ledger.close()
