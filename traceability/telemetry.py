"""Latest temperature at a location, read from InfluxDB over the v1 HTTP API (InfluxQL).

The v1 ``/query`` endpoint is served by InfluxDB 1.x, by 2.x through its v1
compatibility API and by 3.x, so this one adapter works against all of them.
Schema (written by the gateway): measurement ``temperature``, tag ``location``,
field ``celsius``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from traceability.errors import TelemetryUnavailable

DEFAULT_DATABASE = "tracehub"


class TemperaturePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: datetime
    celsius: float


class TemperatureReader(Protocol):
    def latest(self, location: str) -> TemperaturePoint | None:
        """The newest reading at ``location`` (an SGLN URN), or None if there is none.

        Raises ``TelemetryUnavailable`` when the store cannot answer.
        """
        ...


def influxql_string(value: str) -> str:
    """``value`` as a single-quoted InfluxQL string literal.

    InfluxQL strings accept the escapes ``\\\\``, ``\\'`` and ``\\n``; anything else
    is literal, so escaping those three keeps any tag value from ending the literal.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


class InfluxTemperatureReader:
    """``TemperatureReader`` over the InfluxDB v1 ``/query`` endpoint."""

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._database = database
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> InfluxTemperatureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def latest(self, location: str) -> TemperaturePoint | None:
        query = (
            'SELECT last("celsius") AS "celsius" FROM "temperature" '
            f'WHERE "location" = {influxql_string(location)}'
        )
        body = self._query(query)
        series = _first_result(body, self._database).get("series") or []
        if not series:
            return None
        columns: list[str] = series[0]["columns"]
        row = dict(zip(columns, series[0]["values"][0], strict=True))
        if row.get("celsius") is None:
            return None
        return TemperaturePoint(
            time=datetime.fromtimestamp(row["time"] / 1e9, tz=UTC), celsius=float(row["celsius"])
        )

    def _query(self, query: str) -> dict[str, Any]:
        try:
            response = self._client.get(
                f"{self._url}/query",
                params={"db": self._database, "q": query, "epoch": "ns"},
            )
        except httpx.HTTPError as exc:
            raise TelemetryUnavailable(
                f"InfluxDB at {self._url} did not answer ({exc.__class__.__name__}: {exc}); "
                "check that it is running and the URL is right"
            ) from exc
        if response.status_code != httpx.codes.OK:
            raise TelemetryUnavailable(
                f"InfluxDB at {self._url} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise TelemetryUnavailable(
                f"InfluxDB at {self._url} sent a non-JSON answer; is the URL an InfluxDB?"
            ) from exc
        return body


def _first_result(body: dict[str, Any], database: str) -> dict[str, Any]:
    if "error" in body:
        raise TelemetryUnavailable(f"InfluxDB query failed: {body['error']}")
    results = body.get("results") or [{}]
    result: dict[str, Any] = results[0]
    if "error" in result:
        raise TelemetryUnavailable(
            f"InfluxDB database {database!r}: {result['error']}; "
            "check the database name (setting 'database')"
        )
    return result
