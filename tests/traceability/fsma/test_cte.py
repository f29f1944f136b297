"""Which EPCIS event is which CTE (``traceability.fsma.cte``) and what an event says about
its lots (``traceability.fsma.lots``): pure, no records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from traceability.fsma.cte import COLUMNS, NOT_HELD, REQUIRED, Cte, cte_of
from traceability.fsma.lots import LotLine, lot_lines
from traceability.fsma.origin import OriginEvent
from traceability.fsma.row import MasterData, Row, rows_of
from traceability.records.entities import Product
from traceability.records.locations import Location

LGTIN = "urn:epc:class:lgtin:0614141.011111.GV0601"
CASE = "urn:epc:id:sgtin:0614141.011111.7"
PALLET = "urn:epc:id:sscc:0614141.1234567890"
GTIN = "00614141111114"
KEY = (GTIN, "GV0601")
FARM = "urn:epc:id:sgln:0614141.00001.0"
FIELD = "urn:epc:id:sgln:0614141.00001.7"
DOCK = "urn:epc:id:sgln:0614141.00002.3"


@pytest.mark.parametrize(
    ("event", "cte"),
    [
        ({"type": "ObjectEvent", "bizStep": "shipping"}, "shipping"),
        ({"type": "ObjectEvent", "bizStep": "urn:epcglobal:cbv:bizstep:shipping"}, "shipping"),
        (
            {"type": "TransactionEvent", "bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"},
            "receiving",
        ),
        ({"type": "TransformationEvent", "bizStep": "commissioning"}, "transformation"),
        ({"type": "TransformationEvent"}, "transformation"),
        ({"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning"}, "initial_packing"),
        ({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "commissioning"}, None),
        ({"type": "ObjectEvent", "bizStep": "urn:tracehub:cte:cooling"}, "cooling"),
        (
            {"type": "ObjectEvent", "bizStep": "urn:tracehub:cte:first_land_based_receiving"},
            "first_land_based_receiving",
        ),
        ({"type": "ObjectEvent", "bizStep": "urn:gdst:bizstep:farmharvest"}, "harvesting"),
        (
            {"type": "ObjectEvent", "bizStep": "urn:gdst:bizstep:landing"},
            "first_land_based_receiving",
        ),
        ({"type": "ObjectEvent", "bizStep": "arriving"}, None),
        ({"type": "ObjectEvent", "bizStep": "storing"}, None),
        ({"type": "ObjectEvent", "bizStep": "urn:tracehub:cte:unknown"}, None),
        ({"type": "ObjectEvent"}, None),
    ],
)
def test_the_cte_of_an_event(event: dict[str, Any], cte: str | None) -> None:
    assert cte_of(event) == cte


def test_every_required_kde_is_a_column_or_named_as_not_held() -> None:
    assert {kde for needed in REQUIRED.values() for kde in needed} <= set(COLUMNS)
    assert set(NOT_HELD) <= set(REQUIRED)
    assert not {kde for held in NOT_HELD.values() for kde in held} & set(COLUMNS)


def test_lots_from_classes_units_and_a_pallet() -> None:
    event = {
        "type": "ObjectEvent",
        "epcList": [CASE, "urn:epc:id:sgtin:0614141.011111.8", PALLET, "urn:epc:id:sgtin:x"],
        "quantityList": [
            {"epcClass": LGTIN, "quantity": 12.5, "uom": "KGM"},
            {"epcClass": LGTIN, "quantity": 2.5, "uom": "KGM"},
            {"epcClass": "urn:epc:idpat:sgtin:0614141.011111.*", "quantity": 4},
            {"epcClass": "urn:epc:class:lgtin:0614141.022222.X1"},
        ],
    }
    carried = {PALLET: [("00614141222223", "FC1"), ("00614141222223", "FC1"), (None, None)]}
    lines = lot_lines(event, {("00614141111114", "7"): "GV0601"}, carried)
    assert lines == (
        LotLine(gtin="00614141111114", lot="GV0601", role="", quantity=1.0, uom="EA"),
        LotLine(gtin="00614141111114", lot=None, role="", quantity=1.0, uom="EA"),
        LotLine(gtin="00614141222223", lot="FC1", role="", quantity=2.0, uom="EA"),
        LotLine(gtin=None, lot=None, role="", quantity=1.0, uom="EA"),
        LotLine(gtin="00614141111114", lot="GV0601", role="", quantity=15.0, uom="KGM"),
        LotLine(gtin="00614141222223", lot="X1", role="", quantity=None, uom=None),
    )


def test_a_transformation_names_inputs_and_outputs_and_a_parent_its_content() -> None:
    transformation = {
        "type": "TransformationEvent",
        "inputEPCList": [CASE],
        "outputQuantityList": [{"epcClass": LGTIN, "quantity": 3}],
    }
    assert [(line.role, line.lot) for line in lot_lines(transformation, {}, {})] == [
        ("input", None),
        ("output", "GV0601"),
    ]
    unpacked = {"type": "AggregationEvent", "action": "DELETE", "parentID": PALLET}
    held = {PALLET: [("00614141222223", "FC1")]}
    assert [(line.lot, line.quantity) for line in lot_lines(unpacked, {}, held)] == [("FC1", 1.0)]
    listed = {**unpacked, "childEPCs": [CASE]}  # its children are named: they count, not all
    assert [(line.lot, line.quantity) for line in lot_lines(listed, {}, held)] == [(None, 1.0)]


def test_a_transformation_naming_no_lot_is_one_row_of_what_it_lacks() -> None:
    event = {
        "type": "TransformationEvent",
        "eventTime": "2026-06-03T08:00:00Z",
        "transformationID": "urn:uuid:0d2b3c4e-1111-4222-8333-944445555666",
    }
    [row] = rows_of(
        "e1", event, datetime(2026, 6, 3, 8, tzinfo=UTC), "transformation", (), MasterData()
    )
    assert (row.role, row.day) == ("", date(2026, 6, 3))
    assert row.missing[:2] == ("Traceability Lot Code", "Traceability Lot Code Source")
    assert cte_of({"type": "ObjectEvent", "bizStep": "urn:tracehub:cte:transformation"}) is None


def _rows(event: dict[str, Any], cte: Cte, master: MasterData) -> list[Row]:
    line = LotLine(gtin=GTIN, lot="GV0601", role="", quantity=10.0, uom="KGM")
    moment = datetime(2026, 6, 1, 8, tzinfo=UTC)
    return rows_of("e1", event, moment, cte, (line,), master)


def test_a_location_description_names_what_the_records_do_not_hold() -> None:
    """21 CFR 1.1310: business name, phone, and address or coordinates."""
    located = Location(
        urn=FARM, name="Farm", kind="site", latitude=36.6777, longitude=-121.6555, country="US"
    )
    bare = Location(urn=DOCK, name="Dock", kind="dock_door")
    master = MasterData(locations={FARM: located, DOCK: bare}, tlc_sources={KEY: FARM})
    event = {"type": "ObjectEvent", "bizStep": "shipping", "readPoint": {"id": DOCK}}
    [row] = _rows(
        {**event, "destinationList": [{"type": "location", "destination": FARM}]},
        "shipping",
        master,
    )
    assert row.tlc_source == f"Farm ({FARM}); geo 36.6777,-121.6555; country US"
    assert row.location == f"Dock ({DOCK})"
    assert row.product is None  # no product in the records
    assert row.missing[:4] == (
        "Traceability Lot Code Source: phone",
        "Product Description",
        "Location Description: phone, address or coordinates",
        "Immediate Subsequent Recipient: phone",
    )
    named = MasterData(products={GTIN: Product(gtin=GTIN, name="Romaine")})
    [with_product] = _rows(event, "shipping", named)
    assert "Product Description: brand, commodity, variety, pack size and style" in (
        with_product.missing
    )


def test_ilmd_harvest_dates_fill_a_packing_and_a_landing() -> None:
    ilmd = {"cbvmda:harvestStartDate": "2026-05-30", "cbvmda:harvestEndDate": "2026-06-01T04:00Z"}
    event = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "ilmd": ilmd}
    [packed] = _rows(event, "initial_packing", MasterData())
    assert packed.harvest_date == "2026-05-30/2026-06-01"  # an ISO 8601 interval
    assert "Harvest Date" not in packed.missing
    assert "Harvest Location Description" in packed.missing
    one_day = {**event, "ilmd": {"cbvmda:harvestStartDate": "2026-05-30T22:00:00-07:00"}}
    [landed] = _rows(one_day, "first_land_based_receiving", MasterData())
    assert landed.harvest_date == "2026-05-30"
    assert "Harvest Location Description" in landed.missing
    assert (
        _rows(
            {**event, "ilmd": {"cbvmda:harvestStartDate": "May 30"}},
            "initial_packing",
            MasterData(),
        )[0].harvest_date
        is None
    )


def test_a_harvest_names_its_field_and_a_packing_the_latest_harvest_before_it() -> None:
    harvest = {"type": "ObjectEvent", "readPoint": {"id": FARM}, "bizLocation": {"id": FIELD}}
    assert _rows(harvest, "harvesting", MasterData())[0].field == FIELD
    assert (
        _rows({**harvest, "bizLocation": {"id": FARM}}, "harvesting", MasterData())[0].field is None
    )
    seen = [
        OriginEvent(
            key=KEY,
            cte="harvesting",
            moment=datetime(2026, 5, d, tzinfo=UTC),
            read_point=FARM,
            biz_location=FIELD if d == 30 else None,
        )
        for d in (29, 30)
    ]
    later = OriginEvent(
        key=KEY,
        cte="cooling",
        moment=datetime(2026, 6, 2, tzinfo=UTC),
        read_point=DOCK,
        biz_location=None,
    )
    master = MasterData(origins={KEY: [*seen, later]})
    [packed] = _rows({"type": "ObjectEvent"}, "initial_packing", master)
    assert (packed.harvest_location, packed.field, packed.harvest_date) == (
        FARM,
        FIELD,
        "2026-05-30",
    )
    assert (packed.cooling_location, packed.cooling_date) == (None, None)  # after the packing
    assert "Cooling Date (if cooled)" in packed.missing
