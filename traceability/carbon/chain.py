"""The footprint input: a lot, its shipments (legs, hubs, cold-room stays) and packaging.

These are the carbon subpackage's own frozen models. Where the records store has
shipments and legs, a ``source.CarbonInputSource`` maps them to these; until then
they are read from a JSON document (``parse_lot_input``), whose shape is in
docs/carbon.md. Every rejection names the JSON path of the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from traceability.carbon.distance import Coordinates
from traceability.carbon.errors import CarbonInputError
from traceability.carbon.factors import EmissionFactor

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Mode(StrEnum):
    ROAD = "road"
    RAIL = "rail"
    SEA = "sea"
    AIR = "air"
    INLAND_WATERWAY = "inland_waterway"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError("must be 1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit")
    return value


class Leg(_Frozen):
    """One transport chain element: a vehicle carrying the shipment from A to B.

    Give ``distance_km`` (actual or shortest feasible distance), or ``origin`` and
    ``destination`` with a ``detour_factor`` (distance = great circle × detour).
    Name the factor by ``factor_id`` or by ``vehicle_class`` (looked up with ``mode``).
    """

    id: str
    mode: Mode
    payload_kg: float = Field(gt=0, description="gross mass of the shipment on this leg")
    temperature_controlled: bool = False
    vehicle_class: str | None = None
    factor_id: str | None = None
    distance_km: float | None = Field(default=None, ge=0)
    origin: Coordinates | None = None
    destination: Coordinates | None = None
    detour_factor: float | None = Field(default=None, ge=1)
    tonnes_per_teu: float | None = Field(default=None, gt=0)

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _consistent(self) -> Leg:
        if self.vehicle_class is None and self.factor_id is None:
            raise ValueError("vehicle_class: give vehicle_class or factor_id")
        coordinates = self.origin is not None or self.destination is not None
        if self.distance_km is None and not coordinates:
            raise ValueError("distance_km: give distance_km, or origin and destination")
        if self.distance_km is not None and coordinates:
            raise ValueError("distance_km: give distance_km or origin/destination, not both")
        if coordinates and (self.origin is None or self.destination is None):
            raise ValueError("origin: both origin and destination are needed")
        if coordinates and self.detour_factor is None:
            raise ValueError(
                "detour_factor: required with coordinates (distance = great circle × "
                "detour_factor, >= 1); tracehub has no default to guess with"
            )
        if self.distance_km is not None and self.detour_factor is not None:
            raise ValueError("detour_factor: only applies to a distance from coordinates")
        return self


class HubActivity(_Frozen):
    """Goods handled at a logistics site, by the GLEC hub default (per tonne handled)."""

    id: str
    throughput_kg: float = Field(gt=0)
    hub_type: str | None = None
    factor_id: str | None = None

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _named(self) -> HubActivity:
        if self.hub_type is None and self.factor_id is None:
            raise ValueError("hub_type: give hub_type or factor_id")
        return self


class RoomShare(_Frozen):
    """The allocated goods' share of a cold room over a stay.

    ``basis`` ``pallet_positions``: ``part`` = pallet positions of the goods, ``room`` =
    the room's average occupied pallet positions over the stay; ``mass``: the same in kg.
    """

    basis: Literal["pallet_positions", "mass"]
    part: float = Field(gt=0)
    room: float = Field(gt=0)

    @model_validator(mode="after")
    def _within(self) -> RoomShare:
        if self.part > self.room:
            raise ValueError("part: cannot exceed room (the room's occupied total)")
        return self


class RefrigerantLeak(_Frozen):
    """Refrigerant lost by the room per year; prorated over the stay and allocated."""

    annual_leakage_kg: float = Field(ge=0)
    refrigerant: str | None = None  # e.g. "R-404A", looked up among refrigerant factors
    factor_id: str | None = None

    @model_validator(mode="after")
    def _named(self) -> RefrigerantLeak:
        if self.refrigerant is None and self.factor_id is None:
            raise ValueError("refrigerant: give refrigerant or factor_id")
        return self


class ColdStorageStay(_Frozen):
    """Time in a cold room whose compressor power is in InfluxDB (``coldroom`` measurement)."""

    id: str
    site: str
    location: str = Field(pattern=r"^urn:epc:id:sgln:[0-9.]+\.[^\s]*$")
    country: str
    start: AwareDatetime
    end: AwareDatetime
    share: RoomShare
    grid_factor_id: str | None = None
    refrigerant: RefrigerantLeak | None = None
    min_coverage: float = Field(default=0.95, ge=0, le=1)
    max_gap_s: float = Field(default=900.0, gt=0)

    _id = field_validator("id", "site")(_check_id)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not _COUNTRY.fullmatch(value):
            raise ValueError("must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ColdStorageStay:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class ShipmentLot(_Frozen):
    gtin: str = Field(pattern=r"^\d{14}$")
    lot: str = Field(min_length=1, max_length=20)
    gross_kg: float = Field(gt=0)
    units: int = Field(gt=0)


class Shipment(_Frozen):
    """A consignment: its lots (by gross mass) and its transport chain."""

    id: str
    lots: tuple[ShipmentLot, ...] = Field(min_length=1)
    legs: tuple[Leg, ...] = ()
    hubs: tuple[HubActivity, ...] = ()
    stays: tuple[ColdStorageStay, ...] = ()

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _elements(self) -> Shipment:
        if not (self.legs or self.hubs or self.stays):
            raise ValueError("legs: a shipment needs at least one leg, hub or stay")
        elements: list[Leg | HubActivity | ColdStorageStay] = [*self.legs, *self.hubs, *self.stays]
        ids = [element.id for element in elements]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"legs: element ids must be unique, repeated: {duplicates}")
        return self

    @property
    def mass_kg(self) -> float:
        return sum(lot.gross_kg for lot in self.lots)


class Packaging(_Frozen):
    """Packaging of one unit: material and mass; factor by id or by material."""

    material: str = Field(min_length=1)
    mass_kg: float = Field(gt=0)
    factor_id: str | None = None


class LotCarbonInput(_Frozen):
    """Everything needed for one lot's footprint (plus the user's primary factors)."""

    gtin: str = Field(pattern=r"^\d{14}$")
    lot: str = Field(min_length=1, max_length=20)
    units: int = Field(gt=0)
    mass_kg: float = Field(gt=0, description="gross mass of the whole lot")
    packaging: tuple[Packaging, ...] = ()
    stays: tuple[ColdStorageStay, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    factors: tuple[EmissionFactor, ...] = ()

    @field_validator("factors", mode="before")
    @classmethod
    def _primary(cls, value: Any) -> Any:
        # Factors in the input are the user's own data: always "primary", whatever they say.
        if isinstance(value, list | tuple):
            return [
                {**item, "origin": "primary"} if isinstance(item, Mapping) else item
                for item in value
            ]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LotCarbonInput:
        for index, shipment in enumerate(self.shipments):
            if not any(s.gtin == self.gtin and s.lot == self.lot for s in shipment.lots):
                raise ValueError(
                    f"shipments[{index}].lots: shipment {shipment.id} does not list lot "
                    f"{self.gtin}/{self.lot}; list it with its gross_kg and units"
                )
        stay_ids = [stay.id for stay in self.all_stays()]
        duplicates = sorted({i for i in stay_ids if stay_ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"stays: stay ids must be unique across the input: {duplicates}")
        return self

    def all_stays(self) -> tuple[ColdStorageStay, ...]:
        """The lot's own stays and those of its shipments (ids are unique across them)."""
        return (*self.stays, *(stay for shipment in self.shipments for stay in shipment.stays))


def json_path(loc: tuple[int | str, ...]) -> str:
    """``("shipments", 0, "legs", 1, "payload_kg")`` → ``shipments[0].legs[1].payload_kg``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def parse_lot_input(data: Mapping[str, Any]) -> LotCarbonInput:
    """A validated input, or ``CarbonInputError`` naming the first bad field's JSON path."""
    try:
        return LotCarbonInput.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc) from exc


def _input_error(exc: ValidationError) -> CarbonInputError:
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    message = str(error["msg"]).removeprefix("Value error, ")
    # Model validators report "field: reason"; join that field onto the model's path.
    head, sep, rest = message.partition(": ")
    if sep and re.fullmatch(r"[a-z_]+(\[\d+\])?(\.[a-z_]+)*", head):
        return CarbonInputError(json_path((*loc, head)) if loc else head, rest)
    if error["type"] == "missing":
        message = "required"
    return CarbonInputError(json_path(loc) or "input", message)
