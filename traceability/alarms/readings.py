"""Where the alarm engine reads from: a port, and its InfluxDB v1 adapter.

Per measurement and round: one statement for every series from the recent past the
engine names (``since``), grouped by the series' tags (InfluxQL ``GROUP BY``), plus one
statement per series whose own watermark is older (``behind``: a silent probe, a door that
changes rarely), sent 50 to a request. InfluxQL cannot OR time conditions, and one shared
statement from the oldest watermark would re-read every probe's data for as long as one
probe is silent.

- ``temperature``: ``temperature`` (tags device, location, site; field celsius)
- ``door``: ``coldroom`` (tags location, plc, site; field door_open, true = 1.0)
- ``heartbeat``: ``gateway_health`` (tag gateway; written every 10 s); the gateway id is
  both the series' location and device.

InfluxDB errors become ``TelemetryUnavailable`` (``coldchain.telemetry.read_telemetry``):
the loop reports it and waits the outage out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from influx.client import InfluxClient
from influx.errors import DatabaseNotFound, InfluxRejected
from influx.quoting import epoch_ns, string_literal
from influx.series import NOT_EXECUTED
from influx.series import Series as InfluxSeries
from traceability.alarms.evaluation import Reading
from traceability.coldchain.telemetry import DEFAULT_DATABASE, read_telemetry
from traceability.errors import TelemetryUnavailable

Measure = Literal["temperature", "door", "heartbeat"]


class SeriesKey(BaseModel):
    """One series: the place (or gateway) and the probe/PLC/gateway it comes from."""

    model_config = ConfigDict(frozen=True)

    location: str
    device: str | None = None


class Series(BaseModel):
    """A series' readings after some time, in time order, and its site tag."""

    model_config = ConfigDict(frozen=True)

    site: str | None = None
    readings: tuple[Reading, ...] = ()


class ReadingSource(Protocol):
    def readings(
        self,
        measure: Measure,
        since: datetime,
        behind: Mapping[SeriesKey, datetime] | None = None,
    ) -> Mapping[SeriesKey, Series]:
        """Every reading of ``measure`` after ``since``, and of each series in ``behind``
        after its own time (series whose watermark lags the others: silent probes, doors
        that change rarely), per series.

        Raises ``TelemetryUnavailable`` when the store cannot answer.
        """
        ...


# measurement, field, location tag, device tag
_QUERIES: dict[Measure, tuple[str, str, str, str]] = {
    "temperature": ("temperature", "celsius", "location", "device"),
    "door": ("coldroom", "door_open", "location", "plc"),
    "heartbeat": ("gateway_health", "received", "gateway", "gateway"),
}
_PER_REQUEST = 50  # statements sent in one /query


class InfluxReadingSource:
    """``ReadingSource`` over the InfluxDB v1 ``/query`` endpoint."""

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._influx = InfluxClient(url, database, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._influx.close()

    def readings(
        self,
        measure: Measure,
        since: datetime,
        behind: Mapping[SeriesKey, datetime] | None = None,
    ) -> dict[SeriesKey, Series]:
        measurement, field, location_tag, device_tag = _QUERIES[measure]
        tags = [location_tag] if location_tag == device_tag else [location_tag, device_tag]
        if measure != "heartbeat":
            tags.append("site")
        head = f'SELECT "{field}" FROM "{measurement}" WHERE '
        tail = " GROUP BY " + ", ".join(f'"{t}"' for t in tags)
        statements = [f"{head}time > {epoch_ns(since)}{tail}"]
        for key, after in (behind or {}).items():
            where = f'"{location_tag}" = {string_literal(key.location)} AND '
            if device_tag != location_tag:
                where += f'"{device_tag}" = {string_literal(key.device or "")} AND '
            statements.append(f"{head}{where}time > {epoch_ns(after)}{tail}")
        found: dict[SeriesKey, tuple[str | None, dict[int, float]]] = {}
        for chunk in range(0, len(statements), _PER_REQUEST):
            query = ";".join(statements[chunk : chunk + _PER_REQUEST])
            for series in self._query(query):
                location = series.tags.get(location_tag) or ""
                if not location:
                    continue  # a point without its place cannot be alarmed about
                key = SeriesKey(location=location, device=series.tags.get(device_tag) or None)
                _, values = found.setdefault(key, (series.tags.get("site") or None, {}))
                for row in series.rows():
                    value = row.get(field)
                    if value is not None:  # the same point from two statements: once
                        values[int(row["time"])] = float(value)
        return {
            key: Series(
                site=site,
                readings=tuple(
                    Reading(time=datetime.fromtimestamp(ns / 1e9, tz=UTC), value=value)
                    for ns, value in sorted(values.items())
                ),
            )
            for key, (site, values) in found.items()
        }

    def _query(self, query: str) -> list[InfluxSeries]:
        try:
            return read_telemetry(self._influx, query)
        except TelemetryUnavailable as exc:
            cause = exc.__cause__
            # Nothing written yet: the gateway creates the database with its first write
            # (influxd 1.6 answers "not executed" to a multi-statement query on it).
            if isinstance(cause, DatabaseNotFound) or (
                isinstance(cause, InfluxRejected) and cause.reason == NOT_EXECUTED
            ):
                return []
            raise
