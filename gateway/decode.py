"""Bytes from a source to validated values. ``decode`` never raises: bad input is a Rejection.

Every rejection carries a short ``code`` (the ``reason`` tag of the ``dead_letter``
measurement), a human ``reason`` naming the field and the fix, and the ``field``.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from gs1.epc import Epc, decode_epc
from gs1.errors import EpcError
from sensors.agv import AgvState, AgvTopic, parse_state, validate_message
from sensors.coldroom import ColdRoomChange
from sensors.errors import AgvError, TopicError
from sensors.fields import ID_RE
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading
from sensors.topics import Topic

MAX_PAYLOAD_BYTES = 64 * 1024
OPCUA_TOPIC_PREFIX = "opcua/"
"""Spool topic of OPC UA data changes: ``opcua/{site}/{plc}`` (never an MQTT topic)."""
LOGGER_TOPIC_PREFIX = "logger/"
"""Spool topic of readings from USB data-logger files: ``logger/{site}/{device}`` (never
an MQTT topic; ``tracehub readings import`` appends them, gateway/loggerfile.py)."""

# Dead-letter codes (the ``reason`` tag in InfluxDB).
NOT_JSON = "not_json"
BAD_FIELD = "bad_field"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_DEVICE = "unknown_device"
OVERSIZED = "oversized"
BAD_TOPIC = "bad_topic"
BAD_EPC = "bad_epc"
ID_MISMATCH = "id_mismatch"
SINK_REJECTED = "sink_rejected"
CAPTURE_REJECTED = "capture_rejected"
# Admission (gateway/admission.py): well formed, but not believable or not new.
CLOCK = "clock"
LOCATION_MISMATCH = "location_mismatch"
UNASSIGNED = "unassigned"
CONFLICT = "conflict"
WRONG_SOURCE = "wrong_source"  # a logger file for a probe, MQTT for a logger (loggerdevice)
CODES = (
    NOT_JSON, BAD_FIELD, OUT_OF_RANGE, UNKNOWN_DEVICE, OVERSIZED, BAD_TOPIC, BAD_EPC,
    ID_MISMATCH, SINK_REJECTED, CAPTURE_REJECTED, CLOCK, LOCATION_MISMATCH, UNASSIGNED,
    CONFLICT, WRONG_SOURCE,
)  # fmt: skip

_RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}
)

_JSON: TypeAdapter[Any] = TypeAdapter(Any)


class Rejection(BaseModel):
    """Why a message was refused: ``field`` is the culprit (``topic``, ``payload`` or a key)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    field: str
    code: str = BAD_FIELD


class TemperatureObservation(BaseModel):
    """A reading plus the site its topic names (the reading itself does not carry it).
    Its ``location`` is only a claim: the pipeline stores the probe's placement."""

    model_config = ConfigDict(frozen=True)

    site: str
    reading: TemperatureReading


class LoggerObservation(TemperatureObservation):
    """A temperature reading from a data-logger file: stored, de-duplicated and sealed as
    any other, but old by nature, so the clock's backfill window does not apply to it
    (gateway/admission.py); its other rules do."""


class TagObservation(BaseModel):
    """A tag read plus its decoded EPC and the site its topic names."""

    model_config = ConfigDict(frozen=True)

    site: str
    read: TagRead
    epc: Epc


class AgvObservation(BaseModel):
    """A schema-valid VDA 5050 state message."""

    model_config = ConfigDict(frozen=True)

    state: AgvState


class AgvConnection(BaseModel):
    """A schema-valid VDA 5050 connection message (validated, not stored)."""

    model_config = ConfigDict(frozen=True)

    manufacturer: str
    serial: str
    connection_state: str


class ColdRoomObservation(BaseModel):
    model_config = ConfigDict(frozen=True)

    change: ColdRoomChange


Decoded = (
    TemperatureObservation
    | TagObservation
    | AgvObservation
    | AgvConnection
    | ColdRoomObservation
    | Rejection
)


def _path(loc: tuple[int | str, ...]) -> str:
    """A field path people can read: a key that is blank or unprintable (``"\\r"``) is
    shown quoted, so the dead letter still names it."""
    return ".".join(
        str(p) if str(p).strip() and str(p).isprintable() else repr(str(p)) for p in loc
    )


def _rejection(exc: ValidationError) -> Rejection:
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors:
        where = _path(err["loc"]) or "payload"
        got = f" (got {err['input']!r:.60})" if err["type"] != "missing" and err["loc"] else ""
        parts.append(f"{where}: {err['msg']}{got}")
    first = _path(errors[0]["loc"]) if errors else ""
    kind = errors[0]["type"] if errors else ""
    if kind == "json_invalid":
        code = NOT_JSON
    elif kind in _RANGE_ERRORS:
        code = OUT_OF_RANGE
    else:
        code = BAD_FIELD
    return Rejection(reason="; ".join(parts), field=first or "payload", code=code)


def _unknown(what: str, device: str) -> Rejection:
    return Rejection(
        reason=f"{what} {device!r} is not a registered device: add it to the gateway's "
        "known devices or fix the device's id",
        field="topic",
        code=UNKNOWN_DEVICE,
    )


@lru_cache(maxsize=65_536)
def _parse_topic(topic: str) -> Topic | str:
    """A parsed topic, or why it is wrong. Cached: a device publishes on one topic, and
    parsing builds a validated model (a third of the decoding time otherwise)."""
    try:
        return Topic.parse(topic)
    except TopicError as exc:
        return str(exc)


def decode(topic: str, payload: bytes, known_devices: Collection[str] | None = None) -> Decoded:
    """Validate one message against the topic schemes and the payload models.

    ``known_devices``: if given, the device/reader/AGV serial/PLC ids that may publish.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(
            reason=f"payload is {len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES} allowed",
            field="payload",
            code=OVERSIZED,
        )
    if topic.startswith("uagv/"):
        return _decode_agv(topic, payload, known_devices)
    if topic.startswith(LOGGER_TOPIC_PREFIX):
        return _decode_logger(topic, payload, known_devices)
    if topic.startswith(OPCUA_TOPIC_PREFIX):
        try:
            change = ColdRoomChange.model_validate_json(payload)
        except ValidationError as exc:
            return _rejection(exc)
        if known_devices is not None and change.plc not in known_devices:
            return _unknown("PLC", change.plc)
        return ColdRoomObservation(change=change)
    parsed = _parse_topic(topic)
    if isinstance(parsed, str):
        return Rejection(reason=parsed, field="topic", code=BAD_TOPIC)
    if known_devices is not None and parsed.device_id not in known_devices:
        return _unknown("device" if parsed.kind == "temperature" else "reader", parsed.device_id)
    if parsed.kind == "temperature":
        try:
            reading = TemperatureReading.model_validate_json(payload)
        except ValidationError as exc:
            return _rejection(exc)
        if reading.device_id != parsed.device_id:
            return Rejection(
                reason=f"device_id {reading.device_id!r} differs from the topic's device id "
                f"{parsed.device_id!r}: publish on the device's own topic",
                field="device_id",
                code=ID_MISMATCH,
            )
        return TemperatureObservation(site=parsed.site, reading=reading)
    try:
        read = TagRead.model_validate_json(payload)
    except ValidationError as exc:
        return _rejection(exc)
    if read.reader_id != parsed.device_id:
        return Rejection(
            reason=f"reader_id {read.reader_id!r} differs from the topic's reader id "
            f"{parsed.device_id!r}: publish on the reader's own topic",
            field="reader_id",
            code=ID_MISMATCH,
        )
    try:
        epc = decode_epc(read.epc)
    except EpcError as exc:
        return Rejection(reason=f"epc {read.epc}: {exc}", field="epc", code=BAD_EPC)
    return TagObservation(site=parsed.site, read=read, epc=epc)


def _decode_logger(topic: str, payload: bytes, known_devices: Collection[str] | None) -> Decoded:
    parts = topic.split("/")
    if len(parts) != 3 or not all(ID_RE.fullmatch(p) for p in parts[1:]):
        return Rejection(
            reason=f"topic {topic!r} does not match {LOGGER_TOPIC_PREFIX}{{site}}/{{device_id}}",
            field="topic",
            code=BAD_TOPIC,
        )
    _, site, device_id = parts
    if known_devices is not None and device_id not in known_devices:
        return _unknown("logger", device_id)
    try:
        reading = TemperatureReading.model_validate_json(payload)
    except ValidationError as exc:
        return _rejection(exc)
    if reading.device_id != device_id:
        return Rejection(
            reason=f"device_id {reading.device_id!r} differs from the topic's device id "
            f"{device_id!r}: import the file with --device {reading.device_id}",
            field="device_id",
            code=ID_MISMATCH,
        )
    return LoggerObservation(site=site, reading=reading)


def _decode_agv(topic: str, payload: bytes, known_devices: Collection[str] | None) -> Decoded:
    try:
        parsed = AgvTopic.parse(topic)
    except TopicError as exc:
        return Rejection(reason=str(exc), field="topic", code=BAD_TOPIC)
    if known_devices is not None and parsed.serial not in known_devices:
        return _unknown("AGV", parsed.serial)
    try:
        # pydantic-core's parser, not json.loads: it stops at a fixed nesting depth, while
        # json.loads recurses as deep as the payload goes (py-evm raises the interpreter's
        # recursion limit, so a 200 KB run of "[" would crash the process, not raise).
        document: Any = _JSON.validate_json(payload)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        return Rejection(reason=f"payload is not JSON: {reason}", field="payload", code=NOT_JSON)
    try:
        validate_message(document, parsed.kind)
    except AgvError as exc:
        return Rejection(reason=exc.reason, field=exc.field, code=BAD_FIELD)
    if (document["manufacturer"], document["serialNumber"]) != (parsed.manufacturer, parsed.serial):
        return Rejection(
            reason=f"manufacturer/serialNumber {document['manufacturer']!r}/"
            f"{document['serialNumber']!r} differ from the topic's "
            f"{parsed.manufacturer!r}/{parsed.serial!r}: publish on the AGV's own topic",
            field="serialNumber",
            code=ID_MISMATCH,
        )
    if parsed.kind == "connection":
        return AgvConnection(
            manufacturer=parsed.manufacturer,
            serial=parsed.serial,
            connection_state=str(document["connectionState"]),
        )
    try:
        return AgvObservation(state=parse_state(document))
    except AgvError as exc:
        return Rejection(reason=exc.reason, field=exc.field, code=BAD_FIELD)
