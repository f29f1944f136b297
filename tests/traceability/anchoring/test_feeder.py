"""EventLeaves + EventFeeder + AnchorWorker: capture signs each event into the ledger,
anchored batches come back onto the records, and a row put in by hand is never signed.
Real SQLite records and ledger, anchors on the embedded EVM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gs1.epcis.hashid import event_hash_id
from ledger.anchor import AnchorChain
from ledger.batch import BatchStatus
from ledger.canonical import canonicalize
from ledger.entry import record_digest
from ledger.errors import ChainUnavailable
from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.merkle import leaf_hash, merkle_root
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy
from tests.support.events import GTIN, object_event
from traceability.anchoring.feeder import EVENT_KIND, EventFeeder, EventLeaves
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))


def capture(store: RecordStore, ledger: LedgerStore, *serials: str) -> list[str]:
    service = CaptureService(store, ledger=EventLeaves(ledger, SIGNER))
    return [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(serials)
    ]


@dataclass
class Anchoring:
    store: RecordStore
    ledger: LedgerStore
    feeder: EventFeeder
    sender: AnchorSender

    def worker(self, chain: AnchorChain | None = None, max_leaves: int = 1000) -> AnchorWorker:
        policy = BatchPolicy(max_leaves=max_leaves)
        return AnchorWorker(self.ledger, chain or self.sender, "w-feeder", policy)

    def round(self, worker: AnchorWorker | None = None) -> None:
        """One hub round: anchor what is pending, mirror what is confirmed."""
        self.feeder.sync()
        (worker or self.worker()).step(flush=True)
        self.feeder.sync()


@pytest.fixture
def anchoring(stocked: RecordStore, tmp_path: Path) -> Iterator[Anchoring]:
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield Anchoring(stocked, ledger, EventFeeder(stocked, ledger), sender)
    ledger.close()


def test_nothing_pending_means_no_batch(anchoring: Anchoring) -> None:
    head = anchoring.sender.head()
    result = anchoring.feeder.sync()
    assert (result.mirrored, result.batches, result.uncaptured) == (0, (), 0)
    assert anchoring.worker().step(flush=True).confirmed == ()
    assert anchoring.sender.head() == head  # no transaction sent


def test_events_are_anchored_as_one_batch_and_mirrored_onto_the_records(
    anchoring: Anchoring,
) -> None:
    store = anchoring.store
    ids = capture(store, anchoring.ledger, "1001", "1002", "1003")
    assert set(anchoring.ledger.entries(EVENT_KIND, ids)) == set(ids)  # signed at capture
    submitted = anchoring.feeder.sync()
    assert (submitted.mirrored, submitted.uncaptured) == (0, 0)  # not anchored yet
    assert len(store.pending_events(limit=10)) == 3
    (confirmed,) = anchoring.worker().step(flush=True).confirmed
    mirrored = anchoring.feeder.sync()
    assert mirrored.mirrored == 3
    (batch_id,) = mirrored.batches
    # Leaf i is the i-th captured event's signed ledger entry (RFC 8785, RFC 6962 leaf).
    entries = anchoring.ledger.entries(EVENT_KIND, ids)
    leaves = [leaf_hash(canonicalize(entries[i].entry.to_json())) for i in ids]
    assert [entries[i].leaf_hash for i in ids] == leaves
    assert confirmed.root == merkle_root(leaves)
    recorded = store.batch_leaves(batch_id)
    assert [(x.event_id, x.leaf_index, x.leaf_hash) for x in recorded] == [
        (i, n, leaf) for n, (i, leaf) in enumerate(zip(ids, leaves, strict=True))
    ]
    batch = store.batch(batch_id)
    assert batch is not None
    on_chain = anchoring.sender.lookup(batch.root)
    assert on_chain is not None
    assert (batch.root, batch.size, batch.metadata) == (
        confirmed.root,
        3,
        on_chain.metadata,
    )
    assert (batch.tx_hash, batch.block_number) == (confirmed.tx_hash, on_chain.block_number)
    assert (batch.chain_id, batch.contract) == (
        anchoring.sender.chain_id,
        anchoring.sender.contract,
    )
    assert store.pending_events(limit=10) == []
    again = anchoring.feeder.sync()
    assert again.mirrored == 0


def test_max_leaves_splits_batches(anchoring: Anchoring) -> None:
    capture(anchoring.store, anchoring.ledger, "1001", "1002", "1003")
    anchoring.feeder.sync()
    result = anchoring.worker(max_leaves=2).step(flush=True)
    assert [b.size for b in result.confirmed] == [2, 1]
    assert anchoring.feeder.sync().batches == (1, 2)
    assert anchoring.store.pending_events(limit=10) == []


class Down:
    """A chain that cannot be reached (the worker's first call is ``locate``)."""

    chain_id = 1
    contract = "0x" + "00" * 20
    sender = "0x" + "00" * 20

    def locate(self, root: bytes) -> None:
        raise ChainUnavailable("connection refused (a chain that is down)")


def test_chain_failure_mirrors_nothing_and_keeps_events_pending(anchoring: Anchoring) -> None:
    capture(anchoring.store, anchoring.ledger, "1001", "1002")
    anchoring.feeder.sync()
    with pytest.raises(ChainUnavailable):
        anchoring.worker(Down()).step(flush=True)  # type: ignore[arg-type]
    assert anchoring.feeder.sync().mirrored == 0
    assert len(anchoring.store.pending_events(limit=10)) == 2
    anchoring.round()  # the chain is back: the same cut batch goes on chain
    assert anchoring.store.pending_events(limit=10) == []
    (batch_id,) = {e.batch_id for e in anchoring.store.events_for_lot(GTIN, "L1")}
    batch = anchoring.store.batch(batch_id or 0)
    assert batch is not None
    assert batch.size == 2


def test_anchored_but_not_recorded_is_recovered_from_the_chain(anchoring: Anchoring) -> None:
    capture(anchoring.store, anchoring.ledger, "1001", "1002")
    anchoring.feeder.sync()
    ledger, sender = anchoring.ledger, anchoring.sender
    lease = ledger.acquire_lease("dead", 0.001, datetime(2026, 6, 1, tzinfo=UTC))
    assert lease is not None
    cut = ledger.cut_batch(lease, 10, datetime(2026, 6, 1, tzinfo=UTC))
    assert cut is not None
    # The crash: the root reached the chain, the process died before recording it.
    tx = sender.prepare_anchor(cut.root, cut.size, cut.metadata, sender.next_nonce())
    sender.broadcast(tx)
    assert sender.receipt(tx.tx_hash, 5) is not None
    head = sender.head()
    anchoring.round()
    assert sender.head() == head  # not sent again
    batch = ledger.batch(cut.id)
    assert batch is not None
    assert batch.status is BatchStatus.CONFIRMED
    assert batch.recovered
    recorded = anchoring.store.batch(1)
    assert recorded is not None
    assert recorded.root == cut.root
    assert recorded.tx_hash == tx.tx_hash  # found again through the Anchored log
    assert anchoring.store.pending_events(limit=10) == []


def test_store_failure_after_anchoring_recovers_on_retry(
    anchoring: Anchoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture(anchoring.store, anchoring.ledger, "1001")
    anchoring.feeder.sync()
    (confirmed,) = anchoring.worker().step(flush=True).confirmed

    def broken(*_args: object) -> None:
        raise StoreUnavailable("disk full (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(anchoring.store, "mark_anchored", broken)
        with pytest.raises(StoreUnavailable):
            anchoring.feeder.sync()
    assert anchoring.sender.lookup(confirmed.root) is not None
    assert len(anchoring.store.pending_events(limit=10)) == 1
    assert anchoring.feeder.sync().mirrored == 1
    assert anchoring.store.pending_events(limit=10) == []


def test_capture_renews_a_rotated_site_key(stocked: RecordStore, tmp_path: Path) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    old = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    new = Signer.generate("site:test", datetime.now(UTC) - timedelta(minutes=1))
    ledger.submit("probe", "p", {"x": 1}, [], old, datetime(2026, 2, 1, tzinfo=UTC))
    ledger.close_key(old.key_id, datetime.now(UTC) - timedelta(minutes=1))  # rotated elsewhere
    stale = CaptureService(stocked, ledger=EventLeaves(ledger, old))
    with pytest.raises(StoreUnavailable, match="cannot sign"):
        stale.capture(object_event(serial="1001"))
    assert stocked.events_for_lot(GTIN, "L1") == []  # not signed: not stored either
    renewing = CaptureService(stocked, ledger=EventLeaves(ledger, old, renew_signer=lambda: new))
    event_id = renewing.capture(object_event(serial="1001")).event_id
    (entry,) = ledger.entries(EVENT_KIND, [event_id]).values()
    assert entry.entry.signature.key_id == new.key_id
    ledger.close()


def test_a_ledger_outage_stores_nothing_and_the_redelivery_is_signed_once(
    stocked: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    service = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    event = object_event(serial="1001")

    def down(*_args: object, **_kwargs: object) -> None:
        raise LedgerUnavailable("database is locked (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(ledger, "submit_many", down)
        with pytest.raises(StoreUnavailable, match="retry"):
            service.capture(event)
    assert stocked.pending_events(limit=10) == []  # the gateway offers it again
    first = service.capture(event)
    again = service.capture(event)
    assert (first.created, again.created) == (True, False)
    assert list(ledger.entries(EVENT_KIND, [first.event_id])) == [first.event_id]
    ledger.close()


def test_a_crash_between_signing_and_storing_is_closed_by_the_redelivery(
    stocked: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ledger first: the entry exists, the row does not; the sender was never told
    the event was captured, so it offers it again and the row is stored then."""
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    service = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    event = object_event(serial="1001")

    def crash(*_args: object) -> None:
        raise SystemExit("killed after the ledger commit (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(stocked, "store_events", crash)
        with pytest.raises(SystemExit):
            service.capture(event)
    (entry,) = ledger.entries(EVENT_KIND, [event_hash_id(event)]).values()
    assert stocked.get_event(entry.entry.record_id) is None
    redelivered = service.capture(event)
    assert redelivered.created
    stored = stocked.get_event(redelivered.event_id)
    assert stored is not None
    assert record_digest(stored.document()) == entry.entry.record_digest
    assert ledger.entries(EVENT_KIND, [redelivered.event_id])[redelivered.event_id] == entry
    ledger.close()


def test_a_row_put_in_by_hand_is_never_signed_and_does_not_hold_back_the_others(
    anchoring: Anchoring,
) -> None:
    store = anchoring.store
    # Rows no signing capture stored (what an INSERT by hand amounts to), first in line.
    unsigned = CaptureService(store)
    forged = [
        unsigned.capture(object_event(serial=s, time="2026-11-22T09:00:00Z")).event_id
        for s in ("1004", "1005")
    ]
    ids = capture(store, anchoring.ledger, "1001")
    feeder = EventFeeder(store, anchoring.ledger, limit=1)  # one row per page
    feeder.sync()
    anchoring.worker().step(flush=True)
    result = feeder.sync()
    assert (result.mirrored, result.uncaptured) == (1, 2)
    assert anchoring.ledger.entries(EVENT_KIND, forged) == {}  # never signed
    assert {e.id for e in store.pending_events(limit=10)} == set(forged)
    mirrored = store.get_event(ids[0])
    assert mirrored is not None
    assert mirrored.batch_id is not None


def test_a_rooms_sensor_events_are_signed_into_the_places_stream(anchoring: Anchoring) -> None:
    from tests.support.events import COLD_ROOM
    from tests.support.sensorevents import sensor_event
    from traceability.anchoring.seals import location_stream

    service = CaptureService(anchoring.store, ledger=EventLeaves(anchoring.ledger, SIGNER))
    at = datetime(2026, 11, 22, 10, tzinfo=UTC)
    far = "https://example.org/rooms/" + "x" * 200  # too long to name a ledger stream
    room = service.capture(sensor_event(COLD_ROOM, [(at, 3.0)])).event_id
    unit = service.capture(
        sensor_event(COLD_ROOM, [(at, 4.0)], epcList=["urn:epc:id:sgtin:4012345.011111.1001"])
    ).event_id
    humid = sensor_event(COLD_ROOM, [(at, 40.0)])
    humid["sensorElementList"][0]["sensorReport"][0].update(type="AbsoluteHumidity", uom="A93")
    dry = service.capture(humid).event_id
    unnamed = service.capture(sensor_event(far, [(at, 3.0)])).event_id

    def streamed(name: str) -> list[str]:
        return [e.entry.record_id for e in anchoring.ledger.stream(name)]

    assert streamed(location_stream(COLD_ROOM)) == [room]  # its readings speak for the room
    assert streamed(f"lot:{GTIN}/L1") == [unit]  # it measures the lot's unit, not the room
    # Signed all the same: the receipt that the hub captured them.
    assert set(anchoring.ledger.entries(EVENT_KIND, [room, unit, dry, unnamed])) == {
        room, unit, dry, unnamed,
    }  # fmt: skip
