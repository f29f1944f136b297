"""AnchorLoop with the real feeder and worker: SQLite records and ledger, embedded EVM."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.errors import ChainUnavailable
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy, StepResult
from supervision.status import ComponentState, ComponentStatus
from supervision.supervisor import Supervisor
from tests.support.events import GTIN, object_event
from tests.support.poison import inject_entry
from traceability.anchoring.feeder import EVENT_KIND, EventFeeder, EventLeaves, FeedResult
from traceability.anchoring.loop import COMPONENT, AnchorLoop
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

LATER = "2026-11-22T10:30:00Z"


@dataclass(frozen=True)
class Parts:
    feeder: EventFeeder
    worker: AnchorWorker
    ledger: LedgerStore
    sender: AnchorSender
    signer: Signer


@pytest.fixture
def parts(stocked: RecordStore, tmp_path: Path) -> Iterator[Parts]:
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    # An hour-long policy: only a flush (or wake) anchors in these tests.
    worker = AnchorWorker(ledger, sender, "w-loop", BatchPolicy(max_age_s=3600))
    yield Parts(EventFeeder(stocked, ledger), worker, ledger, sender, signer)
    ledger.close()


def capture(store: RecordStore, parts: Parts, *serials: str) -> list[str]:
    """Capture as the hub does: each event signed into the ledger, then stored."""
    service = CaptureService(store, ledger=EventLeaves(parts.ledger, parts.signer))
    return [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(serials)
    ]


def test_a_round_anchors_and_mirrors_and_tells(stocked: RecordStore, parts: Parts) -> None:
    calls: list[str] = []
    loop = AnchorLoop(parts.feeder, parts.worker, on_anchored=lambda: calls.append("anchored"))
    capture(stocked, parts, "1001", "1002")
    assert loop.run_once() == []  # policy not due: submitted, nothing cut
    assert not loop.anchored.is_set()
    (summary,) = loop.run_once(flush=True)
    assert (summary.size, summary.recovered) == (2, False)
    assert summary.tx_hash.startswith("0x")
    assert loop.last == summary
    assert loop.anchored.is_set()
    assert calls == ["anchored"]
    assert {e.batch_id for e in stocked.events_for_lot(GTIN, "L1")} == {1}


def test_wake_anchors_from_the_thread_and_stop_releases_the_lease(
    stocked: RecordStore, parts: Parts
) -> None:
    loop = AnchorLoop(parts.feeder, parts.worker, poll_s=0.05)
    loop.start()
    try:
        capture(stocked, parts, "1001")
        loop.wake()
        assert loop.anchored.wait(timeout=30)
    finally:
        loop.stop()
    assert stocked.pending_events(limit=10) == []
    other = AnchorWorker(parts.ledger, parts.sender, "w-next")
    assert other.step().holding  # the lease was handed over at once


def test_an_outage_only_postpones(stocked: RecordStore, parts: Parts) -> None:
    feeder, worker = parts.feeder, parts.worker

    class Flaky:
        """The real worker, down for its first step."""

        def __init__(self) -> None:
            self.steps = 0

        def step(self, flush: bool = False) -> StepResult:
            self.steps += 1
            if self.steps == 1:
                raise ChainUnavailable("connection refused (the chain is down)")
            return worker.step(flush)

        def seconds_until_due(self) -> float | None:
            return worker.seconds_until_due()

        def release(self) -> None:
            worker.release()

    flaky = Flaky()
    loop = AnchorLoop(feeder, flaky, poll_s=0.05)
    capture(stocked, parts, "1001")
    loop.start()
    try:
        loop.wake()  # the first round fails and is logged; the next flush succeeds
        while flaky.steps < 2:
            loop.wake()
            loop.anchored.wait(timeout=0.2)
        loop.wake()
        assert loop.anchored.wait(timeout=30)
    finally:
        loop.stop()
    assert stocked.pending_events(limit=10) == []


def test_a_poison_record_is_set_aside_and_later_events_are_still_anchored(
    stocked: RecordStore, parts: Parts, tmp_path: Path
) -> None:
    """A record past capture's checks (a bug, a hand) whose capture entry breaks the
    ledger's limits: the loop sets it aside with its reason and anchors the others, now
    and after it, instead of stopping on it for good."""
    (first,) = capture(stocked, parts, "1001")
    # the poison: stored in the records without a ledger, its entry written around submit
    poisoned = CaptureService(stocked).capture(object_event(serial="1002", time=LATER))
    inject_entry(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        parts.signer,
        EVENT_KIND,
        poisoned.event_id,
        {"a": "poison"},
        datetime.now(UTC),
    )
    (second,) = capture(stocked, parts, "1003")
    supervisor = Supervisor()
    loop = AnchorLoop(parts.feeder, parts.worker, poll_s=0.05, supervisor=supervisor)
    loop.start()
    try:
        loop.wake()
        assert loop.anchored.wait(timeout=30)
        anchored = {e.id for e in stocked.events_for_lot(GTIN, "L1") if e.batch_id is not None}
        assert anchored == {first, second}
        (aside,) = parts.ledger.set_aside_records()
        assert aside.record_id == poisoned.event_id
        assert "at most 200 characters" in aside.reason
        # and the pipeline goes on: an event captured after the poison is anchored too
        loop.anchored.clear()
        (third,) = capture(stocked, parts, "1004")
        loop.wake()
        assert loop.anchored.wait(timeout=30)
    finally:
        loop.stop()
    assert [e.id for e in stocked.pending_events(limit=10)] == [poisoned.event_id]
    assert third in {e.id for e in stocked.events_for_lot(GTIN, "L1") if e.batch_id}
    status = loop_status(supervisor)
    assert status.restarts == 0  # nothing crashed: set aside is not a failure


def loop_status(supervisor: Supervisor) -> ComponentStatus:
    status = supervisor.status(COMPONENT)
    assert status is not None
    return status


def test_a_loop_killed_by_an_unexpected_error_is_restarted_and_says_so(
    stocked: RecordStore, parts: Parts
) -> None:
    real = parts.feeder
    failing = threading.Event()
    failing.set()

    class Broken:
        """The real feeder, with a bug while ``failing`` is set."""

        calls = 0

        def sync(self) -> FeedResult:
            Broken.calls += 1
            if failing.is_set():
                raise RuntimeError("injected: a bug in the feeder")
            return real.sync()

    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    loop = AnchorLoop(Broken(), parts.worker, poll_s=0.05, supervisor=supervisor)
    (event,) = capture(stocked, parts, "1001")
    loop.start()
    try:
        # dead and restarted, again and again, while the bug lasts: never ready meanwhile
        assert supervisor.wait_until(lambda s: s[COMPONENT].restarts >= 2, 30)
        status = loop_status(supervisor)
        assert not status.ready
        assert str(status.last_error) == "RuntimeError: injected: a bug in the feeder"
        failing.clear()  # the bug is gone: the restarted loop anchors what waited
        loop.wake()
        assert loop.anchored.wait(timeout=30)
        assert supervisor.wait_until(lambda s: s[COMPONENT].ready, 30)
    finally:
        loop.stop()
    assert [e.batch_id is not None for e in stocked.events_for_lot(GTIN, "L1")] == [True]
    assert stocked.events_for_lot(GTIN, "L1")[0].id == event
    assert loop_status(supervisor).state is ComponentState.STOPPED
