"""Locations: the places lots rest and travel between, and who holds goods there.

A location's custodian feeds the custody view; its coordinates, country and telemetry
site feed the carbon footprint (great-circle legs, grid intensity, cold-room power).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection

from traceability.records.database import Database
from traceability.records.insertion import db_row, insert_once
from traceability.records.schema import locations


class Location(BaseModel):
    """A place (SGLN URN): site, cold room, dock door, reefer; who holds goods there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


class LocationRecords(Database):
    """Locations with their custodian and coordinates."""

    def add_location(self, location: Location) -> Location:
        """Add a location; the identical location again is a no-op."""
        return self._add(location, _put)

    def import_locations(self, rows: Sequence[Location]) -> None:
        self._import_each(rows, _put)

    def get_location(self, urn: str) -> Location | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(locations).where(locations.c.urn == urn)).first()
        return None if row is None else Location.model_validate(row._asdict())

    def locations(self) -> list[Location]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(locations).order_by(locations.c.urn))
            return [Location.model_validate(row._asdict()) for row in rows]


def _put(conn: Connection, location: Location) -> None:
    insert_once(conn, locations, ("urn",), db_row(location), "location")
