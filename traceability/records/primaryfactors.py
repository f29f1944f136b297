"""The user's own (primary) emission factors, kept as JSON for ``traceability.carbon``.

The records do not read them: a factor is validated by its importer
(``traceability.carbon.factors.PrimaryFactorRow``) and stored as its JSON body, so the
records need not know the factor model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from traceability.errors import RecordConflict
from traceability.records.database import Database
from traceability.records.schema import primary_factors


class PrimaryFactorRecords(Database):
    """Primary factors by id; the same id again must carry the same factor."""

    def add_primary_factor(self, factor_id: str, body: dict[str, Any]) -> None:
        """Store the user's own factor (a ``carbon.factors.EmissionFactor`` as JSON)."""
        with self._tx() as conn:
            _put(conn, factor_id, body)

    def import_primary_factors(self, rows: Sequence[BaseModel]) -> None:
        self._import_each(rows, _put_row)

    def primary_factors(self) -> list[dict[str, Any]]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(primary_factors.c.body).order_by(primary_factors.c.id))
            return [json.loads(body) for body in rows.scalars()]


def _put_row(conn: Connection, row: BaseModel) -> None:
    # JSON round trip: enum members become their text, as the factor's CSV gave them.
    body = json.loads(json.dumps({k: v for k, v in row.model_dump().items() if v is not None}))
    _put(conn, str(body["id"]), body)


def _put(conn: Connection, factor_id: str, body: dict[str, Any]) -> None:
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
