"""``tracehub verify … --report FILE``: a released report's file is found by its SHA-256
in the lot's signed, anchored release record; an edited file or another lot's is FAIL.
Real SQLite records and ledger, anchored on the embedded EVM."""

from __future__ import annotations

import hashlib
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


def _bundle(
    record: dict[str, Any], *, stream: str, claims: dict[str, Any] | None
) -> dict[str, Any]:
    """A lot bundle carrying one release record (the item's own checks are verify's)."""
    return {
        "subject": {"type": "lot", "gtin": GTIN, "lot": "L1", "stream": f"lot:{GTIN}/L1"},
        "items": [
            {
                "entry": {
                    "kind": "temperature-report",
                    "record_id": "sha256:r1",
                    "links": [{"stream": stream}],
                },
                "record": record,
            }
        ],
        **({"claims": claims} if claims is not None else {}),
    }


def _record(lot: str = "L1", **states: Any) -> dict[str, Any]:
    return {
        "gtin": GTIN,
        "lot": lot,
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "released_by": QA.to_json(),
        "states": states,
    }


STATED: dict[str, Any] = {
    "state": "compromised",
    "mkt_c": 3.6,
    "min_c": 2.0,
    "max_c": 7.5,
    "minutes_out": 10.0,
}
ENDED = [
    {
        "location": "urn:x",
        "arrived": "2026-11-22T09:00:00+00:00",
        "left": "2026-11-22T11:00:00+00:00",
    }
]


def test_another_lots_release_record_does_not_vouch_for_this_lot() -> None:
    other = _bundle(_record(lot="L2"), stream=f"lot:{GTIN}/L1", claims=None)
    unlinked = _bundle(_record(), stream=f"lot:{GTIN}/L2", claims=None)
    for bundle in (other, unlinked):
        (check,) = report_file_checks(bundle, [("report.pdf", PDF)])
        assert check.outcome is Outcome.FAIL


def test_the_numbers_a_report_states_are_held_against_the_proven_claims() -> None:
    as_of = "2026-11-22T12:00:00+00:00"
    cold = {**STATED, "excursions": [{}]}
    same = _bundle(
        _record(**STATED, excursions=1, as_of=as_of),
        stream=f"lot:{GTIN}/L1",
        claims={"journey": ENDED, "cold_chain": cold},
    )
    _, numbers = report_file_checks(same, [("report.pdf", PDF)])
    assert numbers.outcome is Outcome.OK
    hidden = {**cold, "minutes_out": 55.0, "excursions": [{}, {}]}  # what the proof gives
    lied = _bundle(
        _record(**STATED, excursions=1, as_of=as_of),
        stream=f"lot:{GTIN}/L1",
        claims={"journey": ENDED, "cold_chain": hidden},
    )
    _, numbers = report_file_checks(lied, [("report.pdf", PDF)])
    assert numbers.outcome is Outcome.FAIL
    assert "minutes_out 10.0 (report) vs 55.0 (proven)" in numbers.detail
    still_there = [{**ENDED[0], "left": None}]  # readings after the report may count now
    moved = _bundle(
        _record(**STATED, excursions=1, as_of=as_of),
        stream=f"lot:{GTIN}/L1",
        claims={"journey": still_there, "cold_chain": hidden},
    )
    _, numbers = report_file_checks(moved, [("report.pdf", PDF)])
    assert numbers.outcome is Outcome.SKIPPED
