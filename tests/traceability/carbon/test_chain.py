"""Bad footprint input is rejected with the JSON path of the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from traceability.carbon.chain import parse_lot_input
from traceability.carbon.errors import CarbonInputError

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon" / "lot_l1.json"


def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def leg(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["shipments"][0]["legs"][0]
    return result


def test_the_example_document_parses() -> None:
    lot = parse_lot_input(document())
    assert (lot.gtin, lot.lot, lot.units) == ("04012345111118", "L2026-11A", 1000)
    assert lot.factors[0].origin == "primary"


def test_a_leg_with_no_mass_is_rejected() -> None:
    data = document()
    del leg(data)["payload_kg"]
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == "shipments[0].legs[0].payload_kg"
    assert str(caught.value) == "shipments[0].legs[0].payload_kg: required"


def test_a_leg_with_zero_mass_is_rejected() -> None:
    data = document()
    leg(data)["payload_kg"] = 0
    with pytest.raises(CarbonInputError, match=r"legs\[0\]\.payload_kg: .*greater than 0"):
        parse_lot_input(data)


def test_an_unknown_mode_is_rejected() -> None:
    data = document()
    leg(data)["mode"] = "hovercraft"
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == "shipments[0].legs[0].mode"
    assert "'road'" in caught.value.reason


def test_a_negative_distance_is_rejected() -> None:
    data = document()
    leg(data)["distance_km"] = -5
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == "shipments[0].legs[0].distance_km"
    assert "greater than or equal to 0" in caught.value.reason


def test_a_primary_factor_without_a_source_is_rejected() -> None:
    data = document()
    del data["factors"][0]["source"]
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == "factors[0].source"


def test_a_primary_factor_with_a_blank_source_is_rejected() -> None:
    data = document()
    data["factors"][0]["source"] = " "
    with pytest.raises(CarbonInputError, match=r"factors\[0\]\.source: required"):
        parse_lot_input(data)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            {"distance_km": None, "origin": {"lat": 53.5, "lon": 10.0}},
            "shipments[0].legs[0].origin",
            "both origin and destination",
        ),
        (
            {
                "distance_km": None,
                "origin": {"lat": 53.5, "lon": 10.0},
                "destination": {"lat": 52.5, "lon": 13.4},
            },
            "shipments[0].legs[0].detour_factor",
            "required with coordinates",
        ),
        ({"distance_km": None}, "shipments[0].legs[0].distance_km", "give distance_km"),
        ({"detour_factor": 1.2}, "shipments[0].legs[0].detour_factor", "only applies"),
        ({"vehicle_class": None}, "shipments[0].legs[0].vehicle_class", "or factor_id"),
        ({"detour_factor": 0.9, "distance_km": None}, "shipments[0].legs[0].detour_factor", ""),
    ],
)
def test_leg_consistency(change: dict[str, Any], field: str, reason: str) -> None:
    data = document()
    leg(data).update(change)
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_stay_end_before_start_and_bad_country() -> None:
    data = document()
    data["stays"][0]["end"] = data["stays"][0]["start"]
    with pytest.raises(CarbonInputError, match=r"^stays\[0\]\.end: must be after start"):
        parse_lot_input(data)
    data = document()
    data["stays"][0]["country"] = "Germany"
    with pytest.raises(CarbonInputError, match=r"^stays\[0\]\.country: .*alpha-2"):
        parse_lot_input(data)


def test_stay_times_must_carry_a_zone() -> None:
    data = document()
    data["stays"][0]["start"] = "2026-11-20T00:00:00"
    with pytest.raises(CarbonInputError, match=r"^stays\[0\]\.start: .*timezone"):
        parse_lot_input(data)


def test_room_share_cannot_exceed_the_room() -> None:
    data = document()
    data["stays"][0]["share"] = {"basis": "pallet_positions", "part": 70, "room": 60}
    with pytest.raises(CarbonInputError, match=r"^stays\[0\]\.share\.part: cannot exceed"):
        parse_lot_input(data)


def test_a_shipment_must_list_the_lot() -> None:
    data = document()
    data["shipments"][0]["lots"] = data["shipments"][0]["lots"][1:]
    with pytest.raises(CarbonInputError) as caught:
        parse_lot_input(data)
    assert caught.value.field == "shipments[0].lots"


def test_duplicate_stay_ids_are_rejected() -> None:
    data = document()
    data["shipments"][0]["stays"] = [copy.deepcopy(data["stays"][0])]
    with pytest.raises(CarbonInputError, match=r"^stays: .*stay-wh1-cold1"):
        parse_lot_input(data)


def test_unknown_fields_are_rejected_not_ignored() -> None:
    data = document()
    leg(data)["payload_kgs"] = 5
    with pytest.raises(CarbonInputError, match=r"legs\[0\]\.payload_kgs"):
        parse_lot_input(data)
