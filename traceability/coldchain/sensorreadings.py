"""Temperature readings out of EPCIS 2.0 event bodies (``sensorElementList``), pure.

A reading is every ``sensorReport`` whose ``type`` is Temperature (bare, ``gs1:``
prefixed, its Web URI ``https://gs1.org/voc/Temperature`` or the legacy CBV URN), in °C
(``uom`` CEL, FAH or KEL; any other unit, or none, says nothing we can compare with a
band), of ``value``, else ``meanValue`` (a report of only min/max is a range, not a
reading). Its time is the report's ``time``, else its element's ``sensorMetadata.time``,
else the event's ``eventTime``; its probe is the report's ``deviceID``, else the
metadata's, else the event's id, named ``epcis:<id>`` so a page tells it from a gateway
probe (InfluxDB tag ``device``); its place is the event's ``bizLocation``, else its
``readPoint``. A report flagged ``ERROR_CONDITION`` (the sensor says it failed), without
a number, or of a unit or time that does not read, is skipped, never guessed.

A room's readings (``room_readings``) come from sensor-only events: events naming no
object (no EPC, class, parent or child). An event that names objects measures those
objects (a logger on a pallet; the hub's own exposure event, whose reports summarise a
lot) and never speaks for the room. An error declaration (EPCIS 2.0 §7.4.1.2) withdraws
the readings of the event it corrects, and gives none itself.

A reading dated more than ``REPORT_REACH`` from its event's ``eventTime`` is skipped: a
sensor event tells what was measured around when it happened, and the bound lets the
records find the events of a stay by their indexed event time. The lot page and
``tracehub verify`` read bodies through these same functions, so they agree reading
for reading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import declared_id
from gs1.epcis.querymatch import parse_time
from traceability.coldchain.mkt import KELVIN

PROBE_PREFIX = "epcis:"
REPORT_REACH = timedelta(days=1)
_TEMPERATURE = frozenset(
    {
        "Temperature",
        "gs1:Temperature",
        "https://gs1.org/voc/Temperature",
        "urn:epcglobal:cbv:sdt:Temperature",
    }
)
# The fields by which an event names objects (EPCIS 2.0 §7.3): any of them, and the
# event is not the room's.
_OBJECT_FIELDS = (
    "epcList",
    "quantityList",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
)


class SensorReading(BaseModel):
    """One temperature reading of one probe at one place."""

    model_config = ConfigDict(frozen=True)

    location: str
    device: str  # ``epcis:<deviceID>``
    time: datetime
    celsius: float

    @property
    def ns(self) -> int:
        """Nanoseconds since the epoch, exact to the microsecond (as ``influx.quoting``)."""
        return int(self.time.timestamp()) * 1_000_000_000 + self.time.microsecond * 1000


def place_of(body: Mapping[str, Any]) -> str | None:
    """The event's bizLocation, else its readPoint."""
    for field in ("bizLocation", "readPoint"):
        found = body.get(field)
        place = found.get("id") if isinstance(found, Mapping) else None
        if isinstance(place, str) and place:
            return place
    return None


def sensor_only(body: Mapping[str, Any]) -> bool:
    """Whether the event names no object (so its sensors speak for its place)."""
    return not any(body.get(field) for field in _OBJECT_FIELDS)


def celsius_of(value: float, uom: Any) -> float | None:
    """``value`` in ``uom`` (UN/ECE rec. 20: CEL, FAH, KEL) as °C; None: not a temperature."""
    if uom == "CEL":
        return value
    if uom == "FAH":
        return (value - 32) * 5 / 9
    if uom == "KEL":
        return value - KELVIN
    return None


def temperature_readings(event_id: str, body: Mapping[str, Any]) -> list[SensorReading]:
    """Every temperature reading the body's sensor reports give (see the module doc),
    whatever the event names; ``event_id``: the stored id, the probe of last resort."""
    place = place_of(body)
    raw_time = body.get("eventTime")
    at = parse_time(raw_time) if isinstance(raw_time, str) else None
    if place is None or at is None:
        return []
    found = []
    for metadata, report in _reports(body):
        celsius = _celsius(report)
        moment = _time_of(report, metadata, at)
        if celsius is None or moment is None or abs(moment - at) > REPORT_REACH:
            continue
        named = (report.get("deviceID"), metadata.get("deviceID"), body.get("eventID"))
        device: str = next((d for d in named if isinstance(d, str) and d), event_id)
        found.append(
            SensorReading(location=place, device=PROBE_PREFIX + device, time=moment,
                          celsius=celsius)
        )  # fmt: skip
    return found


def room_place(body: Mapping[str, Any]) -> str | None:
    """The place a sensor-only event gives temperature readings of (None: it gives none):
    the place whose hash-chain stream the event is signed into, so a lot's bundle
    carries it (``anchoring.feeder``). An error declaration of one counts too: it
    repeats the body it withdraws."""
    if not sensor_only(body) or not temperature_readings("", body):
        return None
    return place_of(body)


def room_readings(events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[SensorReading]:
    """The readings ``(stored id, body)`` events give of their places, time order:
    sensor-only events only, less those an error declaration among ``events`` withdraws
    (the declaration has the corrected event's id, ``gs1.epcis.event.declared_id``)."""
    kept = list(events)
    withdrawn = {declared_id(event_id) for event_id, body in kept if _declares(body)}
    found = [
        reading
        for event_id, body in kept
        if sensor_only(body) and not _declares(body) and event_id not in withdrawn
        for reading in temperature_readings(event_id, body)
    ]
    return sorted(found, key=lambda r: (r.location, r.device, r.time, r.celsius))


def _declares(body: Mapping[str, Any]) -> bool:
    return isinstance(body.get("errorDeclaration"), Mapping)


def _reports(body: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(its element's metadata, report) of every Temperature report."""
    elements = body.get("sensorElementList")
    for element in elements if isinstance(elements, list) else ():
        if not isinstance(element, Mapping):
            continue
        metadata = element.get("sensorMetadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        reports = element.get("sensorReport")
        for report in reports if isinstance(reports, list) else ():
            if isinstance(report, Mapping) and report.get("type") in _TEMPERATURE:
                yield metadata, report


def _celsius(report: Mapping[str, Any]) -> float | None:
    if report.get("exception") in ("ERROR_CONDITION", "https://gs1.org/voc/ERROR_CONDITION"):
        return None
    for field in ("value", "meanValue"):
        value = report.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None
            return celsius_of(float(value), report.get("uom"))
    return None


def _time_of(
    report: Mapping[str, Any], metadata: Mapping[str, Any], event_time: datetime
) -> datetime | None:
    """The report's time, else its metadata's, else the event's; None: one that is
    given does not read (junk, skipped rather than moved to another time)."""
    for holder in (report, metadata):
        if "time" in holder:
            text = holder["time"]
            return parse_time(text) if isinstance(text, str) else None
    return event_time


__all__ = [
    "PROBE_PREFIX",
    "REPORT_REACH",
    "SensorReading",
    "celsius_of",
    "place_of",
    "room_place",
    "room_readings",
    "sensor_only",
    "temperature_readings",
]
