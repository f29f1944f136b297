"""``Fsma204Export`` over a real records store (SQLite) holding a captured salad chain: the
rows cell by cell against the hand-written ones, a lot's trace one step back and forward,
the window by local day, declared errors, and the bound on work."""

from __future__ import annotations

from datetime import date

import pytest

from tests.traceability.fsma.conftest import (
    CHOPPED,
    EVENTS,
    FARM,
    FIELD,
    PACKHOUSE,
    PRODUCT_GAP,
    ROMAINE,
    add_master_data,
    capture_chain,
    chain_events,
    described,
    document,
    expected_rows,
)
from traceability.capture import CaptureService
from traceability.fsma.cte import COLUMNS
from traceability.fsma.errors import ExportRefused
from traceability.fsma.export import Fsma204Export
from traceability.fsma.row import Row
from traceability.fsma.sheet import csv_text
from traceability.records.store import RecordStore

FROM, TO = date(2026, 6, 1), date(2026, 6, 4)


def cells(rows: list[Row]) -> list[list[str]]:
    return [[csv_text(value) for value in row.cells()] for row in rows]


def test_every_cte_of_the_window_is_a_row_with_its_kdes(
    store: RecordStore, chain: dict[str, str]
) -> None:
    rows = Fsma204Export(store).rows(FROM, TO)
    assert cells(rows) == expected_rows(chain)
    # not CTEs: storing, the pallet's packing; outside the window: the store's receiving
    exported = {row.event_id for row in rows}
    assert {chain["store_gv"], chain["pallet"], chain["receive_store"]}.isdisjoint(exported)


def test_a_product_gives_only_its_lots(store: RecordStore, chain: dict[str, str]) -> None:
    rows = Fsma204Export(store).rows(FROM, TO, product=CHOPPED)
    assert cells(rows) == [r for r in expected_rows(chain) if r[1] == CHOPPED]


def test_a_lots_trace_is_its_ctes_its_inputs_and_what_was_made_of_it(
    store: RecordStore, chain: dict[str, str]
) -> None:
    every = expected_rows(chain)
    fresh_cut = Fsma204Export(store).rows(FROM, TO, product=CHOPPED, lot="FC0603")
    assert [(r.tlc, r.trace) for r in fresh_cut] == [
        *[("FC0603", "traced lot FC0603")] * 4,
        *[("GV0601", "step back: went into FC0603")] * 6,
    ]
    # the same cells as the whole export, but the trace column; GV0599 went into nothing
    t = COLUMNS.index("Trace")
    assert [c[:t] + c[t + 1 :] for c in cells(fresh_cut)] == [
        r[:t] + r[t + 1 :] for r in every if r[0] in ("FC0603", "GV0601")
    ]
    romaine = Fsma204Export(store).rows(FROM, TO, lot="GV0601")
    assert [(r.tlc, r.trace) for r in romaine] == [
        *[("FC0603", "step forward: made from GV0601")] * 4,
        *[("GV0601", "traced lot GV0601")] * 6,
    ]
    assert Fsma204Export(store).rows(FROM, TO, product=CHOPPED, lot="GV0601") == []


def test_the_window_is_the_events_local_days(store: RecordStore, chain: dict[str, str]) -> None:
    last_day = Fsma204Export(store).rows(TO, TO)
    # 22:30 on 4 June at the DC is 05:30 UTC on 5 June: it is 4 June's
    assert [r.event_id for r in last_day] == [chain["receive_fc"], chain["ship_store"]]
    assert [r.day for r in Fsma204Export(store).rows(date(2026, 6, 5), date(2026, 6, 5))] == [
        date(2026, 6, 5)
    ]


def test_an_event_declared_erroneous_is_left_out(store: RecordStore, chain: dict[str, str]) -> None:
    cooling = chain_events()[EVENTS.index("cooling")]
    declared = {
        **cooling,
        "errorDeclaration": {"declarationTime": "2026-06-05T09:00:00Z", "reason": "did_not_occur"},
    }
    report = CaptureService(store).capture_document(document([declared]))
    assert report.ok, report.errors
    rows = Fsma204Export(store).rows(FROM, TO)
    assert chain["cooling"] not in {r.event_id for r in rows}
    assert len(rows) == len(expected_rows(chain)) - 1


def test_more_ctes_than_the_bound_refuse_the_export(
    store: RecordStore, chain: dict[str, str]
) -> None:
    with pytest.raises(ExportRefused) as refused:
        Fsma204Export(store, max_events=5).rows(FROM, TO)
    assert refused.value.field == "to"
    assert "more than 5 CTE events" in str(refused.value)
    assert len(Fsma204Export(store, max_events=12).rows(FROM, TO)) == 11


def test_a_window_that_ends_before_it_starts_is_refused(store: RecordStore) -> None:
    with pytest.raises(ExportRefused, match=r"^to: "):
        Fsma204Export(store).rows(TO, FROM)


def test_the_tlc_source_is_found_outside_the_window(
    store: RecordStore, chain: dict[str, str]
) -> None:
    """The lot was packed on 1 June; a request for 2 June still names where."""
    rows = Fsma204Export(store).rows(date(2026, 6, 2), date(2026, 6, 2), product=ROMAINE)
    shipped = next(r for r in rows if r.event_id == chain["ship_gv"])
    assert shipped.tlc_source == described(PACKHOUSE)
    # the source is found: only what its description lacks is named
    assert [m for m in shipped.missing if m.startswith("Traceability Lot Code Source")] == [
        "Traceability Lot Code Source: phone, address or coordinates"
    ]


def test_an_empty_store_gives_no_rows(store: RecordStore) -> None:
    assert Fsma204Export(store).rows(FROM, TO) == []
    with pytest.raises(ValueError, match="max_events"):
        Fsma204Export(store, max_events=0)


def test_a_cte_naming_no_known_lot_is_listed_with_what_it_lacks(store: RecordStore) -> None:
    ids = capture_chain(store)  # the chain, and no master data at all
    rows = Fsma204Export(store).rows(FROM, TO)
    pallet_receipt = next(r for r in rows if r.event_id == ids["receive_fc"])
    # the pallet's cases are not registered units: their GTIN is known, their lot is not
    assert (pallet_receipt.gtin, pallet_receipt.tlc, pallet_receipt.quantity) == (CHOPPED, None, 3)
    assert pallet_receipt.missing[:3] == (
        "Traceability Lot Code",
        "Traceability Lot Code Source",
        "Product Description",
    )


def test_a_packing_names_its_harvest_and_cooling_from_before_the_window(
    store: RecordStore,
) -> None:
    """§1.1330: the packer's row carries the lot's harvest and cooling, read from the
    records when they happened before the window."""
    add_master_data(store)
    harvest, cooling, packing = chain_events()[:3]
    early = [
        {**harvest, "eventTime": "2026-05-30T07:00:00-07:00"},
        {**cooling, "eventTime": "2026-05-31T09:30:00-07:00"},
        packing,
    ]
    report = CaptureService(store).capture_document(document(early))
    assert report.ok, report.errors
    [packed] = Fsma204Export(store).rows(FROM, TO)
    assert (packed.cte, packed.harvest_location, packed.field) == (
        "initial_packing",
        described(FARM),
        described(FIELD),
    )
    assert (packed.harvest_date, packed.cooling_location, packed.cooling_date) == (
        "2026-05-30",
        described(PACKHOUSE),
        "2026-05-31",
    )


def test_a_packing_without_its_harvest_in_the_records_says_so(store: RecordStore) -> None:
    add_master_data(store)
    report = CaptureService(store).capture_document(document([chain_events()[2]]))
    assert report.ok, report.errors
    [packed] = Fsma204Export(store).rows(FROM, TO)
    assert packed.missing == (
        "Traceability Lot Code Source: phone, address or coordinates",
        PRODUCT_GAP,
        "Location Description: phone, address or coordinates",
        "Harvest Location Description",
        "Field or Growing Area",
        "Harvest Date",
        "Cooling Location Description (if cooled)",
        "Cooling Date (if cooled)",
        "Commodity and Variety Received",
        "Date Received",
        "Harvester Business Name and Phone",
        "Quantity Received",
    )
