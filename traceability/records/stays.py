"""Stays: a lot's time in a (cold) room and its share of that room, for the footprint.

A stay names its lot and room (both must exist) and, when it happened during a
shipment, the shipment; its energy comes from the room's compressor power series
(``traceability.carbon``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
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
from traceability.records.schema import stays


class Stay(BaseModel):
    """A lot's time in a (cold) room and its share of that room over the stay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


class StayRecords(Database):
    """Lots' stays in rooms."""

    def add_stay(self, stay: Stay) -> Stay:
        return self._add(stay, _put)

    def import_stays(self, rows: Sequence[Stay]) -> None:
        self._import_each(rows, _put)

    def stays_of_lot(self, gtin: str, lot: str) -> list[Stay]:
        query = (
            sa.select(stays)
            .where(stays.c.gtin == _gtin(gtin), stays.c.lot == lot)
            .order_by(stays.c.start, stays.c.id)
        )
        with self._tx() as conn:
            return [_stay(row._asdict()) for row in conn.execute(query)]


def _put(conn: Connection, stay: Stay) -> None:
    row = db_row(stay)
    require_shipment(conn, "stay", row["shipment_id"])
    require_lot(conn, "stay", row["gtin"], row["lot"])
    require_location(conn, "stay", row["location"])
    insert_once(conn, stays, ("id",), row, "stay")


def _stay(data: dict[str, Any]) -> Stay:
    data["start"] = from_db(data["start"])
    data["end"] = from_db(data["end"])
    return Stay.model_validate(data)
