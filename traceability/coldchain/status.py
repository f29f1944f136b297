"""Publish what exposure found: ``lot_status``/``lot_location`` points for Grafana, and an
EPCIS ObjectEvent with sensor alerts for partners.

Schema (phase 2, shared with grafana/): ``lot_status`` tags gtin, lot; fields status
(ok|at_risk|compromised), mkt_c, min_c, max_c, excursion_minutes, and for a product with a
stability budget budget_left_min (the least minutes left over its steps), share_left (0..1)
and beyond_min (minutes at temperatures no step allows). ``lot_location`` tags
gtin, lot, location; field present (1 on arrival, 0 on departure) at the custody times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from gs1.digitallink import DigitalLink
from gs1.epcis.event import format_time
from influx.client import InfluxClient
from influx.errors import InfluxError
from influx.quoting import epoch_ns
from traceability.coldchain.exposure import Exposure
from traceability.custody import Timeline
from traceability.errors import TelemetryUnavailable


class LotStatusSink(Protocol):
    def write_status(self, exposure: Exposure, at: datetime) -> None: ...

    def write_locations(self, gtin: str, lot: str, timeline: Timeline) -> None: ...


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def status_line(exposure: Exposure, at: datetime) -> str:
    fields = [f'status="{exposure.status}"', f"excursion_minutes={exposure.minutes_out_of_range}"]
    for name, value in (
        ("mkt_c", exposure.mkt_c),
        ("min_c", exposure.min_c),
        ("max_c", exposure.max_c),
        ("budget_left_min", exposure.budget.left_min if exposure.budget else None),
        ("share_left", exposure.budget.share_left if exposure.budget else None),
        ("beyond_min", exposure.budget.beyond_min if exposure.budget else None),
    ):
        if value is not None:
            fields.append(f"{name}={float(value)}")
    tags = f"lot_status,gtin={_tag(exposure.gtin)},lot={_tag(exposure.lot)}"
    return f"{tags} {','.join(fields)} {epoch_ns(at)}"


def location_lines(gtin: str, lot: str, timeline: Timeline) -> list[str]:
    lines = []
    for stay in timeline.stays:
        tags = f"lot_location,gtin={_tag(gtin)},lot={_tag(lot)},location={_tag(stay.location)}"
        lines.append(f"{tags} present=1i {epoch_ns(stay.start)}")
        if stay.end is not None:
            lines.append(f"{tags} present=0i {epoch_ns(stay.end)}")
    return lines


class InfluxLotStatusWriter:
    """``LotStatusSink`` over the InfluxDB v1 ``/write`` endpoint."""

    def __init__(self, url: str, database: str = "tracehub", *, timeout: float = 5.0) -> None:
        self._influx = InfluxClient(url, database, timeout=timeout)

    def close(self) -> None:
        self._influx.close()

    def write_status(self, exposure: Exposure, at: datetime) -> None:
        self._write([status_line(exposure, at)])

    def write_locations(self, gtin: str, lot: str, timeline: Timeline) -> None:
        self._write(location_lines(gtin, lot, timeline))

    def _write(self, lines: list[str]) -> None:
        try:
            self._influx.write(lines)
        except InfluxError as exc:
            raise TelemetryUnavailable(f"lot status points not written: {exc}") from exc


def exposure_event(
    exposure: Exposure, at: datetime, read_point: str | None = None
) -> dict[str, Any]:
    """The verdict as an EPCIS 2.0 ObjectEvent (bizStep inspecting) with a sensor report.

    Excursions become sensor reports with ``exception: ALARM_CONDITION``.
    """
    lot_class = DigitalLink.of(exposure.gtin, exposure.lot).format()
    disposition = {"ok": "conformant", "at_risk": "conformant", "compromised": "non_conformant"}
    reports: list[dict[str, Any]] = []
    if exposure.readings:
        reports.append(
            {
                "type": "Temperature",
                "minValue": exposure.min_c,
                "maxValue": exposure.max_c,
                "meanValue": exposure.mean_c,
                "uom": "CEL",
            }
        )
    for excursion in exposure.excursions:
        reports.append(
            {
                "type": "Temperature",
                "exception": "ALARM_CONDITION",
                "time": format_time(excursion.start),
                "value": excursion.peak_c,
                "uom": "CEL",
            }
        )
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_time(at),
        "eventTimeZoneOffset": "+00:00",
        "quantityList": [{"epcClass": lot_class}],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": disposition[exposure.status],
    }
    if read_point:
        event["readPoint"] = {"id": read_point}
    if reports:
        event["sensorElementList"] = [
            {
                "sensorMetadata": {
                    "startTime": format_time(
                        min((e.start for e in exposure.excursions), default=at)
                    ),
                    "endTime": format_time(at),
                },
                "sensorReport": reports,
            }
        ]
    return event
