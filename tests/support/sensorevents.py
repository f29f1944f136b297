"""Sensor-only EPCIS events (a room's logger reporting in ``sensorElementList``), as the
traceability tests capture them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

LOGGER = "urn:epc:id:giai:4012345.77"


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sensor_event(
    place: str,
    readings: Sequence[tuple[datetime, float]],
    device: str = LOGGER,
    *,
    uom: str = "CEL",
    **extra: Any,
) -> dict[str, Any]:
    """One event at ``place`` (its readPoint) with a report per ``(time, value)``, dated
    at its last reading."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": stamp(max(t for t, _ in readings)),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "readPoint": {"id": place},
        "sensorElementList": [
            {
                "sensorMetadata": {"deviceID": device},
                "sensorReport": [
                    {"type": "gs1:Temperature", "value": value, "uom": uom, "time": stamp(t)}
                    for t, value in readings
                ],
            }
        ],
    }
    event.update(extra)
    return event
