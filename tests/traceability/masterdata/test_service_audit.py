"""MasterData with an audit trail: every new version is an audit entry by the bound
author with the previous signed version's fields before and the new ones after; an
unchanged write records nothing; a console user without a signature is refused before
anything is written. Real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.masterdata import Site
from traceability.audit.entry import AuditActor, ESignature
from traceability.audit.errors import AuditRefused
from traceability.audit.port import Authorship
from traceability.audit.trail import AuditTrail
from traceability.masterdata.service import MasterData
from traceability.records.rows import ProductRow

GTIN = "04012345111118"
ALICE = Authorship(actor=AuditActor(name="alice", kind="cli"), reason="new cold-chain spec")


def _audited(site: Site) -> tuple[MasterData, AuditTrail]:
    trail = AuditTrail(site.store, site.ledger, site.signer)
    return MasterData(site.store, site.ledger, site.signer, audit=trail, author=ALICE), trail


def test_each_new_version_is_an_entry_with_the_values_before_and_after(site: Site) -> None:
    master, trail = _audited(site)
    master.add_product(GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0)
    master.add_product(GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0)  # unchanged
    master.update_product(GTIN, temp_max_c=6.0)
    created, updated = trail.entries()
    assert (created.action, updated.action) == ("master.product.create", "master.product.update")
    assert created.actor == ALICE.actor
    assert created.reason == "new cold-chain spec"
    assert (created.subject.kind, created.subject.key) == ("product", GTIN)
    assert created.before is None
    assert created.after["temp_max_c"] == 8.0
    assert updated.before == created.after
    assert updated.after == {**created.after, "temp_max_c": 6.0}
    assert trail.verify().ok


def test_a_lot_entry_is_in_the_lot_stream_and_an_import_is_one_entry_a_row(site: Site) -> None:
    master, trail = _audited(site)
    master.import_products(
        [ProductRow(gtin=GTIN, name="Vaccine"), ProductRow(gtin="04012345222227", name="Serum")]
    )
    master.add_lot(GTIN, "L1", expiry=date(2027, 1, 31), serials=range(1001, 1004))
    entries = trail.entries()
    assert [e.subject.key for e in entries] == [GTIN, "04012345222227", f"{GTIN}/L1"]
    lot = entries[-1]
    assert (lot.action, lot.lots) == ("master.lot.create", (f"{GTIN}/L1",))
    assert lot.after["serials"] == "1001-1003"
    (in_lot,) = site.ledger.stream(f"lot:{GTIN}/L1")
    assert in_lot.entry.record_id == lot.record_id


def test_a_console_user_without_a_signature_is_refused_before_the_write(site: Site) -> None:
    master, trail = _audited(site)
    li = AuditActor(name="li", kind="user", role="admin")
    with pytest.raises(AuditRefused, match="electronic signature"):
        master.acting(Authorship(actor=li, reason="typo"))
    assert site.store.get_product(GTIN) is None
    signature = ESignature(
        name="li",
        display_name="Li Wei",
        role="admin",
        signed_at=datetime(2026, 12, 3, tzinfo=UTC),
        meaning="approved change of product 04012345111118",
    )
    master.acting(Authorship(actor=li, reason="typo", signature=signature)).add_product(
        GTIN, "Vaccine"
    )
    (entry,) = trail.entries()
    assert entry.signature == signature
    assert entry.actor == li


def test_without_an_audit_trail_nothing_is_recorded(site: Site) -> None:
    site.master.add_product(GTIN, "Vaccine")
    assert site.store.audit_rows() == []
