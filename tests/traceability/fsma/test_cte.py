"""Which EPCIS event is which CTE (``traceability.fsma.cte``) and what an event says about
its lots (``traceability.fsma.lots``): pure, no records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from traceability.fsma.cte import COLUMNS, REQUIRED, cte_of
from traceability.fsma.lots import LotLine, lot_lines
from traceability.fsma.row import MasterData, rows_of

LGTIN = "urn:epc:class:lgtin:0614141.011111.GV0601"
CASE = "urn:epc:id:sgtin:0614141.011111.7"
PALLET = "urn:epc:id:sscc:0614141.1234567890"


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


def test_every_required_kde_is_a_column() -> None:
    assert {kde for needed in REQUIRED.values() for kde in needed} <= set(COLUMNS)


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
