"""Master data a dishonest operator edits in SQL: `verify --gtin G --lot L` names the
field and both values; an honest change through MasterData is pending, then proven.
Real SQLite and PostgreSQL records databases, real py-evm anchors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledger.verify.verifier import Outcome, Verdict
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.masterdata import Site, database_url
from traceability.anchoring.mastercheck import CHECK
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.records.locations import Location

LOT = "L1"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with database_url(request.param, tmp_path, request) as url:
        opened = Site(url)
        master = opened.master
        master.add_product(
            GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0, excursion_budget_min=60.0,
            mkt_limit_c=8.0, shelf_life_days=365, stability_budget="above:25:60;below:0:30",
        )  # fmt: skip
        master.add_lot(
            GTIN, LOT, expiry=date(2027, 11, 1), origin="Marburg, DE", quantity=3,
            production_date=date(2026, 11, 1), serials=range(1001, 1004),
        )  # fmt: skip
        for urn, name in ((DOCK, "Dock door 1"), (COLD_ROOM, "Cold room 1")):
            master.add_location(Location(urn=urn, name=name, kind="cold_room", country="DE"))
        capture = CaptureService(opened.store)
        for i, place in enumerate((DOCK, COLD_ROOM)):
            capture.capture(
                object_event(
                    time=f"2026-11-22T1{i}:00:00Z", read_point=place, bizLocation={"id": place}
                )
            )
        opened.anchor()
        yield opened
        opened.close()


def master_report(site: Site) -> list[tuple[Outcome, str, str]]:
    report = verify_lot(site.store, site.ledger, GTIN, LOT)
    return [(c.outcome, c.subject, c.detail) for c in report.checks if c.name == CHECK]


def test_honest_master_data_is_proven(site: Site) -> None:
    checks = master_report(site)
    assert {subject for _, subject, _ in checks} == {
        f"product {GTIN}",
        f"lot {GTIN}/{LOT}",
        f"location {DOCK}",
        f"location {COLD_ROOM}",
    }
    assert {outcome for outcome, *_ in checks} == {Outcome.OK}, checks


_SIGNED = "signed version 1 says above:25:60;below:0:30"
TAMPERS = [
    ("products", "temp_max_c", "25.0", "records say 25.0, signed version 1 says 8"),
    ("products", "temp_min_c", "0.0", "records say 0.0, signed version 1 says 2"),
    ("products", "excursion_budget_min", "10000", "records say 10000.0, signed version 1"),
    ("products", "mkt_limit_c", "30", "records say 30.0, signed version 1 says 8"),
    ("products", "shelf_life_days", "3650", "records say 3650, signed version 1 says 365"),
    ("products", "stability_budget", "'above:25:600'", f"records say above:25:600, {_SIGNED}"),
    ("lots", "expiry", "'2031-11-01'", "records say 2031-11-01, signed version 1 says 2027"),
    ("lots", "origin", "'Somewhere else'", "records say Somewhere else, signed version 1"),
    ("lots", "production_date", "'2026-01-01'", "records say 2026-01-01, signed version 1"),
    ("lots", "quantity", "300", "records say 300, signed version 1 says 3"),
    ("locations", "name", "'Back yard'", "records say Back yard, signed version 1 says Cold"),
    ("locations", "country", "'XX'", "records say XX, signed version 1 says DE"),
]


@pytest.mark.parametrize(("table", "column", "value", "named"), TAMPERS)
def test_a_field_changed_in_sql_fails_naming_field_and_values(
    site: Site, table: str, column: str, value: str, named: str
) -> None:
    where = {"products": "", "lots": "", "locations": f" WHERE urn = '{COLD_ROOM}'"}[table]
    assert site.sql(f"UPDATE {table} SET {column} = {value}{where}") == 1
    report = verify_lot(site.store, site.ledger, GTIN, LOT)
    assert report.verdict is Verdict.TAMPERED
    failed = [c.detail for c in report.checks if c.name == CHECK and c.outcome is Outcome.FAIL]
    assert len(failed) == 1, failed
    assert f"{column}: {named}" in failed[0]


def test_a_serial_moved_in_sql_and_a_product_without_signature_fail(site: Site) -> None:
    site.sql(f"DELETE FROM units WHERE serial = '1003' AND gtin = '{GTIN}'")
    checks = master_report(site)
    assert (Outcome.FAIL, f"lot {GTIN}/{LOT}") in {(o, s) for o, s, _ in checks}
    assert any("serials: records say 1001-1002, signed version 1 says 1001-1003" in d
               for *_, d in checks)  # fmt: skip
    # A location added by hand, named by a new event: no signed version at all.
    site.sql(
        "INSERT INTO locations (urn, name, kind) VALUES (:urn, 'Shed', 'site')",
        urn="urn:epc:id:sgln:4012345.00009.0",
    )
    CaptureService(site.store).capture(
        object_event(
            time="2026-11-22T12:00:00Z",
            read_point="urn:epc:id:sgln:4012345.00009.0",
            bizLocation={"id": "urn:epc:id:sgln:4012345.00009.0"},
        )
    )
    unsigned = [d for o, s, d in master_report(site) if s.endswith("4012345.00009.0")]
    assert unsigned
    assert "no signed version" in unsigned[0]


def test_an_honest_change_is_pending_then_proven_and_the_old_version_stays(site: Site) -> None:
    site.master.update_product(GTIN, temp_max_c=6.0)
    product = [c for c in master_report(site) if c[1] == f"product {GTIN}"]
    assert product == [
        (Outcome.PENDING, f"product {GTIN}", "matches signed version 2; not yet anchored")
    ]
    site.anchor()
    assert {o for o, *_ in master_report(site)} == {Outcome.OK}
    from traceability.anchoring.bundle import lot_bundle
    from traceability.masterdata.history import histories_from_bundle

    # An auditor with only the bundle reads both versions.
    history = histories_from_bundle(lot_bundle(site.store, site.ledger, GTIN, LOT))
    versions = history[f"product:{GTIN}"].versions
    assert [v.version.facts.fields["temp_max_c"] for v in versions] == [8, 6]
