"""The MQTT topic scheme: ``tracehub/v1/{site}/{kind}/{device_id}``."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from sensors.errors import TopicError
from sensors.fields import check_id

Kind = Literal["temperature", "rfid"]
KINDS: tuple[str, ...] = get_args(Kind)
ROOT = "tracehub/v1"
TEMPERATURE_FILTER = f"{ROOT}/+/temperature/+"
RFID_FILTER = f"{ROOT}/+/rfid/+"


def _message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    return str(cause) if cause is not None else error["msg"]


class Topic(BaseModel):
    """One device's topic; ``str(topic)`` is the wire form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    kind: Kind
    device_id: str

    @field_validator("site", "device_id")
    @classmethod
    def _valid_id(cls, value: str, info: ValidationInfo) -> str:
        return check_id(value, info.field_name or "id")

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/{self.kind}/{self.device_id}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse a wire topic; raise TopicError saying which part is wrong."""
        parts = topic.split("/")
        if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
            raise TopicError(
                f"topic {topic!r} does not match {ROOT}/{{site}}/{{kind}}/{{device_id}}"
            )
        _, _, site, kind, device_id = parts
        if kind not in KINDS:
            raise TopicError(f"topic kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
        try:
            return cls(site=site, kind=kind, device_id=device_id)
        except ValidationError as exc:
            raise TopicError(f"topic {topic!r}: {_message(exc)}") from exc


def temperature_topic(site: str, device_id: str) -> Topic:
    """The topic a probe publishes its readings on."""
    try:
        return Topic(site=site, kind="temperature", device_id=device_id)
    except ValidationError as exc:
        raise TopicError(_message(exc)) from exc


def rfid_topic(site: str, reader_id: str) -> Topic:
    """The topic an RFID reader publishes its tag reads on."""
    try:
        return Topic(site=site, kind="rfid", device_id=reader_id)
    except ValidationError as exc:
        raise TopicError(_message(exc)) from exc
