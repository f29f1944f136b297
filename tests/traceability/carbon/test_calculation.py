"""Each component by hand, then the example lot number by number.

Factors (GLEC v3.0, from the shipped table): articulated truck up to 40 t 95 g/t-km WTW;
temperature-control uplift 12 % (heavier vehicles) and 15 % (vans); van 803 g/t-km;
EU rail electric 7 g/t-km; Asia-North Europe reefer container 128.7 g/TEU-km; hub
storage + transshipment mixed 4.0 kg/t; EU-27 grid 97.0 g/MJ = 0.3492 kg/kWh;
R-404A GWP100 (AR6) 4728.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from traceability.carbon.calculation import (
    hub_item,
    leg_item,
    lot_footprint,
    packaging_item,
    stay_items,
)
from traceability.carbon.chain import (
    ColdStorageStay,
    HubActivity,
    Leg,
    Packaging,
    parse_lot_input,
)
from traceability.carbon.energy import EnergyReading, PowerSample, integrate_kwh
from traceability.carbon.errors import (
    CarbonInputError,
    FactorError,
    FactorNotFound,
    InsufficientTelemetry,
)
from traceability.carbon.factors import FactorTable, load_default_factors

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon" / "lot_l1.json"
DAY_START = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def table() -> FactorTable:
    return load_default_factors()


def road_leg(**changes: Any) -> Leg:
    base: dict[str, Any] = {
        "id": "leg-1",
        "mode": "road",
        "vehicle_class": "artic-40t",
        "distance_km": 250,
        "payload_kg": 12000,
    }
    return Leg.model_validate(base | changes)


def test_leg_is_distance_times_mass_times_factor(table: FactorTable) -> None:
    item = leg_item(road_leg(), table, "leg")
    assert item.kg_co2e == pytest.approx(285.0)  # 250 km × 12 t × 0.095 kg/t-km
    assert item.inputs["transportActivityTkm"] == 3000
    assert item.factor_ids == ("glec3-road-eu-artic-40t-diesel",)


def test_reefer_uplift_heavy_vehicle(table: FactorTable) -> None:
    item = leg_item(road_leg(temperature_controlled=True), table, "leg")
    assert item.kg_co2e == pytest.approx(319.2)  # 285 × 1.12
    assert item.factor_ids[1] == "glec3-road-uplift-temperature-heavy"
    assert item.inputs["uplift"] == pytest.approx(0.12)


def test_reefer_uplift_van(table: FactorTable) -> None:
    leg = road_leg(vehicle_class="van", distance_km=40, payload_kg=500, temperature_controlled=True)
    # 40 km × 0.5 t × 0.803 = 16.06; × 1.15 = 18.469
    assert leg_item(leg, table, "leg").kg_co2e == pytest.approx(18.469)


def test_detour_factor_on_great_circle(table: FactorTable) -> None:
    leg = Leg.model_validate(
        {
            "id": "rail-1",
            "mode": "rail",
            "vehicle_class": "eu-electric",
            "origin": {"lat": 0, "lon": 0},
            "destination": {"lat": 0, "lon": 1},
            "detour_factor": 1.2,
            "payload_kg": 10000,
        }
    )
    item = leg_item(leg, table, "leg")
    # 111.19508 km × 1.2 = 133.43410 km; × 10 t × 0.007 kg/t-km = 0.934039 kg ... × 10
    assert item.inputs["greatCircleKm"] == pytest.approx(111.19508, abs=1e-5)
    assert item.inputs["distanceKm"] == pytest.approx(133.43410, abs=1e-5)
    assert item.kg_co2e == pytest.approx(9.340387, abs=1e-6)
    assert item.inputs["distanceMethod"] == "great_circle_x_detour"


def test_teu_factor_uses_disclosed_tonnes_per_teu(table: FactorTable) -> None:
    leg = Leg.model_validate(
        {
            "id": "sea-1",
            "mode": "sea",
            "vehicle_class": "container-asia-north-europe-reefer",
            "temperature_controlled": True,
            "distance_km": 20000,
            "payload_kg": 5000,
        }
    )
    item = leg_item(leg, table, "leg")
    # 20000 km × (5 t / 10 t per TEU) × 0.1287 kg/TEU-km = 1287 kg, no uplift (reefer factor)
    assert item.kg_co2e == pytest.approx(1287.0)
    assert item.inputs["uplift"] == 0
    assert "GLEC" in item.inputs["tonnesPerTeuOrigin"]
    given = leg_item(leg.model_copy(update={"tonnes_per_teu": 5.0}), table, "leg")
    assert given.kg_co2e == pytest.approx(2574.0)
    assert given.inputs["tonnesPerTeuOrigin"] == "given"


def test_reefer_on_a_mode_without_uplift_needs_a_reefer_factor(table: FactorTable) -> None:
    leg = road_leg(mode="sea", vehicle_class="container-asia-north-europe-dry")
    with pytest.raises(FactorNotFound) as caught:
        leg_item(leg.model_copy(update={"temperature_controlled": True}), table, "legs[0]")
    assert caught.value.field == "legs[0].temperature_controlled"


def test_ambient_leg_with_reefer_factor_is_rejected(table: FactorTable) -> None:
    leg = road_leg(vehicle_class="na-refrigerated")
    with pytest.raises(CarbonInputError, match=r"legs\[0\]\.temperature_controlled"):
        leg_item(leg, table, "legs[0]")


def test_unknown_vehicle_class_names_the_leg_and_lists_known(table: FactorTable) -> None:
    with pytest.raises(FactorNotFound, match=r"^legs\[0\]: no transport factor .*artic-40t"):
        leg_item(road_leg(vehicle_class="spaceship"), table, "legs[0]")


def test_non_wtw_factor_is_refused(table: FactorTable) -> None:
    mine = table.with_primary(
        [
            {
                "id": "ttw-only",
                "kind": "transport",
                "mode": "road",
                "vehicle_class": "x",
                "value": 70,
                "unit": "g CO2e/t-km",
                "scope": "TTW",
                "source": "s",
                "edition": "e",
                "citation": "c",
            }
        ]
    )
    with pytest.raises(FactorError, match=r"legs\[0\]\.factor_id: .*scope TTW"):
        leg_item(road_leg(vehicle_class=None, factor_id="ttw-only"), mine, "legs[0]")


def test_factor_id_of_the_wrong_kind_is_refused(table: FactorTable) -> None:
    leg = road_leg(vehicle_class=None, factor_id="glec3-hub-warehouse-ambient")
    with pytest.raises(CarbonInputError, match=r"legs\[0\]\.factor_id: .*hub factor"):
        leg_item(leg, table, "legs[0]")


def test_hub_throughput(table: FactorTable) -> None:
    hub = HubActivity(id="hub-1", hub_type="storage-transshipment-mixed", throughput_kg=12000)
    assert hub_item(hub, table, "hub").kg_co2e == pytest.approx(48.0)  # 12 t × 4.0 kg/t


def stay(**changes: Any) -> ColdStorageStay:
    base: dict[str, Any] = {
        "id": "stay-1",
        "site": "wh1",
        "location": "urn:epc:id:sgln:4012345.00002.0",
        "country": "DE",
        "start": DAY_START,
        "end": DAY_START + timedelta(days=1),
        "share": {"basis": "pallet_positions", "part": 6, "room": 60},
    }
    return ColdStorageStay.model_validate(base | changes)


def constant(kw: float, days: float = 1, window_days: float = 1) -> EnergyReading:
    """``kw`` sampled every 5 min for ``days``, integrated over ``window_days``."""
    samples = [
        PowerSample(time=DAY_START + timedelta(minutes=m), kw=kw)
        for m in range(0, int(days * 24 * 60), 5)
    ]
    return integrate_kwh(samples, DAY_START, DAY_START + timedelta(days=window_days))


def test_cold_storage_kwh_times_grid_times_share(table: FactorTable) -> None:
    [item] = stay_items(stay(), constant(10.0), table, "stays[0]")
    # 10 kW × 24 h = 240 kWh; × 0.3492 kg/kWh = 83.808 kg for the room; × 6/60 = 8.3808 kg
    assert item.inputs["roomKwh"] == pytest.approx(240.0)
    assert item.kg_co2e == pytest.approx(8.3808)
    assert item.allocation == "pallet_positions_x_time"
    assert "EU-27 average used" in item.inputs["gridFactorSelection"]


def test_refrigerant_leakage_prorated_and_allocated(table: FactorTable) -> None:
    leaky = stay(refrigerant={"refrigerant": "R-404A", "annual_leakage_kg": 8.76})
    _, item = stay_items(leaky, constant(10.0), table, "stays[0]")
    # 8.76 kg/yr × 24/8760 = 0.024 kg; × 4728 = 113.472; × 0.1 = 11.3472 kg
    assert item.kg_co2e == pytest.approx(11.3472)
    assert item.factor_ids == ("glec3-gwp-r-404a",)


def test_mass_basis_share(table: FactorTable) -> None:
    by_mass = stay(share={"basis": "mass", "part": 2000, "room": 50000})
    [item] = stay_items(by_mass, constant(10.0), table, "stays[0]")
    assert item.kg_co2e == pytest.approx(83.808 * 0.04)
    assert item.allocation == "mass_x_time"


def test_stay_without_telemetry_is_refused_not_zero(table: FactorTable) -> None:
    with pytest.raises(InsufficientTelemetry, match=r"^stays\[0\]: no compressor power"):
        stay_items(stay(), None, table, "stays[0]")
    empty = integrate_kwh([], DAY_START, DAY_START + timedelta(days=1))
    with pytest.raises(InsufficientTelemetry):
        stay_items(stay(), empty, table, "stays[0]")


def test_stay_with_poor_coverage_is_refused(table: FactorTable) -> None:
    # 1 day of samples, the last (23:55) holding 15 min: 24 h 10 min of 48 h = 50.3 %
    with pytest.raises(InsufficientTelemetry, match=r"covers 50\.3% of the stay"):
        stay_items(
            stay(end=DAY_START + timedelta(days=2)),
            constant(10.0, days=1, window_days=2),
            table,
            "stays[0]",
        )


def test_energy_for_another_window_is_refused(table: FactorTable) -> None:
    with pytest.raises(InsufficientTelemetry, match="not the stay"):
        stay_items(stay(end=DAY_START + timedelta(days=2)), constant(10.0), table, "stays[0]")


def test_country_without_grid_factor_is_refused(table: FactorTable) -> None:
    with pytest.raises(FactorNotFound, match=r"^stays\[0\]\.country: no grid factor for GB"):
        stay_items(stay(country="GB"), constant(10.0), table, "stays[0]")


def test_packaging_per_unit(table: FactorTable) -> None:
    mine = load_default_factors().with_primary(
        [json.loads(DATA.read_text(encoding="utf-8"))["factors"][0]]
    )
    packaging = Packaging(material="corrugated-board", mass_kg=0.05)
    item = packaging_item(packaging, 1000, mine, "packaging[0]")
    assert item.kg_co2e == pytest.approx(40.0)  # 1000 × 0.05 kg × 0.8 kg/kg
    with pytest.raises(FactorNotFound, match=r"^packaging\[0\]: no packaging factor"):
        packaging_item(packaging, 1000, table, "packaging[0]")


def test_example_lot_number_by_number(table: FactorTable) -> None:
    """lot_l1.json, by hand:

    lot's own stay: 240 kWh × 0.3492 × 6/60                      =   8.3808
    its refrigerant: 8.76 × 24/8760 × 4728 × 6/60                 =  11.3472
    shipment S-0001 (12 t, lot 6 t → mass share 0.5):
      leg-1: 250 km × 12 t × 0.095 × 1.12 = 319.2 → × 0.5         = 159.6
      hub-1: 12 t × 4.0 = 48.0 → × 0.5                            =  24.0
    packaging: 1000 × 0.05 kg × 0.8                               =  40.0
    total                                                          = 243.328
    per kg: 243.328 / 6000 = 0.040554667 → 0.040555; per unit: 0.243328
    """
    data = parse_lot_input(json.loads(DATA.read_text(encoding="utf-8")))
    footprint = lot_footprint(data, table, {"stay-wh1-cold1": constant(10.0)})
    by_id = {item.id: item for item in footprint.items}
    assert by_id["stay-wh1-cold1"].kg_co2e == pytest.approx(8.3808)
    assert by_id["stay-wh1-cold1:refrigerant"].kg_co2e == pytest.approx(11.3472)
    assert by_id["leg-1"].kg_co2e == pytest.approx(159.6)
    assert by_id["leg-1"].inputs["shipmentKgCo2e"] == pytest.approx(319.2)
    assert by_id["leg-1"].allocation_share == 0.5
    assert by_id["hub-1"].kg_co2e == pytest.approx(24.0)
    assert by_id["packaging:corrugated-board"].kg_co2e == pytest.approx(40.0)
    assert footprint.total_kg_co2e == pytest.approx(243.328)
    assert footprint.total_kg_co2e == round(sum(i.kg_co2e for i in footprint.items), 6)
    assert footprint.per_kg == 0.040555
    assert footprint.per_unit == pytest.approx(0.243328)
    [shipment] = footprint.shipments
    assert shipment.total_kg_co2e == pytest.approx(367.2)
    [allocation] = footprint.allocations
    assert (allocation.method, allocation.share) == ("mass", 0.5)
    used = {factor.id: factor.origin for factor in footprint.factors}
    assert used == {
        "glec3-grid-eu27-2019": "default",
        "glec3-gwp-r-404a": "default",
        "glec3-road-eu-artic-40t-diesel": "default",
        "glec3-road-uplift-temperature-heavy": "default",
        "glec3-hub-storage-transshipment-mixed": "default",
        "test-packaging-board": "primary",
    }


def test_missing_energy_for_a_shipment_stay_names_its_path(table: FactorTable) -> None:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    moved = raw["stays"].pop()
    raw["shipments"][0]["stays"] = [moved]
    data = parse_lot_input(raw)
    with pytest.raises(InsufficientTelemetry, match=r"^shipments\[0\]\.stays\[0\]:"):
        lot_footprint(data, table, {})
