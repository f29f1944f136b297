"""The answer of ``/query``: InfluxDB's JSON body parsed into series, statement errors raised.

Pure: bytes in, frozen values out. The body is validated straight from JSON (pydantic's
parser is as fast as ``json.loads`` and leaves no intermediate dicts), which matters for
the raw-point reads that return hundreds of thousands of rows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from influx.errors import DatabaseNotFound, InfluxRejected

# influxd names only the statement that failed; the ones after it answer this.
NOT_EXECUTED = "not executed"


class Series(BaseModel):
    """One series of an answer: its name, tags (GROUP BY) and rows as InfluxDB sent them."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    columns: tuple[str, ...] = ()
    values: tuple[tuple[Any, ...], ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """Each row as ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


class _Statement(BaseModel):
    series: tuple[Series, ...] = ()
    error: str | None = None


class _Answer(BaseModel):
    results: tuple[_Statement, ...] = ()
    error: str | None = None


def parse_answer(body: bytes) -> list[Series]:
    """Every statement's series, in statement order.

    Raises ``InfluxRejected`` (``DatabaseNotFound`` for a missing database) when a
    statement failed, and ``ValueError`` when ``body`` is not a ``/query`` answer.
    """
    answer = _Answer.model_validate_json(body)
    errors = [s.error for s in answer.results if s.error is not None]
    if answer.error is not None:
        errors.insert(0, answer.error)
    if errors:
        raise _rejection(errors)
    return [series for statement in answer.results for series in statement.series]


def _rejection(errors: list[str]) -> InfluxRejected:
    causes = [error for error in errors if error != NOT_EXECUTED]
    if not causes:
        # influxd 1.6 gives no cause at all for a multi-statement query to a missing
        # database, or for a statement it could not plan.
        return InfluxRejected(
            "InfluxDB did not execute the query and named no cause "
            "(a missing database or a statement it cannot plan)",
            reason=NOT_EXECUTED,
        )
    reason = causes[0]
    kind = DatabaseNotFound if reason.startswith("database not found") else InfluxRejected
    return kind(f"InfluxDB rejected the query: {reason}", reason=reason)
