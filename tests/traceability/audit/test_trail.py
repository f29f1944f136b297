"""``AuditTrail`` over real records and a real ledger (SQLite and PostgreSQL): each change
the next chained entry, signed into the ``audit`` stream and its lots'; reading,
filtering and CSV export; a ledger outage leaves the entry recorded and signed later."""

from __future__ import annotations

import csv
import hmac
import io
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.masterdata import Site
from tests.traceability.audit.conftest import ALICE, GTIN, SIGNER, T0, TrailSite
from traceability.audit.entry import (
    KIND,
    AuditActor,
    AuditSubject,
    ESignature,
    change_of,
    entry_of,
    from_row,
    to_row,
)
from traceability.audit.errors import AuditRefused
from traceability.audit.export import COLUMNS
from traceability.audit.trail import TAG_LABEL, AuditTrail


def test_each_change_is_the_next_entry_chained_and_signed_into_its_streams(
    site: TrailSite,
) -> None:
    first = site.change(1)
    second = site.change(2)
    lot = site.change(
        3,
        action="master.lot.update",
        subject=AuditSubject(kind="lot", key=f"{GTIN}/L1"),
        lots=[f"{GTIN}/L1"],
    )
    assert [e.seq for e in (first, second, lot)] == [1, 2, 3]
    assert first.prev is None
    assert second.prev == first.digest()
    assert lot.prev == second.digest()
    assert first.at == T0 + timedelta(minutes=1)
    audit = site.ledger.stream("audit")
    assert [s.entry.record_id for s in audit] == ["audit:1", "audit:2", "audit:3"]
    for stored, entry in zip(audit, (first, second, lot), strict=True):
        assert stored.entry.record_digest.hex() == entry.digest()
        assert site.ledger.kept_record(KIND, entry.record_id) == entry.record()
    (in_lot,) = site.ledger.stream(f"lot:{GTIN}/L1")
    assert in_lot.entry.record_id == "audit:3"
    assert site.store.unsigned_audit() == []
    report = site.trail.verify()
    assert report.ok, report.problems
    assert (report.entries, report.signed, report.unsigned) == (3, 3, ())


def test_entries_are_chosen_by_time_actor_subject_kind_and_action(site: TrailSite) -> None:
    site.change(1)
    bo = AuditActor(name="erp-1", kind="client", role="admin")
    site.change(2, actor=bo, action="client.add", subject=AuditSubject(kind="client", key="erp-2"))
    site.change(3)

    def seqs(**filters: Any) -> list[int]:
        return [e.seq for e in site.trail.entries(**filters)]

    assert seqs() == [1, 2, 3]
    assert seqs(newest_first=True, limit=2) == [3, 2]
    assert seqs(actor="erp-1") == [2]
    assert seqs(subject=GTIN) == [1, 3]
    assert seqs(kind="client") == [2]
    assert seqs(action="master") == [1, 3]
    assert seqs(action="master.product.update") == [1, 3]
    assert seqs(action="master.product") == [1, 3]
    assert seqs(action="mas") == []  # a prefix of a name is no action
    # the clock ticks a minute a call: entry n is at T0 + n min
    assert seqs(since=T0 + timedelta(minutes=2)) == [2, 3]
    assert seqs(until=T0 + timedelta(minutes=2)) == [1]
    (entry,) = site.trail.entries(actor="erp-1")
    assert entry.actor == bo
    assert entry.before == {"name": "name 1"}


def test_the_csv_export_holds_every_field_the_chain_and_the_ledger_state(
    sqlite_site: TrailSite,
) -> None:
    site = sqlite_site
    signature = ESignature(
        name="li", display_name="Li Wei", role="quality", signed_at=T0, meaning="approved"
    )
    li = AuditActor(name="li", kind="user", role="quality")
    site.change(1)
    site.change(2, actor=li, signature=signature, lots=[f"{GTIN}/L1"], before=None)
    out = io.StringIO()
    assert site.trail.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    one, two = rows
    assert one["actor"] == "alice"
    assert one["actor_kind"] == "cli"
    assert one["before"] == '{"name":"name 0"}'  # canonical JSON
    assert one["after"] == '{"name":"name 1"}'
    assert one["reason"] == "change 1"
    assert one["prev"] == ""
    assert two["prev"] == one["digest"]
    assert (two["signed_by"], two["signer_name"], two["meaning"]) == ("li", "Li Wei", "approved")
    assert two["before"] == ""  # absent
    assert two["lots"] == f"{GTIN}/L1"
    assert {one["ledger"], two["ledger"]} == {"signed"}
    filtered = io.StringIO()
    assert site.trail.export_csv(filtered, actor="li") == 1


def test_a_ledger_outage_leaves_the_entry_recorded_and_it_is_signed_later(
    sqlite_site: TrailSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = sqlite_site
    site.change(1)

    def down(items: Any, signer: Signer, now: Any = None) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    with monkeypatch.context() as patched:
        patched.setattr(site.ledger, "submit_many", down)
        second = site.change(2)  # the write is not failed by the ledger
        third = site.change(3)
    assert [e.seq for e in site.trail.entries()] == [1, 2, 3]
    report = site.trail.verify()
    assert report.ok, report.problems  # waiting, not tampered
    assert report.unsigned == (2, 3)
    assert [r["seq"] for r in site.store.unsigned_audit()] == [2, 3]
    assert site.trail.sign_pending() == 2
    assert site.trail.sign_pending() == 0
    report = site.trail.verify()
    assert (report.ok, report.unsigned, report.signed) == (True, (), 3)
    assert [s.entry.record_id for s in site.ledger.stream("audit")] == [
        "audit:1",
        second.record_id,
        third.record_id,
    ]


def test_an_entry_edited_before_it_was_signed_is_never_signed(
    sqlite_site: TrailSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = sqlite_site
    site.change(1)
    with monkeypatch.context() as patched:
        patched.setattr(site.ledger, "submit_many", _down)
        site.change(2)
        site.change(3)
    site.sql("""UPDATE audit_entries SET "after" = '{"name": "forged"}' WHERE seq = 2""")
    assert site.trail.sign_pending() == 0  # it would vouch for the edit: stops there
    assert site.ledger.kept_record(KIND, "audit:2") is None
    assert site.ledger.kept_record(KIND, "audit:3") is None
    report = site.trail.verify()
    assert report.first is not None
    assert (report.first.seq, report.first.kind) == (2, "edited")
    assert "no longer hashes to the digest stored with it" in report.first.detail


def test_a_refused_change_records_nothing(sqlite_site: TrailSite) -> None:
    site = sqlite_site
    li = AuditActor(name="li", kind="user", role="quality")
    with pytest.raises(AuditRefused, match="electronic signature"):
        site.change(1, actor=li, action="incident.dispose")
    assert site.trail.entries() == []


def test_anchored_entries_are_counted_as_anchored(tmp_path: Any) -> None:
    chain = Site(f"sqlite:///{tmp_path / 'site.db'}")
    try:
        trail = AuditTrail(chain.store, chain.ledger, chain.signer)
        actor, subject = ALICE, AuditSubject(kind="product", key=GTIN)
        trail.record(actor, "master.product.update", subject, None, {"name": "x"}, "r")
        assert trail.verify().anchored == 0
        assert trail.ledger_states(trail.entries()) == {1: "signed"}
        chain.anchor()
        report = trail.verify()
        assert (report.ok, report.signed, report.anchored) == (True, 1, 1)
        (state,) = trail.ledger_states(trail.entries()).values()
        assert state.startswith("anchored (batch ")
    finally:
        chain.close()


def test_the_signed_record_is_the_json_the_ledger_keeps(sqlite_site: TrailSite) -> None:
    entry = sqlite_site.change(1, after={"name": "Lachs", "temp_max_c": 4.0, "nested": [1, None]})
    kept = sqlite_site.ledger.kept_record(KIND, entry.record_id)
    assert kept == json.loads(json.dumps(entry.record()))
    assert SIGNER.key_id == sqlite_site.ledger.stream("audit")[0].entry.signature.key_id


def _down(items: Any, signer: Signer, now: Any = None) -> Any:
    raise LedgerUnavailable("ledger down (test)")


def test_entries_re_signed_with_a_key_not_the_sites_are_caught(sqlite_site: TrailSite) -> None:
    # The attack of review 17 (finding 2d): rewrite entries 2 and 3, drop their ledger
    # rows and re-sign them with a key of one's own, which the ledger's key table takes.
    site = sqlite_site
    for n in (1, 2, 3):
        site.change(n)
    for record in ("audit:2", "audit:3"):
        entry_id = site.scalar("SELECT id FROM ledger_entries WHERE record_id = :r", r=record)
        for table in ("ledger_links", "ledger_records"):
            site.sql(f"DELETE FROM {table} WHERE entry_id = :i", i=entry_id)
        site.sql("DELETE FROM ledger_entries WHERE id = :i", i=entry_id)
    site.sql("DELETE FROM audit_signed WHERE seq IN (2, 3)")
    prev = str((site.store.audit_row(1) or {})["digest"])
    rogue = Signer.generate("site:test", T0 - timedelta(days=1))
    for seq in (2, 3):
        rewritten = from_row(site.store.audit_row(seq) or {}).model_copy(
            update={"prev": prev, "reason": f"rewritten {seq}", "after": {"name": "evil"}}
        )
        site.sql(
            "UPDATE audit_entries SET reason = :r, after = :a, prev = :p, digest = :d, "
            "tag = :t WHERE seq = :s",
            r=rewritten.reason,
            a=json.dumps(rewritten.after),
            p=prev,
            d=rewritten.digest(),
            t=hmac.new(rogue.derive(TAG_LABEL), rewritten.digest().encode(), "sha256").hexdigest(),
            s=seq,
        )
        prev = rewritten.digest()
    assert AuditTrail(site.store, site.ledger, rogue).sign_pending() == 2
    report = site.trail.verify()
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "signature"), (3, "signature")]
    assert "not the site's key" in report.problems[0].detail


def test_a_row_the_trail_did_not_write_is_forged_and_never_signed(sqlite_site: TrailSite) -> None:
    # Review 17, finding 2a: a disposition inserted with a chain recomputed by hand was
    # listed as merely unsigned, and the hub's next sign_pending signed it.
    site = sqlite_site
    site.change(1)
    last = site.store.audit_row(1) or {}
    forged = entry_of(
        change_of(
            actor=AuditActor(name="li", kind="cli"),
            action="incident.dispose",
            subject=AuditSubject(kind="incident", key="inc-1"),
            before={"state": "assessed"},
            after={"state": "disposed"},
            reason="fine",
        ),
        2,
        T0,
        str(last["digest"]),
    )
    site.store.append_audit([lambda seq, prev: to_row(forged)])  # as an SQL INSERT would
    assert site.trail.sign_pending() == 0
    report = site.trail.verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "forged")]
    assert report.unsigned == (2,)


def test_an_unsigned_row_edited_with_its_digest_recomputed_is_forged(
    sqlite_site: TrailSite,
) -> None:
    # Finding 2b: an entry edited while the ledger was down, its digest recomputed.
    site = sqlite_site
    site.change(1)
    site.sql("DELETE FROM audit_signed WHERE seq = 1")
    entry_id = site.scalar("SELECT id FROM ledger_entries WHERE record_id = 'audit:1'")
    for table in ("ledger_links", "ledger_records"):
        site.sql(f"DELETE FROM {table} WHERE entry_id = :i", i=entry_id)
    site.sql("DELETE FROM ledger_entries WHERE id = :i", i=entry_id)
    edited = from_row(site.store.audit_row(1) or {}).model_copy(update={"reason": "other"})
    site.sql(
        "UPDATE audit_entries SET reason = :r, digest = :d WHERE seq = 1",
        r=edited.reason,
        d=edited.digest(),
    )
    assert site.trail.sign_pending() == 0
    assert [(p.seq, p.kind) for p in site.trail.verify().problems] == [(1, "forged")]


def test_an_anchored_tail_entry_deleted_is_caught_by_its_batch(tmp_path: Any) -> None:
    # Review 17, finding 2c: deleting the last entry with its ledger rows went unseen.
    chain = Site(f"sqlite:///{tmp_path / 'site.db'}")
    try:
        trail = AuditTrail(chain.store, chain.ledger, chain.signer)
        subject = AuditSubject(kind="product", key=GTIN)
        for n in (1, 2, 3):
            trail.record(ALICE, "master.product.update", subject, None, {"name": n}, "r")
        chain.anchor()
        assert trail.verify().ok
        engine = sa.create_engine(chain.url)
        with engine.begin() as conn:
            query = "SELECT id FROM ledger_entries WHERE record_id = 'audit:3'"
            entry_id = conn.execute(sa.text(query)).scalar()
            for table in ("ledger_links", "ledger_records"):
                conn.execute(sa.text(f"DELETE FROM {table} WHERE entry_id = :i"), {"i": entry_id})
            conn.execute(sa.text("DELETE FROM ledger_entries WHERE id = :i"), {"i": entry_id})
            conn.execute(sa.text("DELETE FROM audit_signed WHERE seq = 3"))
            conn.execute(sa.text("DELETE FROM audit_entries WHERE seq = 3"))
        engine.dispose()
        fresh = LedgerStore.open(chain.url)  # as `audit verify` opens it: no cached leaves
        try:
            report = AuditTrail(chain.store, fresh, chain.signer).verify()
        finally:
            fresh.close()
        assert [(p.seq, p.kind) for p in report.problems] == [(1, "batch")]
        assert "holds 2 of the 3 leaves" in report.problems[0].detail
    finally:
        chain.close()
