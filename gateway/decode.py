"""Bytes from MQTT to validated values. ``decode`` never raises: bad input is a Rejection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from sensors.epc import Epc, decode_epc
from sensors.errors import EpcError, TopicError
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading
from sensors.topics import Topic

MAX_PAYLOAD_BYTES = 64 * 1024


class Rejection(BaseModel):
    """Why a message was refused: ``field`` is the culprit (``topic``, ``payload`` or a key)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    field: str


class TemperatureObservation(BaseModel):
    """A reading plus the site its topic names (the reading itself does not carry it)."""

    model_config = ConfigDict(frozen=True)

    site: str
    reading: TemperatureReading


class TagObservation(BaseModel):
    """A tag read plus its decoded EPC and the site its topic names."""

    model_config = ConfigDict(frozen=True)

    site: str
    read: TagRead
    epc: Epc


Decoded = TemperatureObservation | TagObservation | Rejection


def _rejection(exc: ValidationError) -> Rejection:
    errors = exc.errors(include_url=False)
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        got = f" (got {err['input']!r:.60})" if err["type"] != "missing" and err["loc"] else ""
        parts.append(f"{where}: {err['msg']}{got}")
    first = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
    return Rejection(reason="; ".join(parts), field=first or "payload")


def decode(topic: str, payload: bytes) -> Decoded:
    """Validate one MQTT message against the topic scheme and the payload models."""
    try:
        parsed = Topic.parse(topic)
    except TopicError as exc:
        return Rejection(reason=str(exc), field="topic")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(
            reason=f"payload is {len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES} allowed",
            field="payload",
        )
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
        )
    try:
        epc = decode_epc(read.epc)
    except EpcError as exc:
        return Rejection(reason=f"epc {read.epc}: {exc}", field="epc")
    return TagObservation(site=parsed.site, read=read, epc=epc)
