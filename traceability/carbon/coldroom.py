"""Cold-room compressor power from InfluxDB (v1 HTTP API, InfluxQL).

Schema (written by the OPC UA gateway): measurement ``coldroom``, tags ``site``,
``location`` (SGLN URN of the room), ``plc``; field ``compressor_kw``. A room may
have several PLCs reporting; their powers are for one room only if the room has one
compressor, so a stay's query filters by site and location and expects one series.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from influx.client import InfluxClient
from influx.quoting import epoch_ns, string_literal
from influx.series import Series
from traceability.carbon.energy import PowerSample
from traceability.carbon.errors import EnergyUnavailable
from traceability.coldchain.telemetry import DEFAULT_DATABASE, read_telemetry
from traceability.errors import TelemetryUnavailable


class InfluxColdRoomPower:
    """``ColdRoomPower`` over the InfluxDB v1 ``/query`` endpoint."""

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._influx = InfluxClient(url, database, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._influx.close()

    def __enter__(self) -> InfluxColdRoomPower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def samples(
        self, site: str, location: str, start: datetime, end: datetime
    ) -> list[PowerSample]:
        where = f'"site" = {string_literal(site)} AND "location" = {string_literal(location)}'
        # Two statements in one request: the value holding at `start`, then the window.
        query = (
            f'SELECT last("compressor_kw") AS "kw" FROM "coldroom" '
            f"WHERE {where} AND time < {epoch_ns(start)};"
            f'SELECT "compressor_kw" AS "kw" FROM "coldroom" '
            f"WHERE {where} AND time >= {epoch_ns(start)} AND time < {epoch_ns(end)}"
        )
        samples = [
            PowerSample(time=datetime.fromtimestamp(row["time"] / 1e9, tz=UTC), kw=float(row["kw"]))
            for series in self._query(query)
            for row in series.rows()
            if row.get("kw") is not None
        ]
        samples.sort(key=lambda sample: sample.time)
        return samples

    def _query(self, query: str) -> list[Series]:
        try:
            return read_telemetry(self._influx, query)
        except TelemetryUnavailable as exc:
            raise EnergyUnavailable(str(exc)) from exc
