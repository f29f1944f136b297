"""Latest temperature at a location, read from InfluxDB over the v1 HTTP API (InfluxQL).

The v1 ``/query`` endpoint is served by InfluxDB 1.x, by 2.x through its v1
compatibility API and by 3.x, so this one adapter works against all of them.
Schema (written by the gateway): measurement ``temperature``, tag ``location``,
field ``celsius``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from traceability.errors import TelemetryUnavailable
from traceability.exposure import Bucket

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

    def buckets(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        width: timedelta,
    ) -> list[Bucket]:
        """Per-bucket count/mean/min/max and out-of-range count, computed by InfluxDB."""
        every = f"{int(width.total_seconds())}s"
        where = (
            f'"location" = {influxql_string(location)} '
            f"AND time >= {_ns(start)} AND time < {_ns(end)}"
        )
        stats = (
            'SELECT count("celsius") AS n, mean("celsius") AS mean, min("celsius") AS lo, '
            f'max("celsius") AS hi FROM "temperature" WHERE {where} '
            f"GROUP BY time({every}) fill(none)"
        )
        rows = _rows(_result(self._query(stats), self._database, 0))
        # Count out-of-range readings only in buckets whose min/max cross the band
        # (few, usually none): a field filter makes InfluxDB read every value, so
        # running it over the whole span would cost more than the statistics themselves.
        crossing = [
            r["time"]
            for r in rows
            if r.get("n")
            and ((low is not None and r["lo"] < low) or (high is not None and r["hi"] > high))
        ]
        out = (
            self._out_of_range(location, crossing, width, low, high, (_ns(start), _ns(end)))
            if crossing
            else {}
        )
        return [
            Bucket(
                start=datetime.fromtimestamp(r["time"] / 1e9, tz=UTC),
                width=width,
                count=int(r["n"]),
                mean_c=float(r["mean"]),
                min_c=float(r["lo"]),
                max_c=float(r["hi"]),
                out_of_range=out.get(r["time"], 0),
            )
            for r in rows
            if r.get("n")
        ]

    def _out_of_range(
        self,
        location: str,
        bucket_starts: list[int],
        width: timedelta,
        low: float | None,
        high: float | None,
        span: tuple[int, int],
    ) -> dict[int, int]:
        step = int(width.total_seconds()) * 1_000_000_000
        every = f"{int(width.total_seconds())}s"
        ranges: list[list[int]] = []
        for start in sorted(bucket_starts):
            if ranges and ranges[-1][1] == start:
                ranges[-1][1] = start + step
            else:
                ranges.append([start, start + step])
        band = " OR ".join(
            b
            for b in (
                f'"celsius" < {low!r}' if low is not None else "",
                f'"celsius" > {high!r}' if high is not None else "",
            )
            if b
        )
        queries = [
            f'SELECT count("celsius") AS n FROM "temperature" WHERE "location" = '
            f"{influxql_string(location)} AND time >= {max(a, span[0])} "
            f"AND time < {min(b, span[1])} AND ({band}) "
            f"GROUP BY time({every}) fill(none)"
            for a, b in ranges
        ]
        counts: dict[int, int] = {}
        for chunk in range(0, len(queries), 50):
            body = self._query(";".join(queries[chunk : chunk + 50]))
            for index in range(len(body.get("results") or [])):
                for row in _rows(_result(body, self._database, index)):
                    counts[row["time"]] = counts.get(row["time"], 0) + int(row["n"])
        return counts

    def points(self, location: str, start: datetime, end: datetime) -> list[TemperaturePoint]:
        """Every raw reading at ``location`` in ``[start, end)`` (the naive baseline)."""
        query = (
            f'SELECT "celsius" FROM "temperature" WHERE "location" = {influxql_string(location)} '
            f"AND time >= {_ns(start)} AND time < {_ns(end)}"
        )
        rows = _rows(_result(self._query(query), self._database, 0))
        return [
            TemperaturePoint(
                time=datetime.fromtimestamp(r["time"] / 1e9, tz=UTC), celsius=float(r["celsius"])
            )
            for r in rows
            if r.get("celsius") is not None
        ]

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


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _result(body: dict[str, Any], database: str, index: int) -> dict[str, Any]:
    first = _first_result(body, database)
    results = body.get("results") or [first]
    if index >= len(results):
        return {}
    result: dict[str, Any] = results[index]
    if "error" in result:
        raise TelemetryUnavailable(f"InfluxDB query failed: {result['error']}")
    return result


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for series in result.get("series") or []:
        columns: list[str] = series["columns"]
        rows.extend(dict(zip(columns, values, strict=True)) for values in series["values"])
    return rows
