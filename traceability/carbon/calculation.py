"""From input, factors and energy readings to line items and totals (pure, no I/O).

Every line item carries its inputs, the ids of the factors it used and the formula,
so an auditor can redo it by hand. Amounts are kg CO2e WTW, rounded to 6 decimals
(milligrams) per item; totals are sums of the rounded items, so re-adding the
printed items gives the printed total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traceability.carbon.allocation import AllocationMethod, share
from traceability.carbon.chain import (
    ColdStorageStay,
    HubActivity,
    Leg,
    LotCarbonInput,
    Packaging,
    Shipment,
)
from traceability.carbon.distance import great_circle_km
from traceability.carbon.energy import EnergyReading
from traceability.carbon.errors import (
    CarbonInputError,
    FactorError,
    FactorNotFound,
    InsufficientTelemetry,
)
from traceability.carbon.factors import EmissionFactor, FactorKind, FactorTable, Scope
from traceability.carbon.footprint import (
    LineItem,
    LotAllocation,
    LotFootprint,
    ShipmentFootprint,
)

PRECISION = 6
HOURS_PER_YEAR = 8760.0
# GLEC v3.0 p.153 (citing ISO 14083:2023): 10 t of average cargo per TEU.
DEFAULT_TONNES_PER_TEU = 10.0
TONNES_PER_TEU_SOURCE = "GLEC Framework v3.0 p.153, citing ISO 14083:2023 (average cargo)"


def _round(value: float) -> float:
    return round(value, PRECISION) + 0.0  # + 0.0 turns -0.0 into 0.0


def _factor(
    table: FactorTable,
    field: str,
    factor_id: str | None,
    kind: FactorKind,
    mode: str,
    name: str | None,
) -> EmissionFactor:
    if factor_id is not None:
        factor = table.get(factor_id)
        if factor is None:
            raise FactorNotFound(
                f"{field}.factor_id",
                f"no factor {factor_id!r} in the table; add it as a primary factor",
            )
        if factor.kind is not kind or factor.mode != mode:
            raise CarbonInputError(
                f"{field}.factor_id",
                f"{factor_id!r} is a {factor.kind.value} factor for {factor.mode!r}, "
                f"not a {kind.value} factor for {mode!r}",
            )
        return factor
    found = table.find(kind, mode, name or "")
    if found is None:
        known = sorted(
            {f.vehicle_class for f in table.factors if f.kind is kind and f.mode == mode}
        )
        raise FactorNotFound(
            field,
            f"no {kind.value} factor for {mode}/{name!r}; known: {known}, "
            "or add a primary factor and name it by factor_id",
        )
    return found


def _wtw(factor: EmissionFactor, field: str) -> None:
    if factor.scope is not Scope.WTW:
        raise FactorError(
            field,
            f"factor {factor.id!r} has scope {factor.scope.value}; reports sum well-to-wheel "
            "(ISO 14083), so use a WTW factor (WTW = TTW + WTT)",
        )


def leg_item(leg: Leg, table: FactorTable, field: str) -> LineItem:
    """distance × payload × intensity × (1 + temperature-control uplift)."""
    factor = _factor(table, field, leg.factor_id, FactorKind.TRANSPORT, leg.mode, leg.vehicle_class)
    _wtw(factor, f"{field}.factor_id")
    inputs: dict[str, Any] = {"mode": leg.mode.value, "payloadKg": leg.payload_kg}
    if leg.distance_km is not None:
        distance = leg.distance_km
        inputs |= {"distanceKm": distance, "distanceMethod": "given"}
    else:
        assert leg.origin is not None
        assert leg.destination is not None
        assert leg.detour_factor is not None
        gcd = great_circle_km(leg.origin, leg.destination)
        distance = gcd * leg.detour_factor
        inputs |= {
            "distanceKm": distance,
            "distanceMethod": "great_circle_x_detour",
            "greatCircleKm": gcd,
            "detourFactor": leg.detour_factor,
        }
    factor_ids = [factor.id]
    uplift = 0.0
    if leg.temperature_controlled and factor.temperature_controlled != "yes":
        if leg.mode != "road" or factor.temperature_controlled != "no":
            raise FactorNotFound(
                f"{field}.temperature_controlled",
                f"factor {factor.id!r} is not for temperature-controlled transport and GLEC "
                f"gives no uplift for it; choose a temperature-controlled (reefer) factor",
            )
        size = "van" if factor.vehicle_class.startswith("van") else "heavy"
        uplift_factor = table.find(FactorKind.UPLIFT, "road", size)
        if uplift_factor is None:
            raise FactorNotFound(
                f"{field}.temperature_controlled",
                f"no temperature-control uplift factor for road/{size}; add one",
            )
        uplift = uplift_factor.kg_per_base_unit
        factor_ids.append(uplift_factor.id)
    elif not leg.temperature_controlled and factor.temperature_controlled == "yes":
        raise CarbonInputError(
            f"{field}.temperature_controlled",
            f"false, but factor {factor.id!r} is for temperature-controlled transport; "
            "set temperature_controlled true or choose an ambient factor",
        )
    intensity = factor.kg_per_base_unit
    tonnes = leg.payload_kg / 1000.0
    if factor.base_unit == "kg CO2e/TEU-km":
        per_teu = leg.tonnes_per_teu or DEFAULT_TONNES_PER_TEU
        activity = distance * tonnes / per_teu
        inputs |= {
            "tonnesPerTeu": per_teu,
            "tonnesPerTeuOrigin": "given" if leg.tonnes_per_teu else TONNES_PER_TEU_SOURCE,
            "transportActivityTeuKm": activity,
        }
        formula = "distanceKm × payloadKg/1000 / tonnesPerTeu × intensity × (1 + uplift)"
    else:
        activity = distance * tonnes
        formula = "distanceKm × payloadKg/1000 × intensity × (1 + uplift)"
    inputs |= {
        "transportActivityTkm": distance * tonnes,
        "intensity": intensity,
        "intensityUnit": factor.base_unit,
        "temperatureControlled": leg.temperature_controlled,
        "uplift": uplift,
    }
    return LineItem(
        kind="leg",
        id=leg.id,
        kg_co2e=_round(activity * intensity * (1 + uplift)),
        formula=formula,
        inputs=inputs,
        factor_ids=tuple(factor_ids),
    )


def hub_item(hub: HubActivity, table: FactorTable, field: str) -> LineItem:
    """throughput (t) × hub intensity (kg CO2e/t)."""
    factor = _factor(table, field, hub.factor_id, FactorKind.HUB, "hub", hub.hub_type)
    _wtw(factor, f"{field}.factor_id")
    return LineItem(
        kind="hub",
        id=hub.id,
        kg_co2e=_round(hub.throughput_kg / 1000.0 * factor.kg_per_base_unit),
        formula="throughputKg/1000 × intensity",
        inputs={
            "throughputKg": hub.throughput_kg,
            "intensity": factor.kg_per_base_unit,
            "intensityUnit": factor.base_unit,
        },
        factor_ids=(factor.id,),
    )


def stay_items(
    stay: ColdStorageStay, reading: EnergyReading | None, table: FactorTable, field: str
) -> list[LineItem]:
    """kWh × grid intensity × room share; plus leaked refrigerant × GWP × share."""
    if reading is None or reading.samples == 0:
        raise InsufficientTelemetry(
            field,
            f"no compressor power samples for {stay.location} at site {stay.site} between "
            f"{stay.start.isoformat()} and {stay.end.isoformat()}; check the coldroom series",
        )
    if (reading.start, reading.end) != (stay.start, stay.end):
        raise InsufficientTelemetry(
            field,
            f"the energy reading spans {reading.start.isoformat()} to {reading.end.isoformat()}, "
            "not the stay; measure the stay's own window",
        )
    if reading.coverage < stay.min_coverage:
        raise InsufficientTelemetry(
            field,
            f"the power series covers {reading.coverage:.1%} of the stay, below min_coverage "
            f"{stay.min_coverage:.0%} (values hold at most {reading.max_gap_s:.0f} s); "
            "fill the gap or lower min_coverage knowingly",
        )
    if stay.grid_factor_id is not None:
        grid = _factor(table, field, stay.grid_factor_id, FactorKind.GRID, "electricity", None)
        selection = f"named by grid_factor_id {stay.grid_factor_id}"
    else:
        chosen = table.grid(stay.country)
        if chosen is None:
            raise FactorNotFound(
                f"{field}.country",
                f"no grid factor for {stay.country}; add a primary grid factor with region "
                f"{stay.country} or name one by grid_factor_id",
            )
        grid, selection = chosen
    _wtw(grid, f"{field}.grid_factor_id")
    room = share(stay.share.part, stay.share.room)
    method = (
        AllocationMethod.PALLET_POSITIONS_X_TIME
        if stay.share.basis == "pallet_positions"
        else AllocationMethod.MASS_X_TIME
    )
    items = [
        LineItem(
            kind="cold_storage",
            id=stay.id,
            kg_co2e=_round(reading.kwh * grid.kg_per_base_unit * room),
            formula="roomKwh × gridIntensity × roomShare",
            inputs={
                "site": stay.site,
                "location": stay.location,
                "country": stay.country,
                "start": stay.start.isoformat(),
                "end": stay.end.isoformat(),
                "roomKwh": reading.kwh,
                "energyMethod": reading.method,
                "coverage": reading.coverage,
                "gridIntensity": grid.kg_per_base_unit,
                "gridIntensityUnit": grid.base_unit,
                "gridFactorSelection": selection,
                "shareBasis": stay.share.basis,
                "sharePart": stay.share.part,
                "shareRoom": stay.share.room,
                "roomShare": room,
            },
            factor_ids=(grid.id,),
            allocation=method,
            allocation_share=room,
        )
    ]
    leak = stay.refrigerant
    if leak is not None:
        gwp = _factor(
            table,
            f"{field}.refrigerant",
            leak.factor_id,
            FactorKind.REFRIGERANT,
            "refrigerant",
            leak.refrigerant,
        )
        hours = reading.duration_s / 3600.0
        leaked = leak.annual_leakage_kg * hours / HOURS_PER_YEAR
        items.append(
            LineItem(
                kind="refrigerant",
                id=f"{stay.id}:refrigerant",
                kg_co2e=_round(leaked * gwp.kg_per_base_unit * room),
                formula="annualLeakageKg × stayHours/8760 × gwp × roomShare",
                inputs={
                    "annualLeakageKg": leak.annual_leakage_kg,
                    "stayHours": hours,
                    "gwp": gwp.kg_per_base_unit,
                    "roomShare": room,
                },
                factor_ids=(gwp.id,),
                allocation=method,
                allocation_share=room,
            )
        )
    return items


def packaging_item(packaging: Packaging, units: int, table: FactorTable, field: str) -> LineItem:
    """units × packaging mass per unit × material factor."""
    factor = _factor(
        table, field, packaging.factor_id, FactorKind.PACKAGING, "packaging", packaging.material
    )
    return LineItem(
        kind="packaging",
        id=f"packaging:{packaging.material}",
        kg_co2e=_round(units * packaging.mass_kg * factor.kg_per_base_unit),
        formula="units × massKgPerUnit × intensity",
        inputs={
            "material": packaging.material,
            "units": units,
            "massKgPerUnit": packaging.mass_kg,
            "intensity": factor.kg_per_base_unit,
            "intensityUnit": factor.base_unit,
        },
        factor_ids=(factor.id,),
        allocation=AllocationMethod.PER_UNIT,
    )


def shipment_footprint(
    shipment: Shipment,
    table: FactorTable,
    energy: Mapping[str, EnergyReading],
    field: str = "shipment",
) -> ShipmentFootprint:
    """The whole shipment's emissions, before allocation to its lots."""
    items: list[LineItem] = []
    for index, leg in enumerate(shipment.legs):
        items.append(leg_item(leg, table, f"{field}.legs[{index}]"))
    for index, hub in enumerate(shipment.hubs):
        items.append(hub_item(hub, table, f"{field}.hubs[{index}]"))
    for index, stay in enumerate(shipment.stays):
        items.extend(stay_items(stay, energy.get(stay.id), table, f"{field}.stays[{index}]"))
    tagged = tuple(item.model_copy(update={"shipment_id": shipment.id}) for item in items)
    return ShipmentFootprint(
        shipment=shipment,
        items=tagged,
        total_kg_co2e=_round(sum(item.kg_co2e for item in tagged)),
    )


def lot_footprint(
    data: LotCarbonInput, defaults: FactorTable, energy: Mapping[str, EnergyReading]
) -> LotFootprint:
    """The lot's footprint: its stays, its mass share of each shipment, its packaging."""
    table = defaults.with_primary(data.factors)
    items: list[LineItem] = []
    for index, stay in enumerate(data.stays):
        items.extend(stay_items(stay, energy.get(stay.id), table, f"stays[{index}]"))
    shipments: list[ShipmentFootprint] = []
    allocations: list[LotAllocation] = []
    for index, shipment in enumerate(data.shipments):
        footprint = shipment_footprint(shipment, table, energy, f"shipments[{index}]")
        shipments.append(footprint)
        mine = sum(
            lot.gross_kg for lot in shipment.lots if (lot.gtin, lot.lot) == (data.gtin, data.lot)
        )
        lot_share = share(mine, shipment.mass_kg)
        allocations.append(
            LotAllocation(
                shipment_id=shipment.id,
                method=AllocationMethod.MASS,
                lot_kg=mine,
                shipment_kg=shipment.mass_kg,
                share=lot_share,
            )
        )
        for item in footprint.items:
            items.append(
                item.model_copy(
                    update={
                        "kg_co2e": _round(item.kg_co2e * lot_share),
                        "inputs": {**item.inputs, "shipmentKgCo2e": item.kg_co2e},
                        "allocation": AllocationMethod.MASS,
                        "allocation_share": lot_share,
                    }
                )
            )
    for index, packaging in enumerate(data.packaging):
        items.append(packaging_item(packaging, data.units, table, f"packaging[{index}]"))
    used = {factor_id for item in items for factor_id in item.factor_ids}
    total = _round(sum(item.kg_co2e for item in items))
    return LotFootprint(
        input=data,
        items=tuple(items),
        shipments=tuple(shipments),
        allocations=tuple(allocations),
        factors=tuple(factor for factor in table.factors if factor.id in used),
        total_kg_co2e=total,
        per_kg=_round(total / data.mass_kg),
        per_unit=_round(total / data.units),
    )
