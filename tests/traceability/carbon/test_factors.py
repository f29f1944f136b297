"""The shipped factor table, factor validation and primary factors."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from traceability.carbon.errors import FactorError
from traceability.carbon.factors import (
    EmissionFactor,
    FactorKind,
    FactorTable,
    load_default_factors,
    parse_factor,
    read_factor_csv,
)

DATA = Path(__file__).parents[3] / "traceability" / "carbon" / "data" / "emission_factors.csv"


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "carrier-x-reefer-truck",
        "kind": "transport",
        "mode": "road",
        "vehicle_class": "artic-40t",
        "temperature_controlled": "yes",
        "value": 88.0,
        "unit": "g CO2e/t-km",
        "scope": "WTW",
        "source": "Carrier X fleet report",
        "edition": "2025",
        "citation": "https://carrier.example/report-2025.pdf p.4",
    }
    return base | changes


def test_every_shipped_row_is_cited_and_loads() -> None:
    table = load_default_factors()
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(table.factors) == len(rows) > 40
    for factor in table.factors:
        assert factor.origin == "default"
        assert all((factor.source, factor.edition, factor.citation))


def test_shipped_values_match_the_glec_rows_they_cite() -> None:
    # Spot checks against GLEC v3.0 Module 2 as filed in the reference data.
    table = load_default_factors()
    expected = {
        "glec3-road-eu-artic-40t-diesel": (95.0, "g CO2e/t-km", "WTW"),
        "glec3-road-eu-van-diesel": (803.0, "g CO2e/t-km", "WTW"),
        "glec3-road-uplift-temperature-heavy": (12.0, "%", "WTW"),
        "glec3-road-uplift-temperature-van": (15.0, "%", "WTW"),
        "glec3-hub-storage-transshipment-mixed": (4.0, "kg CO2e/t", "WTW"),
        "glec3-sea-container-asia-north-europe-reefer": (128.7, "g CO2e/TEU-km", "WTW"),
        "glec3-grid-eu27-2019": (97.0, "g CO2e/MJ", "WTW"),
        "glec3-gwp-r-404a": (4728.0, "kg CO2e/kg", "na"),
    }
    for factor_id, (value, unit, scope) in expected.items():
        factor = table.get(factor_id)
        assert factor is not None, factor_id
        assert (factor.value, factor.unit, factor.scope.value) == (value, unit, scope)


def test_unit_conversion_to_base_units() -> None:
    table = load_default_factors()
    grid = table.get("glec3-grid-eu27-2019")
    assert grid is not None
    assert grid.kg_per_base_unit == pytest.approx(97.0 * 3.6 / 1000)  # 0.3492 kg/kWh
    assert grid.base_unit == "kg CO2e/kWh"
    truck = table.get("glec3-road-eu-artic-40t-diesel")
    assert truck is not None
    assert truck.kg_per_base_unit == pytest.approx(0.095)


@pytest.mark.parametrize("field", ["source", "edition", "citation"])
def test_a_factor_without_a_source_is_rejected_naming_the_field(field: str) -> None:
    with pytest.raises(FactorError) as caught:
        parse_factor(row(**{field: "  "}), "factors[0]", "primary")
    assert caught.value.field == f"factors[0].{field}"
    assert "source" in str(caught.value)


def test_a_factor_missing_its_source_column_is_rejected() -> None:
    data = row()
    del data["source"]
    with pytest.raises(FactorError, match=r"factors\[2\]\.source"):
        parse_factor(data, "factors[2]", "primary")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit": "kg CO2e/mile"}, "factors[0]"),
        ({"value": -1.0}, "factors[0].value"),
        ({"kind": "teleport"}, "factors[0].kind"),
        ({"scope": "cradle"}, "factors[0].scope"),
        ({"id": "Bad Id"}, "factors[0].id"),
    ],
)
def test_bad_factor_rows_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(FactorError) as caught:
        parse_factor(row(**changes), "factors[0]", "primary")
    assert caught.value.field == field


def test_csv_errors_name_the_line() -> None:
    text = "id,kind,mode,value,unit,scope,source,edition,citation\n" + (
        "a,transport,road,1,g CO2e/t-km,WTW,,2024,x\n"
    )
    with pytest.raises(FactorError, match=r"mine\.csv line 2\.source"):
        read_factor_csv(text, "mine.csv", "default")


def test_primary_factor_wins_over_default_and_is_marked() -> None:
    table = load_default_factors().with_primary([row(temperature_controlled="no")])
    found = table.find(FactorKind.TRANSPORT, "road", "artic-40t")
    assert found is not None
    assert (found.id, found.origin) == ("carrier-x-reefer-truck", "primary")


def test_primary_factor_cannot_reuse_a_default_id() -> None:
    with pytest.raises(FactorError, match=r"factors\[0\]\.id"):
        load_default_factors().with_primary([row(id="glec3-road-eu-artic-40t-diesel")])


def test_two_primary_factors_for_one_class_are_ambiguous() -> None:
    table = FactorTable(factors=()).with_primary([row(), row(id="carrier-y")])
    with pytest.raises(FactorError, match="name one by factor_id"):
        table.find(FactorKind.TRANSPORT, "road", "artic-40t")


def test_grid_falls_back_to_eu27_for_members_and_says_so() -> None:
    table = load_default_factors()
    found = table.grid("DE")
    assert found is not None
    factor, note = found
    assert factor.id == "glec3-grid-eu27-2019"
    assert "EU-27 average used" in note
    assert table.grid("GB") is None  # not an EU member: no silent fallback
    us = table.grid("US")
    assert us is not None
    assert us[0].id == "glec3-grid-us-2019"


def test_primary_grid_factor_for_the_country_wins() -> None:
    mine = row(
        id="de-supplier-2025",
        kind="grid",
        mode="electricity",
        vehicle_class="",
        region="DE",
        value=0.12,
        unit="kg CO2e/kWh",
    )
    factor, note = load_default_factors().with_primary([mine]).grid("DE") or (None, "")
    assert isinstance(factor, EmissionFactor)
    assert (factor.id, factor.origin, note) == ("de-supplier-2025", "primary", "grid factor for DE")
