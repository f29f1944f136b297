"""Where the wrong-place rule reads RFID tag reads from: a port, and its InfluxDB v1 adapter.

The gateway writes every admitted read as ``rfid_read`` (tags site, reader, read_point —
where the device registry places the reader, not the payload's claim; field epc, 24 hex
characters; ``gateway.lineprotocol.rfid_line``). The engine reads what arrived since its
watermark minus an overlap (late, spooled reads), one statement per round, leaving out
the read points it need not judge (``skip``: those of allowed kinds, where most reads are).

InfluxDB errors become ``TelemetryUnavailable`` (``coldchain.telemetry.read_telemetry``):
the loop reports it and waits the outage out.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Protocol

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict

from influx.client import InfluxClient
from influx.errors import DatabaseNotFound, InfluxRejected
from influx.quoting import epoch_ns, string_literal
from influx.series import NOT_EXECUTED
from traceability.coldchain.telemetry import DEFAULT_DATABASE, read_telemetry
from traceability.errors import TelemetryUnavailable


class TagRead(BaseModel):
    """One stored tag read: when, where (read point URN), by which reader, which tag."""

    model_config = ConfigDict(frozen=True)

    time: AwareDatetime
    read_point: str
    reader: str | None = None
    site: str | None = None
    epc: str  # 24 hex characters as the reader sent them


class TagReadSource(Protocol):
    def tag_reads(self, since: datetime, skip: Collection[str] = ()) -> list[TagRead]:
        """Every read after ``since`` at a read point not in ``skip``, in time order.
        Raises ``TelemetryUnavailable``."""
        ...


class InfluxTagReadSource:
    """``TagReadSource`` over the InfluxDB v1 ``/query`` endpoint."""

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

    def tag_reads(self, since: datetime, skip: Collection[str] = ()) -> list[TagRead]:
        where = "".join(f' AND "read_point" != {string_literal(p)}' for p in sorted(skip))
        query = (
            f'SELECT "epc" FROM "rfid_read" WHERE time > {epoch_ns(since)}{where}'
            ' GROUP BY "read_point", "reader", "site"'
        )
        try:
            found = read_telemetry(self._influx, query)
        except TelemetryUnavailable as exc:
            cause = exc.__cause__
            # Nothing written yet: the gateway creates the database with its first write.
            if isinstance(cause, DatabaseNotFound) or (
                isinstance(cause, InfluxRejected) and cause.reason == NOT_EXECUTED
            ):
                return []
            raise
        reads: list[TagRead] = []
        for series in found:
            read_point = series.tags.get("read_point") or ""
            if not read_point:
                continue  # a read without its place cannot be judged
            for row in series.rows():
                epc = row.get("epc")
                if not isinstance(epc, str):
                    continue
                reads.append(
                    TagRead(
                        time=datetime.fromtimestamp(int(row["time"]) / 1e9, tz=UTC),
                        read_point=read_point,
                        reader=series.tags.get("reader") or None,
                        site=series.tags.get("site") or None,
                        epc=epc,
                    )
                )
        reads.sort(key=lambda r: (r.time, r.read_point, r.epc))
        return reads
