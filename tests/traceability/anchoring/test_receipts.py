"""Capture receipts: one signed per capture call that signs new events, in the same
transaction, into those events' lot streams; none for a redelivery; and ``verify``'s
per-lot report of who sent each event, failing an altered receipt. Real SQLite records
and ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Outcome
from tests.support.events import GTIN, object_event
from tests.traceability.test_capture_document import document
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventLeaves, adopt_events, lot_stream
from traceability.anchoring.receipts import (
    RECEIPT_FORMAT,
    RECEIPT_KIND,
    captured_by,
    lot_source_checks,
)
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


def _receipts(ledger: LedgerStore) -> list[dict[str, Any]]:
    found = [
        ledger.kept_record(RECEIPT_KIND, s.entry.record_id)
        for s in ledger.stream(lot_stream(GTIN, "L1"))
        if s.entry.kind == RECEIPT_KIND
    ]
    return [r for r in found if r is not None]


def test_one_receipt_per_call_naming_the_new_events_only(
    stocked: RecordStore, ledger: LedgerStore
) -> None:
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    first = capture.capture_document(document(object_event()), source="erp-1")
    both = capture.capture_document(
        document(object_event(), object_event(serial="1002")), source="wms-2"
    )
    again = capture.capture(object_event(serial="1002"), source="gateway:gw-1")  # redelivered
    assert not again.created
    one, two = _receipts(ledger)
    assert one["format"] == two["format"] == RECEIPT_FORMAT
    assert (one["source"], one["events"]) == ("erp-1", [first.captured[0].event_id])
    # the redelivered first event keeps its first receipt; only the new one is named
    assert (two["source"], two["events"]) == ("wms-2", [both.captured[1].event_id])
    assert two["received_at"].endswith("Z")
    bundle = lot_bundle(stocked, ledger, GTIN, "L1")
    assert captured_by(bundle) == {
        first.captured[0].event_id: "erp-1",
        both.captured[1].event_id: "wms-2",
    }
    checks = lot_source_checks(bundle)
    assert [(c.outcome, c.detail) for c in checks] == [
        (Outcome.OK, "captured by erp-1: 1 event (signed capture receipts)"),
        (Outcome.OK, "captured by wms-2: 1 event (signed capture receipts)"),
    ]


def test_without_a_source_no_receipt_and_the_report_says_so(
    stocked: RecordStore, ledger: LedgerStore
) -> None:
    CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER)).capture(object_event())
    assert _receipts(ledger) == []
    (check,) = lot_source_checks(lot_bundle(stocked, ledger, GTIN, "L1"))
    assert check.outcome is Outcome.SKIPPED  # said, never failed
    assert check.detail.startswith("source not recorded: 1 event without a valid capture")


def test_adopted_events_have_no_source(stocked: RecordStore, ledger: LedgerStore) -> None:
    CaptureService(stocked).capture(object_event())  # a records-only tool: no ledger
    adopt_events(stocked, ledger, SIGNER, GTIN, "L1")
    (check,) = lot_source_checks(lot_bundle(stocked, ledger, GTIN, "L1"))
    assert check.outcome is Outcome.SKIPPED
    assert "adopted" in check.detail


def test_the_receipt_is_signed_with_the_events_or_not_at_all(
    stocked: RecordStore, ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def refuse(items: Any, signer: Signer, now: datetime | None = None) -> Any:
        seen.append([item.kind for item in items])
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(ledger, "submit_many", refuse)
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    with pytest.raises(StoreUnavailable):
        capture.capture_document(document(object_event()), source="erp-1")
    assert seen == [["epcis-event", RECEIPT_KIND]]  # one transaction: both or neither
    assert stocked.pending_events(limit=10) == []


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r.update(source="wms-9"), "the receipt was altered"),
        (lambda r: r["events"].append("ni:///sha-256;forged"), "the receipt was altered"),
        (lambda r: r.clear(), "the receipt was altered"),
    ],
)
def test_an_altered_receipt_fails_and_names_nobody(
    stocked: RecordStore, ledger: LedgerStore, edit: Any, problem: str
) -> None:
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    capture.capture_document(document(object_event()), source="erp-1")
    bundle = lot_bundle(stocked, ledger, GTIN, "L1")
    (item,) = [i for i in bundle["items"] if i["entry"]["kind"] == RECEIPT_KIND]
    edit(item["record"])
    failed, unknown = lot_source_checks(bundle)
    assert failed.outcome is Outcome.FAIL
    assert problem in failed.detail
    assert failed.record_id == item["entry"]["record_id"]
    assert unknown.outcome is Outcome.SKIPPED
    assert "a receipt fails above" in unknown.detail
    assert captured_by(bundle) == {}


def test_a_signed_record_that_is_no_receipt_fails(
    stocked: RecordStore, ledger: LedgerStore
) -> None:
    """A receipt-kind entry the site signed with some other shape (a bug, a forged kind)
    names no sender."""
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    (outcome,) = capture.capture_document(document(object_event())).captured
    ledger.submit(
        RECEIPT_KIND,
        "receipt:odd",
        {"source": 7, "events": [outcome.event_id]},
        [lot_stream(GTIN, "L1")],
        SIGNER,
        keep_record=True,
    )
    failed, unknown = lot_source_checks(lot_bundle(stocked, ledger, GTIN, "L1"))
    assert failed.outcome is Outcome.FAIL
    assert f"not a {RECEIPT_FORMAT} record" in failed.detail
    assert unknown.outcome is Outcome.SKIPPED
