"""The bridges between the gateway and traceability / the ledger, against the real stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.errors import CaptureRejected
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from tests.support.events import GTIN, object_event
from traceability.anchoring.feeder import EventLeaves, lot_stream
from traceability.anchoring.receipts import RECEIPT_KIND
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub.bridges import CaptureBridge, EvidenceBridge

DIGEST = {
    "format": "tracehub-completeness/1",
    "measurement": "temperature",
    "device": "probe-cold1-01",
    "window_start": "2026-11-22T08:00:00Z",
    "window_end": "2026-11-22T09:00:00Z",
    "revision": 0,
    "count": 60,
    "first_seq": 0,
    "last_seq": 59,
    "gaps": [],
}


def test_completeness_digests_become_leaves_chained_per_device(tmp_path: Path) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime.now(UTC) - timedelta(days=1))
    bridge = EvidenceBridge(RecordSubmitter(ledger, signer))
    bridge.submit("telemetry_completeness", DIGEST)
    bridge.submit("telemetry_completeness", DIGEST)  # offered again after a retry
    bridge.submit("telemetry_completeness", {**DIGEST, "window_start": "2026-11-22T09:00:00Z"})
    chain = ledger.stream("device:probe-cold1-01")
    assert [stored.entry.kind for stored in chain] == ["telemetry_completeness"] * 2
    assert ledger.pending().count == 2
    ledger.close()


def test_capture_bridge_turns_a_bad_event_into_a_dead_letter_reason(tmp_path: Path) -> None:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    bridge = CaptureBridge(CaptureService(store), source="gateway:gw-test")
    with pytest.raises(CaptureRejected) as caught:
        bridge.capture({"type": "ObjectEvent", "action": "OBSERVE", "epcList": []})
    # EPCIS 2.0 allows an ObjectEvent naming no object (sensor data); not one without a time.
    assert caught.value.field == "eventTime"
    assert "required" in caught.value.reason
    store.close()


def test_the_gateways_events_are_signed_as_sent_by_it(stocked: RecordStore, tmp_path: Path) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    service = CaptureService(stocked, ledger=EventLeaves(ledger, signer))
    bridge = CaptureBridge(service, source="gateway:gw-1")
    event_id = bridge.capture(object_event())
    assert bridge.capture(object_event()) == event_id  # redelivered: no second receipt
    receipts = [
        ledger.kept_record(RECEIPT_KIND, s.entry.record_id)
        for s in ledger.stream(lot_stream(GTIN, "L1"))
        if s.entry.kind == RECEIPT_KIND
    ]
    assert [(r["source"], r["events"]) for r in receipts if r] == [("gateway:gw-1", [event_id])]
    ledger.close()
