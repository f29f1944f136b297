"""The anchoring loop's feeder signs the audit entries a ledger outage left unsigned, after
the events' round; a ledger still down is logged once and does not stop the round.
Real SQLite records and ledger."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.auditfeeder import AuditSigningFeeder
from traceability.anchoring.feeder import EventFeeder
from traceability.audit.entry import AuditActor, AuditSubject
from traceability.audit.trail import AuditTrail
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


def _down(*args: Any, **kwargs: Any) -> Any:
    raise LedgerUnavailable("ledger down (test)")


def test_a_round_signs_what_an_outage_left_unsigned_and_logs_an_outage_once(
    store: RecordStore,
    ledger: LedgerStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    trail = AuditTrail(store, ledger, SIGNER)
    feeder = AuditSigningFeeder(EventFeeder(store, ledger), trail)
    monkeypatch.setattr(ledger, "submit_many", _down)
    subject = AuditSubject(kind="client", key="erp-1")
    trail.record(AuditActor(name="root", kind="cli"), "client.add", subject, None, {}, None)
    assert trail.verify().unsigned == (1,)
    with caplog.at_level(logging.WARNING, logger="traceability.anchoring.auditfeeder"):
        assert feeder.sync().mirrored == 0  # the events' round went on
        feeder.sync()
    outage = [r for r in caplog.records if r.name == "traceability.anchoring.auditfeeder"]
    assert len(outage) == 1
    assert "ledger down (test)" in outage[0].getMessage()
    monkeypatch.undo()
    feeder.sync()
    assert trail.verify().unsigned == ()
    assert [s.entry.record_id for s in ledger.stream("audit")] == ["audit:1"]
