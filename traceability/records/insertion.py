"""How a location, shipment lot, leg, stay, packaging or hub activity is written.

The rule the logistics records share: a record is written once, after the records it
names exist; the identical record again is a no-op, a different one under the same key
is a ``RecordConflict`` (records are not edited by import). Runs inside the caller's
transaction, so an import file is kept whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import gtin_digits, to_db
from traceability.records.schema import locations, lots, shipments

_TIMES = ("start", "end", "departed_at", "arrived_at")


def db_row(value: BaseModel) -> dict[str, Any]:
    """``value`` as column values: 14-digit GTIN, naive-UTC times."""
    data = value.model_dump()
    if "gtin" in data:
        data["gtin"] = gtin_digits(data["gtin"])
    for key in _TIMES:
        if isinstance(data.get(key), datetime):
            data[key] = to_db(data[key])
    return data


def insert_once(
    conn: Connection, table: sa.Table, keys: Sequence[str], row: dict[str, Any], kind: str
) -> None:
    """Insert ``row``; the identical record again is a no-op, another a conflict."""
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


def require_shipment(conn: Connection, kind: str, shipment_id: str | None) -> None:
    """The shipment a record names exists (a record naming none needs none)."""
    if shipment_id is not None:
        _require(conn, shipments, shipments.c.id == shipment_id, kind, "shipment_id", shipment_id)


def require_lot(conn: Connection, kind: str, gtin: str, lot: str) -> None:
    _require(conn, lots, sa.and_(lots.c.gtin == gtin, lots.c.lot == lot), kind, "lot", lot)


def require_location(conn: Connection, kind: str, urn: str) -> None:
    _require(conn, locations, locations.c.urn == urn, kind, "location", urn)


def _require(
    conn: Connection, table: sa.Table, where: Any, kind: str, field: str, value: str
) -> None:
    if conn.execute(sa.select(sa.literal(1)).select_from(table).where(where)).first() is None:
        what = {"shipments": "shipment", "lots": "lot", "locations": "location"}[table.name]
        raise RecordNotFound(
            f"{kind} {field}: {what} {value} is unknown; add or import the {what} first"
        )
