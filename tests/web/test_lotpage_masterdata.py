"""The lot page against master data edited in SQL: a changed fact is never shown under
"On chain"; places show the anchored version valid at the stay; an honest change is
pending until anchored. Real SQLite and PostgreSQL, real py-evm."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.masterdata import Site, database_url
from tests.support.webapp import PAGE, app_for, make_client, text_of
from traceability.anchoring.feeder import EventLeaves
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.records.locations import Location


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Site, Clock]]:
    clock = Clock()
    with database_url(request.param, tmp_path, request) as url:
        opened = Site(url, clock=clock)
        opened.master.add_product(
            GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0, excursion_budget_min=60.0
        )
        opened.master.add_lot(
            GTIN, "L1", expiry=date(2027, 11, 1), origin="Marburg, DE", serials=range(1001, 1003)
        )
        for urn, name in ((DOCK, "Dock door 1"), (COLD_ROOM, "Cold room 1")):
            opened.master.add_location(Location(urn=urn, name=name, kind="cold_room", country="DE"))
        capture = CaptureService(opened.store, ledger=EventLeaves(opened.ledger, opened.signer))
        for time, place in (("2026-11-22T09:00:00Z", DOCK), ("2026-11-22T11:00:00Z", COLD_ROOM)):
            capture.capture(object_event(time=time, read_point=place, bizLocation={"id": place}))
        opened.anchor()
        yield opened, clock
        opened.close()


def page(site: Site) -> str:
    evidence = LedgerEvidence(site.store, site.ledger, site.signer)
    with make_client(app_for(site.store, evidence=evidence)) as client:
        response = client.get(PAGE)
    assert response.status_code == 200
    return str(response.text)


def test_honest_master_data_is_shown_without_marks(site: tuple[Site, Clock]) -> None:
    html = page(site[0])
    assert 'id="not-proven"' not in html
    assert "data-fact=" not in html
    assert text_of(html, "anchor-short") == "On chain"


@pytest.mark.parametrize(
    ("statement", "field", "shown"),
    [
        ("UPDATE products SET temp_max_c = 25", "temp_max_c", "25.0"),
        ("UPDATE products SET excursion_budget_min = 10000", "excursion_budget_min", "10000.0"),
        ("UPDATE lots SET expiry = '2031-11-01'", "expiry", "2031-11-01"),
        ("UPDATE lots SET origin = 'Elsewhere'", "origin", "Elsewhere"),
        ("UPDATE lots SET production_date = '2026-01-01'", "production_date", "2026-01-01"),
        (f"UPDATE locations SET country = 'XX' WHERE urn = '{COLD_ROOM}'", "country", "XX"),
    ],
)
def test_a_fact_changed_in_sql_is_marked_not_proven(
    site: tuple[Site, Clock], statement: str, field: str, shown: str
) -> None:
    store = site[0]
    store.sql(statement)
    html = page(store)
    assert text_of(html, "anchor-short") == "Partly on chain"
    listed = text_of(html, "not-proven")
    assert "changed since anchoring: not proven" in listed
    assert shown in listed
    assert f'data-field="{field}" data-state="changed"' in html


def test_a_renamed_place_keeps_its_anchored_name_on_the_journey(site: tuple[Site, Clock]) -> None:
    store = site[0]
    store.sql(f"UPDATE locations SET name = 'Back yard' WHERE urn = '{COLD_ROOM}'")
    html = page(store)
    journey = text_of(html, "journey")
    assert "Cold room 1" in journey
    assert "Back yard" not in journey
    assert 'data-field="name" data-state="changed"' in html


def test_an_honest_change_is_pending_then_proven_at_the_time_of_the_stay(
    site: tuple[Site, Clock],
) -> None:
    store, clock = site
    clock.now = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)  # before the cold-room stay
    store.master.update_location(COLD_ROOM, name="Cold room 1 (rebuilt)")
    store.master.update_lot(GTIN, "L1", expiry=date(2027, 10, 1))
    pending = page(store)
    assert "Cold room 1 (rebuilt)" not in text_of(pending, "journey")  # not anchored yet
    assert 'data-field="name" data-state="pending"' in pending
    assert "not yet anchored" in text_of(pending, "expiry-date")
    store.anchor()
    proven = page(store)
    assert 'id="not-proven"' not in proven
    assert "Cold room 1 (rebuilt)" in text_of(proven, "journey")  # valid at 11:00
    assert "Dock door 1" in text_of(proven, "journey")
    assert text_of(proven, "expiry-date") == "2027-10-01"
