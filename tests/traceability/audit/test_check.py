"""Editing the past is detected: raw SQL on the records' audit trail (SQLite and
PostgreSQL) — an entry's ``after`` or ``reason`` changed, an entry deleted from the
middle or the end, two entries swapped — makes ``verify`` name the first entry that
differs; an entry the ledger has not signed yet is reported as such, not as tampered."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from tests.traceability.audit.conftest import TrailSite
from traceability.audit.errors import AuditError


@pytest.fixture
def trail(site: TrailSite) -> TrailSite:
    for n in range(1, 5):
        site.change(n)
    assert site.trail.verify().ok
    return site


def test_an_edited_after_is_named_with_its_field(trail: TrailSite) -> None:
    assert trail.sql("""UPDATE audit_entries SET "after" = '{"name": "forged"}' WHERE seq = 2""")
    report = trail.trail.verify()
    assert not report.ok
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "edited")
    assert report.first.detail == "after differs from the signed record"
    assert [p.seq for p in report.problems] == [2]  # the next entry still follows it


def test_an_edited_reason_is_named(trail: TrailSite) -> None:
    trail.sql("UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 3")
    report = trail.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (3, "edited")
    assert "reason differs" in report.first.detail
    assert report.first.describe().startswith("audit entry 3 edited: reason")


def test_an_edit_that_breaks_the_json_is_named(trail: TrailSite) -> None:
    trail.sql("""UPDATE audit_entries SET "before" = '{not json' WHERE seq = 1""")
    report = trail.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (1, "edited")
    assert "before is not JSON" in report.first.detail
    with pytest.raises(AuditError, match="audit entry 1 cannot be read"):
        trail.trail.entries()


def test_a_deleted_entry_in_the_middle_is_named(trail: TrailSite) -> None:
    assert trail.sql("DELETE FROM audit_entries WHERE seq = 2") == 1
    report = trail.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "deleted")
    assert "entry 2 is missing from the records; the ledger holds 1 of them signed" in (
        report.first.detail
    )


def test_the_deleted_last_entries_are_named_from_the_ledger(trail: TrailSite) -> None:
    trail.sql("DELETE FROM audit_entries WHERE seq >= 3")
    trail.sql("DELETE FROM audit_signed WHERE seq >= 3")  # covering their tracks
    report = trail.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (3, "deleted")
    assert "entries 3 to 4 are missing" in report.first.detail


def test_swapped_entries_are_named_as_reordered(trail: TrailSite) -> None:
    trail.sql("UPDATE audit_entries SET seq = 0 WHERE seq = 2")
    trail.sql("UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    trail.sql("UPDATE audit_entries SET seq = 3 WHERE seq = 0")
    report = trail.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "reordered")
    assert "holds what entry 3 signed" in report.first.detail
    assert {(p.seq, p.kind) for p in report.problems} == {(2, "reordered"), (3, "reordered")}


def test_an_entry_inserted_into_the_chain_breaks_it(trail: TrailSite) -> None:
    # A fifth row made by hand: it hashes to its digest column, but follows nothing.
    trail.sql(
        "INSERT INTO audit_entries (seq, at, actor_name, actor_kind, actor_role, action, "
        'subject_kind, subject_key, lots, "before", "after", reason, signature, prev, digest) '
        "SELECT 5, at, actor_name, actor_kind, actor_role, action, subject_kind, subject_key, "
        'lots, "before", "after", reason, signature, prev, :digest FROM audit_entries '
        "WHERE seq = 1",
        digest="f" * 64,
    )
    report = trail.trail.verify()
    kinds = {(p.seq, p.kind) for p in report.problems}
    assert (5, "chain") in kinds  # it names no predecessor: entry 1's place
    assert (5, "edited") in kinds  # and does not hash to the digest stored with it
    assert report.unsigned == (5,)


def test_an_entry_not_yet_signed_is_waiting_not_tampered(
    trail: TrailSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(items: Any, signer: Signer, now: Any = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    monkeypatch.setattr(trail.ledger, "submit_many", down)
    trail.change(5)
    report = trail.trail.verify()
    assert report.ok, report.problems
    assert report.unsigned == (5,)
    assert (report.entries, report.signed) == (5, 4)
