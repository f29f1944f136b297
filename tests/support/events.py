"""Event builders shared by the traceability tests."""

from __future__ import annotations

from typing import Any

DOCK = "urn:epc:id:sgln:4012345.00001.0"
COLD_ROOM = "urn:epc:id:sgln:4012345.00002.0"
GTIN = "04012345111118"  # = urn:epc:id:sgtin:4012345.011111.*


def object_event(
    serial: str = "1001",
    time: str = "2026-11-22T10:00:00.123Z",
    read_point: str = DOCK,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "disposition": "in_progress",
        "readPoint": {"id": read_point},
    }
    event.update(extra)
    return event
