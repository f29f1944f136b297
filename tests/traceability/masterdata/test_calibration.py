"""ProbeCalibrations: each new certificate is a row, an audit entry and a signed ledger
record in the probe's stream and the site's; the same one again signs nothing; and
``calibration_checks`` (what ``tracehub calibration verify`` prints) holds every row
against its signed record: pending, then ok once anchored, FAIL naming the field of a
row edited in the database after signing, a row no signature backs, a deleted row.
Real SQLite and PostgreSQL, real py-evm."""

from __future__ import annotations

from datetime import date

from ledger.verify.report import Outcome
from tests.support.masterdata import Site
from traceability.audit.entry import AuditActor
from traceability.audit.port import Authorship
from traceability.audit.trail import AuditTrail
from traceability.calibration.record import Calibration
from traceability.masterdata.calibration import (
    ALL_STREAM,
    ProbeCalibrations,
    calibration_stream,
    parse_record,
    signed_record,
)

ALICE = Authorship(actor=AuditActor(name="alice", kind="cli"), reason="annual calibration")
A1 = Calibration(
    probe="wh1/temperature/probe-7", calibrated_on=date(2026, 1, 10), due_on=date(2027, 1, 10),
    lab="Lab Nord", certificate_number="KN-1", uncertainty_c=0.15, certificate_sha256="cd" * 32,
)  # fmt: skip
B1 = A1.model_copy(update={"probe": "wh1/temperature/probe-8", "certificate_number": "KN-2"})


def _writer(site: Site) -> tuple[ProbeCalibrations, AuditTrail]:
    trail = AuditTrail(site.store, site.ledger, site.signer)
    return ProbeCalibrations(site.store, site.ledger, site.signer, audit=trail, author=ALICE), trail


def test_a_new_certificate_is_a_row_an_entry_and_a_signed_record(site: Site) -> None:
    writer, trail = _writer(site)
    assert writer.add([A1, B1]) == [A1, B1]
    assert writer.add([A1]) == []  # the same again: nothing new signed or audited
    assert site.store.calibrations() == [A1, B1]
    first, second = trail.entries()
    assert (first.action, first.actor, first.reason) == (
        "master.calibration.create", ALICE.actor, "annual calibration",
    )  # fmt: skip
    assert (first.subject.kind, first.subject.key) == ("calibration", f"{A1.probe}#KN-1")
    assert first.after == A1.record()
    assert second.subject.key == f"{B1.probe}#KN-2"
    mine = site.ledger.stream(calibration_stream(A1.probe))
    assert [e.entry.kind for e in mine] == ["probe-calibration"]
    assert (
        len([e for e in site.ledger.stream(ALL_STREAM) if e.entry.kind == "probe-calibration"]) == 2
    )
    assert writer.signed([A1.probe]) == [A1]
    assert sorted(writer.signed(), key=lambda c: c.probe) == [A1, B1]
    assert parse_record(signed_record(A1)) == A1


def test_checks_pending_then_ok_once_anchored(site: Site) -> None:
    writer, _ = _writer(site)
    writer.add([A1])
    assert [c.outcome for c in writer.checks()] == [Outcome.PENDING]
    site.anchor()
    (check,) = writer.checks()
    assert check.outcome == Outcome.OK
    assert check.subject == f"probe {A1.probe} certificate KN-1"
    assert "anchored" in check.detail


def test_a_row_edited_after_signing_fails_naming_the_field_and_both_values(site: Site) -> None:
    writer, _ = _writer(site)
    writer.add([A1, B1])
    site.anchor()
    site.sql(
        "UPDATE probe_calibrations SET due_on = :due WHERE certificate_number = 'KN-1'",
        due=date(2029, 1, 10),
    )
    by_subject = {c.subject: c for c in writer.checks()}
    tampered = by_subject[f"probe {A1.probe} certificate KN-1"]
    assert tampered.outcome == Outcome.FAIL
    assert tampered.detail == "due_on: records say 2029-01-10, signed record says 2027-01-10"
    assert by_subject[f"probe {B1.probe} certificate KN-2"].outcome == Outcome.OK
    # What pages and exposures state is the signed record, not the edited row.
    assert writer.signed([A1.probe]) == [A1]


def test_a_row_written_around_tracehub_and_a_deleted_row_fail(site: Site) -> None:
    writer, _ = _writer(site)
    writer.add([A1])
    site.store.add_calibrations([B1])  # straight to the records: no signature
    site.sql("DELETE FROM probe_calibrations WHERE certificate_number = 'KN-1'")
    checks = {c.subject: c for c in writer.checks()}
    assert checks[f"probe {B1.probe} certificate KN-2"].outcome == Outcome.FAIL
    assert "no signed record" in checks[f"probe {B1.probe} certificate KN-2"].detail
    assert checks[f"probe {A1.probe} certificate KN-1"].outcome == Outcome.FAIL
    assert "the records lack it" in checks[f"probe {A1.probe} certificate KN-1"].detail


def test_a_signing_write_again_repairs_a_row_left_unsigned(site: Site) -> None:
    writer, _ = _writer(site)
    site.store.add_calibrations([A1])  # as if the hub died between records and ledger
    assert writer.add([A1]) == [A1]
    assert [c.outcome for c in writer.checks()] == [Outcome.PENDING]


def test_the_signed_source_describes_a_stay_for_the_report(site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    from traceability.masterdata.calibration import SignedCalibrationSource

    writer, _ = _writer(site)
    writer.add([A1])
    source = SignedCalibrationSource(site.ledger)
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    # Signed today (December 2026), after that March stay, and in no anchored batch yet:
    # both said, never the bare fact.
    signed_on = site.ledger.stream(calibration_stream(A1.probe))[0].entry.signature.signed_at
    assert source.describe(A1.probe, *march) == (
        f"calibrated (KN-1; not yet anchored; recorded {signed_on.date()}, after this stay)"
    )
    site.anchor()
    assert source.describe(A1.probe, *march) == (
        f"calibrated (KN-1; recorded {signed_on.date()}, after this stay)"
    )
    later = (signed_on, signed_on + timedelta(days=1))
    inside = source.describe(A1.probe, *later)
    assert inside == "calibrated (KN-1)"  # anchored, and signed before the stay ended
    across = source.describe(
        A1.probe, datetime(2027, 1, 9, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)
    )
    assert across == "out of calibration since 2027-01-10"
    assert source.describe(
        "nobody", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    ) == ("has no calibration on record for this stay")


def test_a_calibration_dated_after_today_is_refused_and_nothing_written(site: Site) -> None:
    import pytest

    from traceability.calibration.errors import CalibrationRejected

    writer, trail = _writer(site)
    ahead = A1.model_copy(update={"calibrated_on": date(2099, 1, 1), "due_on": date(2100, 1, 1)})
    with pytest.raises(CalibrationRejected, match="calibrated_on: 2099-01-01 is after today"):
        writer.add([A1, ahead])
    assert site.store.calibrations() == []
    assert trail.entries() == []
