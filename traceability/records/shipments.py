"""Shipments: what travelled together, its legs (vehicle movements) and hub activities.

These feed the carbon footprint (``traceability.carbon.records`` maps them to the
calculation's input) and custody (a leg's reefer). A shipment is added by import
(``ShipmentRow``); its lots, legs and hub activities name it, and must come after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.engine import Connection

from traceability.records.database import Database, from_db
from traceability.records.database import gtin_digits as _gtin
from traceability.records.insertion import (
    db_row,
    insert_once,
    require_location,
    require_lot,
    require_shipment,
)
from traceability.records.rows import blank_none
from traceability.records.schema import hub_activities, legs, shipment_lots, shipments

Mode = Literal["road", "rail", "sea", "air", "inland_waterway"]
HubActivityKind = Literal["cross_dock", "cold_storage", "storage", "transshipment"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShipmentRow(_Frozen):
    """A shipment as an ERP/WMS export names it."""

    id: str = Field(min_length=1, max_length=64)
    sscc: str | None = None
    origin: str = Field(min_length=1)
    destination: str = Field(min_length=1)
    carrier: str | None = None

    _blank = field_validator("*", mode="before")(lambda cls, v: blank_none(v))


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


class ShipmentRecords(Database):
    """Shipments, the lots in them, their legs and their hub activities."""

    def import_shipments(self, rows: Sequence[ShipmentRow]) -> None:
        """Add shipments; the identical shipment again is skipped, another under a known
        id is a ``RecordConflict`` naming its row."""
        self._import_each(rows, _put_shipment)

    def add_shipment_lot(self, item: ShipmentLot) -> ShipmentLot:
        return self._add(item, _put_shipment_lot)

    def import_shipment_lots(self, rows: Sequence[ShipmentLot]) -> None:
        self._import_each(rows, _put_shipment_lot)

    def add_leg(self, leg: Leg) -> Leg:
        return self._add(leg, _put_leg)

    def import_legs(self, rows: Sequence[Leg]) -> None:
        self._import_each(rows, _put_leg)

    def add_hub_activity(self, activity: HubActivity) -> HubActivity:
        return self._add(activity, _put_hub_activity)

    def import_hub_activities(self, rows: Sequence[HubActivity]) -> None:
        self._import_each(rows, _put_hub_activity)

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

    def hub_activities_of(self, shipment_id: str) -> list[HubActivity]:
        query = (
            sa.select(hub_activities)
            .where(hub_activities.c.shipment_id == shipment_id)
            .order_by(hub_activities.c.start, hub_activities.c.id)
        )
        with self._tx() as conn:
            return [_hub_activity(row._asdict()) for row in conn.execute(query)]


def _put_shipment(conn: Connection, shipment: ShipmentRow) -> None:
    # Not skipped when known: a different shipment under a known id is a conflict, never
    # dropped without a word.
    insert_once(conn, shipments, ("id",), db_row(shipment), "shipment")


def _put_shipment_lot(conn: Connection, item: ShipmentLot) -> None:
    row = db_row(item)
    require_shipment(conn, "shipment_lot", row["shipment_id"])
    require_lot(conn, "shipment_lot", row["gtin"], row["lot"])
    insert_once(conn, shipment_lots, ("shipment_id", "gtin", "lot"), row, "shipment_lot")


def _put_leg(conn: Connection, leg: Leg) -> None:
    row = db_row(leg)
    require_shipment(conn, "leg", row["shipment_id"])
    insert_once(conn, legs, ("shipment_id", "seq"), row, "leg")


def _put_hub_activity(conn: Connection, activity: HubActivity) -> None:
    row = db_row(activity)
    require_shipment(conn, "hub_activity", row["shipment_id"])
    require_location(conn, "hub_activity", row["location"])
    insert_once(conn, hub_activities, ("shipment_id", "id"), row, "hub_activity")


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
