"""Locations, shipments, legs, stays and packaging: where lots travel and rest.

These records feed the carbon footprint (``traceability.carbon.records`` maps them to
the calculation's input) and the custody view (a location's custodian). Each kind is a
frozen value validated at construction; the store adds them one at a time
(``add_location`` …) or a whole import file in one transaction (``import_rows``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import Database, from_db, to_db
from traceability.records.database import gtin_digits as _gtin
from traceability.records.schema import (
    hub_activities,
    legs,
    locations,
    lots,
    packaging,
    primary_factors,
    shipment_lots,
    shipments,
    stays,
)

Mode = Literal["road", "rail", "sea", "air", "inland_waterway"]
LOGISTICS_KINDS = (
    "locations",
    "shipment_lots",
    "legs",
    "stays",
    "packaging",
    "hub_activities",
    "primary_factors",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Location(_Frozen):
    """A place (SGLN URN): site, cold room, dock door, reefer; who holds goods there."""

    urn: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40)  # site, cold_room, dock_door, reefer
    custodian: str | None = None  # party GLN (urn:epc:id:pgln:…) or name
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    site: str | None = Field(default=None, max_length=64)  # telemetry site id

    @model_validator(mode="after")
    def _both(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude: give latitude and longitude together")
        return self


class ShipmentLot(_Frozen):
    """A lot travelling in a shipment, with its gross mass (for allocation by mass)."""

    shipment_id: str = Field(min_length=1, max_length=64)
    gtin: str
    lot: str = Field(min_length=1, max_length=20)
    gross_kg: float = Field(gt=0)
    units: int = Field(gt=0)


class Leg(_Frozen):
    """One vehicle movement of a shipment, with what its emissions depend on.

    Give ``distance_km``, or leave it out and give both locations coordinates (then
    distance = great circle × ``detour_factor``). Name the factor by ``vehicle_class``
    (looked up with ``mode``) or by ``factor_id`` (e.g. the carrier's primary factor).
    """

    shipment_id: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1)
    from_location: str = Field(min_length=1)
    to_location: str = Field(min_length=1)
    mode: Mode
    payload_kg: float = Field(gt=0)
    vehicle_class: str | None = None
    factor_id: str | None = None
    temperature_controlled: bool = False
    distance_km: float | None = Field(default=None, ge=0)
    detour_factor: float | None = Field(default=None, ge=1)
    vehicle: str | None = None  # the reefer's location URN, for custody
    departed_at: AwareDatetime | None = None
    arrived_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _named(self) -> Leg:
        if self.vehicle_class is None and self.factor_id is None:
            raise ValueError("vehicle_class: give vehicle_class or factor_id")
        if self.distance_km is None and self.detour_factor is None:
            raise ValueError(
                "detour_factor: without distance_km the distance comes from the locations' "
                "coordinates × detour_factor (>= 1); give one of them"
            )
        return self


class Stay(_Frozen):
    """A lot's time in a (cold) room and its share of that room over the stay."""

    id: str = Field(min_length=1, max_length=64)
    gtin: str
    lot: str = Field(min_length=1, max_length=20)
    location: str = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    basis: Literal["pallet_positions", "mass"]
    part: float = Field(gt=0)
    room: float = Field(gt=0)
    shipment_id: str | None = None
    grid_factor_id: str | None = None
    refrigerant: str | None = None
    annual_leakage_kg: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Stay:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        if self.part > self.room:
            raise ValueError("part: cannot exceed room (the room's occupied total)")
        if (self.refrigerant is None) != (self.annual_leakage_kg is None):
            raise ValueError("refrigerant: give refrigerant and annual_leakage_kg together")
        return self


class Packaging(_Frozen):
    """Packaging of one unit of a lot."""

    gtin: str
    lot: str = Field(min_length=1, max_length=20)
    material: str = Field(min_length=1, max_length=80)
    mass_kg: float = Field(gt=0)
    factor_id: str | None = None


# Hub activities (issue #7) ---------------------------------------------------------

HubActivityKind = Literal["cross_dock", "cold_storage", "storage", "transshipment"]


class HubActivity(_Frozen):
    """What a shipment went through at a hub that has no telemetry of its own.

    Its emissions are ``throughput_kg`` × the hub's intensity per tonne handled: the
    GLEC default named by ``hub_type`` (e.g. ``transshipment-mixed`` for a cross-dock
    handling chilled and ambient goods, ``storage-transshipment-mixed`` for cold
    storage) or the user's own factor by ``factor_id``. ``activity`` says what happened;
    it never picks a factor by itself (no undisclosed default).
    """

    shipment_id: str = Field(min_length=1, max_length=64)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    location: str = Field(min_length=1, max_length=200)
    activity: HubActivityKind
    throughput_kg: float = Field(gt=0)
    hub_type: str | None = Field(default=None, min_length=1, max_length=80)
    factor_id: str | None = Field(default=None, min_length=1, max_length=128)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _named(self) -> HubActivity:
        if self.hub_type is None and self.factor_id is None:
            raise ValueError(
                "hub_type: give hub_type (a GLEC hub category, e.g. transshipment-mixed) "
                "or factor_id (your own hub factor)"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class LogisticsRecords(Database):
    """Locations with their custodian and coordinates, shipments' legs, lots' stays."""

    def add_location(self, location: Location) -> Location:
        """Add a location; the identical location again is a no-op."""
        with self._tx() as conn:
            self._put(conn, "location", location)
        return location

    def get_location(self, urn: str) -> Location | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(locations).where(locations.c.urn == urn)).first()
        return None if row is None else Location.model_validate(row._asdict())

    def locations(self) -> list[Location]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(locations).order_by(locations.c.urn))
            return [Location.model_validate(row._asdict()) for row in rows]

    def add_shipment_lot(self, item: ShipmentLot) -> ShipmentLot:
        with self._tx() as conn:
            self._put(conn, "shipment_lot", item)
        return item

    def add_leg(self, leg: Leg) -> Leg:
        with self._tx() as conn:
            self._put(conn, "leg", leg)
        return leg

    def add_stay(self, stay: Stay) -> Stay:
        with self._tx() as conn:
            self._put(conn, "stay", stay)
        return stay

    def add_packaging(self, item: Packaging) -> Packaging:
        with self._tx() as conn:
            self._put(conn, "packaging", item)
        return item

    def add_primary_factor(self, factor_id: str, body: dict[str, Any]) -> None:
        """Store the user's own factor (a ``carbon.factors.EmissionFactor`` as JSON)."""
        with self._tx() as conn:
            self._put_factor(conn, factor_id, body)

    @staticmethod
    def _put_factor(conn: Connection, factor_id: str, body: dict[str, Any]) -> None:
        text = json.dumps(body, sort_keys=True)
        found = conn.execute(
            sa.select(primary_factors.c.body).where(primary_factors.c.id == factor_id)
        ).scalar_one_or_none()
        if found is None:
            conn.execute(primary_factors.insert().values(id=factor_id, body=text))
        elif found != text:
            raise RecordConflict(
                f"primary factor {factor_id} exists with another value; give it a new id"
            )

    def add_hub_activity(self, activity: HubActivity) -> HubActivity:
        with self._tx() as conn:
            self._put(conn, "hub_activity", activity)
        return activity

    def hub_activities_of(self, shipment_id: str) -> list[HubActivity]:
        query = (
            sa.select(hub_activities)
            .where(hub_activities.c.shipment_id == shipment_id)
            .order_by(hub_activities.c.start, hub_activities.c.id)
        )
        with self._tx() as conn:
            return [_hub_activity(row._asdict()) for row in conn.execute(query)]

    def primary_factors(self) -> list[dict[str, Any]]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(primary_factors.c.body).order_by(primary_factors.c.id))
            return [json.loads(body) for body in rows.scalars()]

    def shipments_of_lot(self, gtin: str, lot: str) -> list[tuple[str, list[ShipmentLot]]]:
        """``(shipment_id, every lot in it)`` for each shipment carrying the lot."""
        wanted = (
            sa.select(shipment_lots.c.shipment_id)
            .where(shipment_lots.c.gtin == _gtin(gtin), shipment_lots.c.lot == lot)
            .scalar_subquery()
        )
        query = (
            sa.select(shipment_lots)
            .where(shipment_lots.c.shipment_id.in_(wanted))
            .order_by(shipment_lots.c.shipment_id, shipment_lots.c.gtin, shipment_lots.c.lot)
        )
        found: dict[str, list[ShipmentLot]] = {}
        with self._tx() as conn:
            for row in conn.execute(query):
                item = ShipmentLot.model_validate(row._asdict())
                found.setdefault(item.shipment_id, []).append(item)
        return list(found.items())

    def legs_of(self, shipment_id: str) -> list[Leg]:
        query = sa.select(legs).where(legs.c.shipment_id == shipment_id).order_by(legs.c.seq)
        with self._tx() as conn:
            return [_leg(row._asdict()) for row in conn.execute(query)]

    def stays_of_lot(self, gtin: str, lot: str) -> list[Stay]:
        query = (
            sa.select(stays)
            .where(stays.c.gtin == _gtin(gtin), stays.c.lot == lot)
            .order_by(stays.c.start, stays.c.id)
        )
        with self._tx() as conn:
            return [_stay(row._asdict()) for row in conn.execute(query)]

    def packaging_of(self, gtin: str, lot: str) -> list[Packaging]:
        query = (
            sa.select(packaging)
            .where(packaging.c.gtin == _gtin(gtin), packaging.c.lot == lot)
            .order_by(packaging.c.material)
        )
        with self._tx() as conn:
            return [Packaging.model_validate(row._asdict()) for row in conn.execute(query)]

    # one row of any kind, inside the caller's transaction ------------------------------

    def _put(self, conn: Connection, kind: str, value: BaseModel) -> None:
        """Insert ``value``; the identical record again is a no-op, another a conflict."""
        table, keys, row = _row(kind, value)
        if (
            kind in ("shipment_lot", "leg", "stay", "hub_activity")
            and row.get("shipment_id") is not None
        ):
            _require(conn, shipments, shipments.c.id == row["shipment_id"], kind, row)
        if "gtin" in row:
            _require(
                conn, lots, sa.and_(lots.c.gtin == row["gtin"], lots.c.lot == row["lot"]), kind, row
            )
        if kind in ("stay", "hub_activity"):
            _require(conn, locations, locations.c.urn == row["location"], kind, row)
        where = sa.and_(*(table.c[k] == row[k] for k in keys))
        found = conn.execute(sa.select(table).where(where)).first()
        if found is None:
            conn.execute(table.insert().values(**row))
            return
        stored = {k: v for k, v in found._asdict().items() if k in row}
        if stored != row:
            name = ", ".join(f"{k}={row[k]}" for k in keys)
            raise RecordConflict(
                f"{kind} {name} exists with other details; records are not edited by import"
            )

    def import_logistics_row(self, conn: Connection, kind: str, row: dict[str, Any]) -> None:
        """One validated import row (``traceability.imports``) in the import's transaction."""
        if kind == "primary_factors":
            # Validated by the importer (carbon.factors.PrimaryFactorRow); kept as JSON.
            body = {k: v for k, v in row.items() if v is not None}
            self._put_factor(conn, str(body["id"]), json.loads(json.dumps(body)))
            return
        model = _IMPORT_MODELS[kind]
        self._put(conn, _KIND_NAMES[kind], model.model_validate(row))


_IMPORT_MODELS: dict[str, type[BaseModel]] = {
    "locations": Location,
    "shipment_lots": ShipmentLot,
    "legs": Leg,
    "stays": Stay,
    "packaging": Packaging,
    "hub_activities": HubActivity,
}
_KIND_NAMES = {
    "locations": "location",
    "shipment_lots": "shipment_lot",
    "legs": "leg",
    "stays": "stay",
    "packaging": "packaging",
    "hub_activities": "hub_activity",
}


def _row(kind: str, value: BaseModel) -> tuple[sa.Table, tuple[str, ...], dict[str, Any]]:
    data = value.model_dump()
    if "gtin" in data:
        data["gtin"] = _gtin(data["gtin"])
    for key in ("start", "end", "departed_at", "arrived_at"):
        if isinstance(data.get(key), datetime):
            data[key] = to_db(data[key])
    tables: dict[str, tuple[sa.Table, tuple[str, ...]]] = {
        "location": (locations, ("urn",)),
        "shipment_lot": (shipment_lots, ("shipment_id", "gtin", "lot")),
        "leg": (legs, ("shipment_id", "seq")),
        "stay": (stays, ("id",)),
        "packaging": (packaging, ("gtin", "lot", "material")),
        "hub_activity": (hub_activities, ("shipment_id", "id")),
    }
    table, keys = tables[kind]
    return table, keys, data


def _require(conn: Connection, table: sa.Table, where: Any, kind: str, row: dict[str, Any]) -> None:
    if conn.execute(sa.select(sa.literal(1)).select_from(table).where(where)).first() is None:
        what = {"shipments": "shipment", "lots": "lot", "locations": "location"}[table.name]
        field = {"shipment": "shipment_id", "lot": "lot", "location": "location"}[what]
        raise RecordNotFound(
            f"{kind} {field}: {what} {row.get(field)} is unknown; add or import the {what} first"
        )


def _leg(data: dict[str, Any]) -> Leg:
    for key in ("departed_at", "arrived_at"):
        if data.get(key) is not None:
            data[key] = from_db(data[key])
    data["temperature_controlled"] = bool(data.get("temperature_controlled"))
    return Leg.model_validate(data)


def _hub_activity(data: dict[str, Any]) -> HubActivity:
    for key in ("start", "end"):
        if data.get(key) is not None:
            data[key] = from_db(data[key])
    return HubActivity.model_validate(data)


def _stay(data: dict[str, Any]) -> Stay:
    data["start"] = from_db(data["start"])
    data["end"] = from_db(data["end"])
    return Stay.model_validate(data)
