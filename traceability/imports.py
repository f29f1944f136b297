"""Import products, lots and shipments from an ERP/WMS export (CSV or JSON).

Every row is validated first; any bad row rejects the whole file (nothing is half
imported) with one ``RowError`` per problem naming the row, the field and the fix.

Columns (CSV header or JSON object keys):

* products: gtin, name, temp_min_c, temp_max_c, excursion_budget_min, mkt_limit_c,
  shelf_life_days
* lots: gtin, lot, production_date, expiry, origin, quantity, serials (``1001-1100`` or
  ``1001;1002``)
* shipments: id, sscc, origin, destination, carrier
* locations: urn, name, kind, custodian, latitude, longitude, country, site
* shipment_lots: shipment_id, gtin, lot, gross_kg, units
* legs: shipment_id, seq, from_location, to_location, mode, payload_kg, vehicle_class,
  factor_id, temperature_controlled, distance_km, detour_factor, vehicle, departed_at,
  arrived_at
* stays: id, gtin, lot, location, start, end, basis (pallet_positions|mass), part, room,
  shipment_id, grid_factor_id, refrigerant, annual_leakage_kg
* packaging: gtin, lot, material, mass_kg (per unit), factor_id
* hub_activities: shipment_id, id, location, activity (cross_dock|cold_storage|storage|
  transshipment), throughput_kg, hub_type, factor_id, start, end
* primary_factors: the columns of ``traceability/carbon/data/emission_factors.csv``
  (the user's own factors, marked primary; never a default factor's id)
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gs1.identifiers import Gtin, LotNumber
from traceability.carbon.factors import PrimaryFactorRow
from traceability.errors import InvalidIdentifier, RecordError
from traceability.records.logistics import HubActivity, Leg, Location, Packaging, ShipmentLot, Stay
from traceability.records.store import RecordStore

Kind = Literal[
    "products",
    "lots",
    "shipments",
    "locations",
    "shipment_lots",
    "legs",
    "stays",
    "packaging",
    "hub_activities",
    "primary_factors",
]


class RowError(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int  # 1 = first data row (CSV line 2)
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.reason}"


class ImportRejected(RecordError):  # noqa: N818 - outcome names, as the package's
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"import rejected, nothing imported: {shown}{more}")


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class ProductRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    name: str = Field(min_length=1, max_length=200)
    temp_min_c: float | None = None
    temp_max_c: float | None = None
    excursion_budget_min: float | None = Field(default=None, ge=0)
    mkt_limit_c: float | None = None
    shelf_life_days: int | None = Field(default=None, ge=0)

    _blank = field_validator("*", mode="before")(lambda cls, v: _blank_none(v))

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        return _valid_gtin(value)


class LotRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    lot: str
    production_date: date | None = None
    expiry: date | None = None
    origin: str | None = None
    quantity: int | None = Field(default=None, ge=0)
    gross_kg: float | None = Field(default=None, gt=0)
    serials: str | None = None

    _blank = field_validator("*", mode="before")(lambda cls, v: _blank_none(v))

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        return _valid_gtin(value)

    @field_validator("lot")
    @classmethod
    def _lot(cls, value: str) -> str:
        try:
            return LotNumber.parse(value).value
        except InvalidIdentifier as exc:
            raise ValueError(exc.reason) from exc

    @field_validator("serials")
    @classmethod
    def _serials(cls, value: str | None) -> str | None:
        if value is not None:
            serial_list(value)
        return value


class ShipmentRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    sscc: str | None = None
    origin: str = Field(min_length=1)
    destination: str = Field(min_length=1)
    carrier: str | None = None

    _blank = field_validator("*", mode="before")(lambda cls, v: _blank_none(v))


def _valid_gtin(value: str) -> str:
    try:
        return Gtin.parse(str(value).strip()).value
    except InvalidIdentifier as exc:
        raise ValueError(exc.reason) from exc


def serial_list(text: str) -> list[str]:
    """``1001-1003`` → 1001, 1002, 1003; ``A1;A2`` → A1, A2."""
    serials: list[str] = []
    for part in text.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        if dash and low.isdigit() and high.isdigit():
            if int(high) < int(low) or int(high) - int(low) > 1_000_000:
                raise ValueError(f"serial range {part!r} must go up, by at most a million")
            serials.extend(str(n) for n in range(int(low), int(high) + 1))
        else:
            serials.append(part)
    return serials


_MODELS: dict[str, type[BaseModel]] = {
    "products": ProductRow,
    "lots": LotRow,
    "shipments": ShipmentRow,
    "locations": Location,
    "shipment_lots": ShipmentLot,
    "legs": Leg,
    "stays": Stay,
    "packaging": Packaging,
    "hub_activities": HubActivity,
    "primary_factors": PrimaryFactorRow,
}


def parse_rows(kind: Kind, text: str, fmt: Literal["csv", "json"]) -> list[dict[str, Any]]:
    if fmt == "csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(text))]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRejected([RowError(row=0, field="file", reason=f"not JSON: {exc}")]) from exc
    if isinstance(data, dict):
        data = data.get(kind, [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportRejected(
            [RowError(row=0, field="file", reason=f"give a JSON list of {kind} objects")]
        )
    return data


def import_records(
    store: RecordStore, kind: Kind, text: str, fmt: Literal["csv", "json"] = "csv"
) -> int:
    """Validate every row, then import all of them in one transaction; the row count."""
    model = _MODELS[kind]
    rows: list[BaseModel] = []
    errors: list[RowError] = []
    for number, raw in enumerate(parse_rows(kind, text, fmt), start=1):
        try:
            rows.append(model.model_validate({k: _blank_none(v) for k, v in raw.items()}))
        except ValidationError as exc:
            for problem in exc.errors():
                field = ".".join(str(p) for p in problem["loc"]) or "row"
                reason = str(problem["msg"]).removeprefix("Value error, ")
                head, sep, rest = reason.partition(": ")
                if field == "row" and sep and head in model.model_fields:
                    # A rule across columns names its column first ("detour_factor: …").
                    field, reason = head, rest
                if problem["type"] == "extra_forbidden":
                    reason = f"unknown column; expected one of {', '.join(model.model_fields)}"
                errors.append(RowError(row=number, field=field, reason=reason))
    if errors:
        raise ImportRejected(errors)
    try:
        store.import_rows(kind, [r.model_dump() for r in rows])
    except RecordError as exc:
        raise ImportRejected([RowError(row=0, field=kind, reason=str(exc))]) from exc
    return len(rows)
