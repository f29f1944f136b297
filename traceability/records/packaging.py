"""Packaging of one unit of a lot (material, mass), for the footprint's packaging line."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from traceability.records.database import Database
from traceability.records.database import gtin_digits as _gtin
from traceability.records.insertion import db_row, insert_once, require_lot
from traceability.records.schema import packaging


class Packaging(BaseModel):
    """Packaging of one unit of a lot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    lot: str = Field(min_length=1, max_length=20)
    material: str = Field(min_length=1, max_length=80)
    mass_kg: float = Field(gt=0)
    factor_id: str | None = None


class PackagingRecords(Database):
    """What a lot's units are packed in."""

    def add_packaging(self, item: Packaging) -> Packaging:
        return self._add(item, _put)

    def import_packaging(self, rows: Sequence[Packaging]) -> None:
        self._import_each(rows, _put)

    def packaging_of(self, gtin: str, lot: str) -> list[Packaging]:
        query = (
            sa.select(packaging)
            .where(packaging.c.gtin == _gtin(gtin), packaging.c.lot == lot)
            .order_by(packaging.c.material)
        )
        with self._tx() as conn:
            return [Packaging.model_validate(row._asdict()) for row in conn.execute(query)]


def _put(conn: Connection, item: Packaging) -> None:
    row = db_row(item)
    require_lot(conn, "packaging", row["gtin"], row["lot"])
    insert_once(conn, packaging, ("gtin", "lot", "material"), row, "packaging")
