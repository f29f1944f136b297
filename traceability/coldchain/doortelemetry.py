"""``DoorReader`` over InfluxDB (v1 API): the newest door signal of a place's cold-room PLC.

Schema (written by the gateway's OPC UA source on every data change,
``gateway.lineprotocol.coldroom_line``): measurement ``coldroom``, tags ``site``,
``location``, ``plc``, boolean field ``door_open``. The PLC reports changes only, so the
newest point is the door's state however long ago it was written.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from influx.client import InfluxClient
from influx.quoting import string_literal
from traceability.coldchain.doors import DoorState
from traceability.coldchain.telemetry import DEFAULT_DATABASE, read_telemetry


class InfluxDoorReader:
    """``DoorReader`` over the InfluxDB v1 ``/query`` endpoint."""

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._influx = InfluxClient(url, database, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._influx.close()

    def __enter__(self) -> InfluxDoorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def door(self, location: str) -> DoorState | None:
        query = (
            'SELECT last("door_open") AS "door_open" FROM "coldroom" '
            f'WHERE "location" = {string_literal(location)}'
        )
        series = read_telemetry(self._influx, query)
        rows = series[0].rows() if series and series[0].values else []
        if not rows or rows[0].get("door_open") is None:
            return None
        return DoorState(
            open=bool(rows[0]["door_open"]),
            since=datetime.fromtimestamp(rows[0]["time"] / 1e9, tz=UTC),
        )
