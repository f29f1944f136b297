"""Locations: the places lots rest and travel between, and who holds goods there.

A location's custodian feeds the custody view; its coordinates, country and telemetry
site feed the carbon footprint (great-circle legs, grid intensity, cold-room power).
Every write takes ``before_commit`` (called in the write's transaction with the
locations as they will be committed; an exception rolls the write back), where
``traceability.masterdata`` signs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordNotFound
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
    parent: str | None = Field(default=None, max_length=200)  # the location it is part of

    @model_validator(mode="after")
    def _both(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude: give latitude and longitude together")
        return self


LocationsWritten = Callable[[Sequence[Location]], None]


class LocationRecords(Database):
    """Locations with their custodian and coordinates."""

    def add_location(
        self, location: Location, before_commit: LocationsWritten | None = None
    ) -> Location:
        """Add a location; the identical location again is a no-op."""

        def put(conn: Connection, value: Location) -> None:
            _put(conn, value)
            if before_commit is not None:
                before_commit([value])

        return self._add(location, put)

    def import_locations(
        self, rows: Sequence[Location], before_commit: LocationsWritten | None = None
    ) -> None:
        if before_commit is None:
            self._import_each(rows, _put)
            return

        def put_all(conn: Connection, all_rows: Sequence[Location]) -> None:
            for number, row in enumerate(all_rows, start=1):
                try:
                    _put(conn, row)
                except RecordConflict as exc:
                    raise RecordConflict(f"row {number}: {exc}") from exc
            before_commit(all_rows)

        self._add(rows, put_all)

    def update_location(
        self, urn: str, before_commit: LocationsWritten | None = None, **changes: Any
    ) -> Location:
        """Change fields of a known location (``name=…``, ``custodian=…``)."""
        if "urn" in changes:
            raise RecordConflict("location urn: a location's URN is its identity; add a new one")
        with self._tx() as conn:
            row = conn.execute(sa.select(locations).where(locations.c.urn == urn)).first()
            if row is None:
                raise RecordNotFound(f"location {urn} is unknown; add_location it first")
            try:
                location = Location.model_validate({**row._asdict(), **changes})
            except ValueError as exc:
                raise RecordConflict(f"location {urn}: {exc}") from exc
            conn.execute(
                locations.update().where(locations.c.urn == urn).values(**db_row(location))
            )
            if before_commit is not None:
                before_commit([location])
        return location

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
