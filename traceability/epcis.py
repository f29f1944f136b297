"""EPCIS 2.0 ObjectEvent (JSON / JSON-LD subset), its event id, and the document wrapper.

``parse_event`` validates an incoming dict (as handed over by the gateway's capture port)
and raises ``EventRejected`` naming the JSON path of the first problem. The event itself
is kept as received: what gets hashed and anchored is the caller's JSON, not our model's
re-serialisation of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ledger.canonical import canonicalize
from ledger.digest import sha256
from traceability.cbv import short_name
from traceability.errors import EventRejected, InvalidIdentifier
from traceability.gs1 import Sgln, Sgtin

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"

# Fields left out of the event id: the repository sets them, the event's content does not.
_ID_EXCLUDED = frozenset({"eventID", "recordTime"})

# Standard ObjectEvent fields this subset carries through without modelling them.
_PASSTHROUGH = frozenset(
    {
        "@context",
        "quantityList",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "persistentDisposition",
        "ilmd",
        "certificationInfo",
        "errorDeclaration",
    }
)
_URI_SCHEMES = ("urn:", "http://", "https://")


def _is_uri(value: str) -> bool:
    return value.startswith(_URI_SCHEMES) and " " not in value


class EventLocation(BaseModel):
    """A ``readPoint`` or ``bizLocation``: an SGLN URN or any location URI."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str

    @field_validator("id")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not _is_uri(value):
            raise ValueError("must be a location URI such as 'urn:epc:id:sgln:4012345.00001.0'")
        if value.startswith("urn:epc:id:sgln:"):
            try:
                Sgln.parse(value)
            except InvalidIdentifier as exc:
                raise ValueError(str(exc)) from exc
        return value


class ObjectEvent(BaseModel):
    """The ObjectEvent subset tracehub understands; other standard fields pass through."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    type: Literal["ObjectEvent"]
    event_time: AwareDatetime = Field(alias="eventTime")
    event_time_zone_offset: str = Field(
        alias="eventTimeZoneOffset", pattern=r"^[+-]((0\d|1[0-3]):[0-5]\d|14:00)$"
    )
    epc_list: tuple[str, ...] = Field(default=(), alias="epcList")
    action: Literal["ADD", "OBSERVE", "DELETE"]
    biz_step: str | None = Field(default=None, alias="bizStep")
    disposition: str | None = None
    read_point: EventLocation | None = Field(default=None, alias="readPoint")
    biz_location: EventLocation | None = Field(default=None, alias="bizLocation")
    event_id: str | None = Field(default=None, alias="eventID")
    record_time: AwareDatetime | None = Field(default=None, alias="recordTime")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = _known_keys()
            for key in data:
                # EPCIS extensions are namespaced ("ex:temperatureZone"); a bare unknown
                # key is almost always a typo such as "bizstep".
                if isinstance(key, str) and key not in known and ":" not in key:
                    raise ValueError(
                        f"unknown field {key!r}; check the spelling (EPCIS names are "
                        "camelCase) or namespace an extension as 'prefix:name'"
                    )
        return data

    @field_validator("epc_list")
    @classmethod
    def _epcs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, epc in enumerate(value):
            if not _is_uri(epc):
                raise ValueError(
                    f"entry {i} {epc!r} is not an EPC URI; use e.g. "
                    "'urn:epc:id:sgtin:4012345.011111.1001'"
                )
            if epc.startswith("urn:epc:id:sgtin:"):
                try:
                    Sgtin.parse(epc)
                except InvalidIdentifier as exc:
                    raise ValueError(f"entry {i}: {exc}") from exc
        if len(set(value)) != len(value):
            raise ValueError("lists the same EPC twice; list each object once")
        return value

    @field_validator("biz_step")
    @classmethod
    def _biz_step(cls, value: str | None) -> str | None:
        if value is not None:
            short_name("bizStep", value)
        return value

    @field_validator("disposition")
    @classmethod
    def _disposition(cls, value: str | None) -> str | None:
        if value is not None:
            short_name("disposition", value)
        return value

    @model_validator(mode="after")
    def _has_objects(self) -> ObjectEvent:
        extra = self.model_extra or {}
        if not self.epc_list and not extra.get("quantityList"):
            raise ValueError(
                "an ObjectEvent needs a non-empty epcList (or quantityList) naming its objects"
            )
        return self

    @property
    def biz_step_short(self) -> str | None:
        """``bizStep`` as a CBV short name (user URIs unchanged)."""
        return None if self.biz_step is None else short_name("bizStep", self.biz_step)


def parse_event(data: Any) -> ObjectEvent:
    """Validate an EPCIS ObjectEvent dict; raises ``EventRejected(field, reason)``."""
    if not isinstance(data, Mapping):
        raise EventRejected("event", f"must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind != "ObjectEvent":
        raise EventRejected(
            "type", f"{kind!r} is not supported; this version captures 'ObjectEvent' only"
        )
    known = _known_keys()
    for key in data:
        if not isinstance(key, str) or (key not in known and ":" not in key):
            raise EventRejected(
                str(key),
                "unknown field; check the spelling (EPCIS names are camelCase) "
                "or namespace an extension as 'prefix:name'",
            )
    if not data.get("epcList") and not data.get("quantityList"):
        raise EventRejected(
            "epcList", "must list at least one EPC (or give a quantityList) naming the objects"
        )
    try:
        return ObjectEvent.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise EventRejected(_json_path(first["loc"]) or "event", message + more) from exc


def _known_keys() -> frozenset[str]:
    return frozenset(f.alias or n for n, f in ObjectEvent.model_fields.items()) | _PASSTHROUGH


def _json_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            alias = _ALIASES.get(part, part)
            path += f".{alias}" if path else alias
    return path


_ALIASES = {name: f.alias for name, f in ObjectEvent.model_fields.items() if f.alias}


def event_id(event: Mapping[str, Any]) -> str:
    """The id tracehub stores an event under: ``"sha256:" + hex`` of its canonical JSON.

    ``eventID`` and ``recordTime`` are left out, so a redelivered event gets the same id
    and capture stays idempotent. This is a placeholder: the GS1 EPCIS Event Hash ID
    (``ni:///sha-256;…?ver=CBV2.0``, CBV 2.0 §8.9) replaces it in a later issue.
    """
    content = {k: v for k, v in event.items() if k not in _ID_EXCLUDED}
    return "sha256:" + sha256(canonicalize(content)).hex()


def format_time(moment: datetime) -> str:
    """``moment`` in UTC as EPCIS writes it: ``2026-11-22T10:00:00.123Z``."""
    if moment.tzinfo is None:
        raise ValueError("format_time needs an aware datetime; attach a timezone first")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epcis_document(events: Sequence[Mapping[str, Any]], creation_date: datetime) -> dict[str, Any]:
    """Wrap events (without ``@context``) into an EPCIS 2.0 JSON-LD ``EPCISDocument``."""
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(creation_date),
        "epcisBody": {"eventList": [dict(e) for e in events]},
    }
