"""``tracehub verify … --report FILE``: a released report's file is found by its SHA-256
in the lot's signed, anchored release record; an edited file or another lot's is FAIL.
Real SQLite records and ledger, anchored on the embedded EVM."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.batch import StoredEntry
from ledger.signing import Signer
from ledger.verify.report import Outcome
from tests.support.events import GTIN
from tests.support.webapp import Ledgered, add_places, capture_journey, ledgered
from traceability.anchoring.feeder import submit_lot_record
from traceability.anchoring.reportcheck import NAME, report_file_checks
from traceability.anchoring.verification import verify_lot
from traceability.audit.entry import ESignature
from traceability.records.store import RecordStore
from traceability.reports.release import ReportReleases, meaning_of

pytestmark = pytest.mark.integration
SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
PDF = b"%PDF-1.7 the report as released"
QA = ESignature(
    name="qa",
    display_name="Quality Assurance",
    role="quality",
    signed_at=datetime(2026, 11, 22, 12, tzinfo=UTC),
    meaning=meaning_of(GTIN, "L1"),
)


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Ledgered:
    add_places(stocked)
    capture_journey(stocked)
    return ledgered(stocked, tmp_path / "records.db")


def _release(store: RecordStore, site: Ledgered) -> None:
    def sign(kind: str, gtin: str, lot: str, record: dict[str, Any]) -> StoredEntry:
        return submit_lot_record(site.ledger, SIGNER, kind, gtin, lot, record)

    kept = ReportReleases(store, sign, None).release(GTIN, "L1", PDF, QA)
    assert kept.entry is not None
    again = ReportReleases(store, sign, None).release(GTIN, "L1", PDF, QA)
    assert again.id == kept.id  # the same file is the same release, signed once


def test_a_released_file_is_found_an_edited_one_fails(stocked: RecordStore, site: Ledgered) -> None:
    _release(stocked, site)
    site.anchor()
    files = [("report.pdf", PDF), ("edited.pdf", PDF + b" ")]
    report = verify_lot(stocked, site.ledger, GTIN, "L1", None, None, reports=files)
    checks = {c.subject: c for c in report.checks if c.name == NAME}
    assert checks["report.pdf"].outcome is Outcome.OK
    assert "released by Quality Assurance (qa, quality)" in checks["report.pdf"].detail
    assert checks["edited.pdf"].outcome is Outcome.FAIL
    assert "not a temperature report released for this lot" in checks["edited.pdf"].detail
    # the release record itself is one of the lot's checked, anchored items
    record_id = checks["report.pdf"].record_id
    assert record_id is not None
    assert any(c.record_id == record_id and c.name != NAME for c in report.checks)
    assert not [c for c in report.checks if c.record_id == record_id and not c.ok]


def test_a_bundle_without_releases_has_no_report(stocked: RecordStore, site: Ledgered) -> None:
    bundle = site.evidence.bundle(GTIN, "L1")
    assert bundle is not None
    (check,) = report_file_checks(bundle, [("report.pdf", PDF)])
    assert check.outcome is Outcome.FAIL
