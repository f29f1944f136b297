"""Cold-room compressor power from InfluxDB (v1 HTTP API, InfluxQL).

Schema (written by the OPC UA gateway): measurement ``coldroom``, tags ``site``,
``location`` (SGLN URN of the room), ``plc``; field ``compressor_kw``. A room may
have several PLCs reporting; their powers are for one room only if the room has one
compressor, so a stay's query filters by site and location and expects one series.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from traceability.carbon.energy import PowerSample
from traceability.carbon.errors import EnergyUnavailable
from traceability.coldchain.telemetry import DEFAULT_DATABASE
from traceability.errors import TelemetryUnavailable
from traceability.influxql import InfluxQL, influxql_string


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


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
        self._influx = InfluxQL(url, database, timeout=timeout, transport=transport)
        self._database = database

    def close(self) -> None:
        self._influx.close()

    def __enter__(self) -> InfluxColdRoomPower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def samples(
        self, site: str, location: str, start: datetime, end: datetime
    ) -> list[PowerSample]:
        where = f'"site" = {influxql_string(site)} AND "location" = {influxql_string(location)}'
        # Two statements in one request: the value holding at `start`, then the window.
        query = (
            f'SELECT last("compressor_kw") AS "kw" FROM "coldroom" '
            f"WHERE {where} AND time < {_ns(start)};"
            f'SELECT "compressor_kw" AS "kw" FROM "coldroom" '
            f"WHERE {where} AND time >= {_ns(start)} AND time < {_ns(end)}"
        )
        body = self._query(query)
        results: list[dict[str, Any]] = body.get("results") or []
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            # A failed statement makes later ones "not executed"; influxd 1.6 answers only
            # "not executed" when the database does not exist.
            causes = [error for error in errors if error != "not executed"]
            cause = causes[0] if causes else "the query was not executed"
            raise EnergyUnavailable(
                f"InfluxDB database {self._database!r}: {cause}; check that the database "
                "exists (setting TRACEHUB_INFLUX_DATABASE or --database)"
            )
        samples: list[PowerSample] = []
        for result in results:
            for series in result.get("series") or []:
                columns: list[str] = series["columns"]
                for values in series["values"]:
                    row = dict(zip(columns, values, strict=True))
                    if row.get("kw") is None:
                        continue
                    samples.append(
                        PowerSample(
                            time=datetime.fromtimestamp(row["time"] / 1e9, tz=UTC),
                            kw=float(row["kw"]),
                        )
                    )
        samples.sort(key=lambda sample: sample.time)
        return samples

    def _query(self, query: str) -> dict[str, Any]:
        try:
            body = self._influx.query(query)
        except TelemetryUnavailable as exc:
            raise EnergyUnavailable(str(exc)) from exc
        if "error" in body:
            raise EnergyUnavailable(f"InfluxDB query failed: {body['error']}")
        return body
