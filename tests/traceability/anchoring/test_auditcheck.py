"""``tracehub verify`` of a lot over its audit entries: the lot's bundle carries each entry
naming the lot (its stream), told as what changed, by whom and why; the records' row of
it edited or deleted fails. Real SQLite records and ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.verifier import Outcome
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.masterdata import sign_master
from traceability.anchoring.auditcheck import audit_checks
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventLeaves
from traceability.anchoring.verification import verify_lot
from traceability.audit.entry import AuditActor, AuditSubject, ESignature
from traceability.audit.trail import AuditTrail
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
LOT = f"{GTIN}/L1"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


@pytest.fixture
def trail(stocked: RecordStore, ledger: LedgerStore) -> AuditTrail:
    sign_master(stocked, ledger, SIGNER)
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
    trail = AuditTrail(stocked, ledger, SIGNER)
    signature = ESignature(
        name="li",
        display_name="Li Wei",
        role="quality",
        signed_at=datetime(2026, 12, 3, 11, tzinfo=UTC),
        meaning="approved release of lot L1",
    )
    trail.record(
        AuditActor(name="li", kind="user", role="quality"),
        "incident.dispose",
        AuditSubject(kind="incident", key="inc-1"),
        {"state": "assessed"},
        {"state": "disposed", "disposition": "release"},
        "14 min within the budget",
        signature=signature,
        lots=[LOT],
    )
    trail.record(  # not the lot's: not in its bundle
        AuditActor(name="root", kind="cli"),
        "client.add",
        AuditSubject(kind="client", key="erp-1"),
        None,
        {"name": "erp-1"},
        None,
    )
    return trail


def _audit(store: RecordStore, ledger: LedgerStore) -> list[tuple[str, Outcome, str]]:
    report = verify_lot(store, ledger, GTIN, "L1")
    return [(c.subject, c.outcome, c.detail) for c in report.checks if c.name == "audit"]


def test_the_lot_verify_tells_its_audit_entries(
    trail: AuditTrail, stocked: RecordStore, ledger: LedgerStore
) -> None:
    ((subject, outcome, detail),) = _audit(stocked, ledger)
    assert (subject, outcome) == ("audit entry 1", Outcome.PENDING)
    assert detail.startswith("incident.dispose of incident inc-1 by user:li (quality) at ")
    assert "reason: 14 min within the budget" in detail
    assert "signed by Li Wei (quality) at 2026-12-03T11:00:00.000000Z: approved release" in detail
    assert detail.endswith("— not yet anchored")
    report = verify_lot(stocked, ledger, GTIN, "L1")
    ours = [c for c in report.checks if c.record_id == "audit:1"]
    assert {c.name for c in ours} >= {"record", "signature", "audit"}
    assert all(c.outcome != Outcome.FAIL for c in ours), ours


def test_an_edited_or_deleted_row_of_the_lot_fails(
    trail: AuditTrail, stocked: RecordStore, ledger: LedgerStore, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'records.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET reason = 'no reason' WHERE seq = 1"))
    ((_, outcome, detail),) = _audit(stocked, ledger)
    assert outcome == Outcome.FAIL
    assert detail == "the records' row was edited: reason differs from the signed entry"
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_entries WHERE seq = 1"))
    engine.dispose()
    ((_, outcome, detail),) = _audit(stocked, ledger)
    assert outcome == Outcome.FAIL
    assert "deleted from the records' audit trail" in detail


def test_audit_entries_alone_are_no_events_of_the_lot(
    stocked: RecordStore, ledger: LedgerStore
) -> None:
    AuditTrail(stocked, ledger, SIGNER).record(
        AuditActor(name="root", kind="cli"),
        "master.lot.update",
        AuditSubject(kind="lot", key=LOT),
        None,
        {"quantity": 10},
        "count",
        lots=[LOT],
    )
    report = verify_lot(stocked, ledger, GTIN, "L1")
    (events,) = [c for c in report.checks if c.name == "events"]
    assert events.outcome == Outcome.FAIL
    assert audit_checks(stocked, {"subject": {"type": "incident"}}) == []
    assert len(lot_bundle(stocked, ledger, GTIN, "L1")["items"]) >= 1
