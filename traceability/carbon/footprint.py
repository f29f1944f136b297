"""What a footprint is made of: line items, shipment and lot footprints (frozen values)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from traceability.carbon.allocation import AllocationMethod
from traceability.carbon.chain import LotCarbonInput, Shipment
from traceability.carbon.factors import EmissionFactor

ItemKind = Literal["leg", "hub", "cold_storage", "refrigerant", "packaging"]


class LineItem(BaseModel):
    """One emission in the breakdown."""

    model_config = ConfigDict(frozen=True)

    kind: ItemKind
    id: str
    kg_co2e: float
    formula: str
    inputs: dict[str, Any]
    factor_ids: tuple[str, ...]
    shipment_id: str | None = None
    allocation: AllocationMethod | None = None
    allocation_share: float | None = None


class ShipmentFootprint(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment: Shipment
    items: tuple[LineItem, ...]
    total_kg_co2e: float


class LotAllocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment_id: str
    method: AllocationMethod
    lot_kg: float
    shipment_kg: float
    share: float


class LotFootprint(BaseModel):
    model_config = ConfigDict(frozen=True)

    input: LotCarbonInput
    items: tuple[LineItem, ...]
    shipments: tuple[ShipmentFootprint, ...]
    allocations: tuple[LotAllocation, ...]
    factors: tuple[EmissionFactor, ...]  # every factor used, default or primary
    total_kg_co2e: float
    per_kg: float
    per_unit: float
