"""VDA 5050 v2 AGV messages: topic scheme, schema validation and the state we keep.

Topic: ``uagv/v2/{manufacturer}/{serialNumber}/{state|connection|...}``. A message is
validated against the official JSON schema of its ``version`` (2.0.x or 2.1.x, copied
under ``sensors/schemas/vda5050``), then the fields the hub stores are taken into a
frozen :class:`AgvState`. Loads whose ``loadId`` is an SSCC (18 digits, or 20 with the
GS1 AI ``00`` in front, check digit valid) are custody-relevant.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, ValidationError

from gs1.identifiers import check_digit
from sensors.errors import AgvError, TopicError
from sensors.fields import UtcTimestamp

INTERFACE = "uagv"
MAJOR = "v2"
AGV_STATE_FILTER = f"{INTERFACE}/{MAJOR}/+/+/state"
AGV_CONNECTION_FILTER = f"{INTERFACE}/{MAJOR}/+/+/connection"
AgvTopicKind = Literal["state", "connection"]
_LEVEL_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SSCC_RE = re.compile(r"^(?:00)?(\d{18})$")
SCHEMA_VERSIONS = ("2.0.0", "2.1.0")


class AgvTopic(BaseModel):
    """``uagv/v2/{manufacturer}/{serial}/{kind}``."""

    model_config = ConfigDict(frozen=True)

    manufacturer: str
    serial: str
    kind: AgvTopicKind

    def __str__(self) -> str:
        return f"{INTERFACE}/{MAJOR}/{self.manufacturer}/{self.serial}/{self.kind}"

    @classmethod
    def parse(cls, topic: str) -> AgvTopic:
        parts = topic.split("/")
        if len(parts) != 5 or parts[0] != INTERFACE or parts[1] != MAJOR:
            raise TopicError(
                f"topic {topic!r} does not match {INTERFACE}/{MAJOR}/{{manufacturer}}/"
                "{serialNumber}/{state|connection}"
            )
        _, _, manufacturer, serial, kind = parts
        for what, value in (("manufacturer", manufacturer), ("serialNumber", serial)):
            if not _LEVEL_RE.fullmatch(value):
                raise TopicError(
                    f"topic {what} {value!r} is not valid: use 1-64 of A-Z a-z 0-9 _ . : -"
                )
        if kind not in ("state", "connection"):
            raise TopicError(f"AGV topic {kind!r} is not ingested: use state or connection")
        return cls(manufacturer=manufacturer, serial=serial, kind=kind)


def agv_topic(manufacturer: str, serial: str, kind: AgvTopicKind = "state") -> AgvTopic:
    return AgvTopic.parse(f"{INTERFACE}/{MAJOR}/{manufacturer}/{serial}/{kind}")


@cache
def _validator(version: str, kind: str) -> Draft202012Validator:
    text = (
        resources.files("sensors")
        .joinpath("schemas", "vda5050", f"v{version}", f"{kind}.schema")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_version(version: object) -> str:
    """The copied schema version that validates a message of ``version``."""
    if isinstance(version, str):
        for known in SCHEMA_VERSIONS:
            if version.split(".")[:2] == known.split(".")[:2]:
                return known
    raise AgvError(
        f"version {version!r} is not a supported VDA 5050 version: use 2.0.x or 2.1.x", "version"
    )


def validate_message(document: Any, kind: AgvTopicKind) -> None:
    """Raise AgvError naming the first schema violation (path and message)."""
    if not isinstance(document, dict):
        raise AgvError("a VDA 5050 message must be a JSON object", "payload")
    validator = _validator(schema_version(document.get("version")), kind)
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: list(e.path))), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "payload"
        raise AgvError(f"{where}: {error.message} (VDA 5050 {kind} schema)", where)


def sscc_of(load_id: str) -> str | None:
    """The 18-digit SSCC a loadId carries (bare or after AI 00), or None."""
    match = _SSCC_RE.fullmatch(load_id)
    if match is None:
        return None
    sscc = match.group(1)
    return sscc if check_digit(sscc[:-1]) == int(sscc[-1]) else None


class AgvState(BaseModel):
    """What the hub keeps of one VDA 5050 state message."""

    model_config = ConfigDict(frozen=True)

    manufacturer: str
    serial: str
    header_id: int
    timestamp: UtcTimestamp
    map_id: str | None
    x: float | None
    y: float | None
    theta: float | None
    battery_charge: float
    operating_mode: str
    driving: bool
    velocity: float | None
    errors: tuple[str, ...]
    load_ids: tuple[str, ...] | None  # None: the AGV cannot tell its loads


def parse_state(document: dict[str, Any]) -> AgvState:
    """Take the stored fields out of a schema-valid state message; AgvError if they
    cannot be stored (e.g. a 10**400 battery charge or a year-1 timestamp: the schema
    allows both; found by fuzzing)."""
    try:
        return _parse_state(document)
    except AgvError:
        raise
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        raise AgvError(f"state cannot be stored: {exc}", _culprit(exc)) from exc


def _culprit(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        return ".".join(str(p) for p in exc.errors()[0]["loc"]) or "payload"
    return "payload"


def _parse_state(document: dict[str, Any]) -> AgvState:
    position = document.get("agvPosition") or {}
    velocity = document.get("velocity")
    speed = None
    if isinstance(velocity, dict) and ("vx" in velocity or "vy" in velocity):
        speed = math.hypot(float(velocity.get("vx", 0.0)), float(velocity.get("vy", 0.0)))
    loads = document.get("loads")
    try:
        timestamp = datetime.fromisoformat(str(document["timestamp"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise AgvError(f"timestamp {document['timestamp']!r} is not ISO 8601", "timestamp") from exc
    if timestamp.tzinfo is None:
        raise AgvError("timestamp must carry a UTC offset or 'Z'", "timestamp")
    return AgvState(
        manufacturer=document["manufacturer"],
        serial=document["serialNumber"],
        header_id=document["headerId"],
        timestamp=timestamp,
        map_id=position.get("mapId"),
        x=position.get("x"),
        y=position.get("y"),
        theta=position.get("theta"),
        battery_charge=float(document["batteryState"]["batteryCharge"]),
        operating_mode=document["operatingMode"],
        driving=bool(document["driving"]),
        velocity=speed,
        errors=tuple(str(e["errorType"]) for e in document["errors"]),
        load_ids=None
        if loads is None
        else tuple(str(load["loadId"]) for load in loads if load.get("loadId")),
    )
