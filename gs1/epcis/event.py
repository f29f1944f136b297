"""EPCIS 2.0 events (JSON / JSON-LD): Object, Aggregation, Transformation, Association and
Transaction events, their event id (the GS1 Event Hash ID), and the document wrapper.

``parse_event`` validates an incoming dict (as handed over by the gateway's capture port
or the capture API) and raises ``EventRejected`` naming the JSON path of the first
problem. The event itself is kept as received: what gets hashed and anchored is the
caller's JSON, not our model's re-serialisation of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
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

from gs1.ai import PRIMARY_KEYS
from gs1.cbv import BizStep, Disposition, short_name
from gs1.digitallink import DigitalLink
from gs1.epcis.bounds import MAX_DEPTH, MAX_STRING, within_bounds
from gs1.epcis.extensions import extension_problem, key_problem
from gs1.epcis.hashid import canonical_number, context_prefixes, event_hash_id, parse_number
from gs1.epcis.schema import EVENT_TYPES
from gs1.errors import EventRejected, InvalidIdentifier, NumberOutOfRange
from gs1.identifiers import Sgln, Sgtin

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"

# Standard event fields carried through without modelling them.
_PASSTHROUGH = frozenset(
    {
        "@context",
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
# Any absolute URI (RFC 3986 scheme ":" ...): a location may be e.g. "geo:42.69,23.31".
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")


def _is_uri(value: str) -> bool:
    return value.startswith(_URI_SCHEMES) and " " not in value


class EventLocation(BaseModel):
    """A ``readPoint`` or ``bizLocation``: an SGLN URN or any location URI, and any
    namespaced user extensions (EPCIS 2.0 allows them there; ``gs1.epcis.extensions``
    checks their names)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str

    @field_validator("id")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not _ABSOLUTE_URI.match(value):
            raise ValueError("must be a location URI such as 'urn:epc:id:sgln:4012345.00001.0'")
        if value.startswith("urn:epc:id:sgln:"):
            try:
                Sgln.parse(value)
            except InvalidIdentifier as exc:
                raise ValueError(str(exc)) from exc
        return value


class QuantityElement(BaseModel):
    """An entry of a quantity list: an EPC class (e.g. a lot, ``urn:epc:class:lgtin:…``)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    epc_class: str = Field(alias="epcClass")
    quantity: float | None = Field(default=None, allow_inf_nan=False)
    uom: str | None = None


class EpcisEvent(BaseModel):
    """An EPCIS 2.0 event of any type; standard fields tracehub does not model pass through.

    Which fields a type needs is checked after parsing (``_type_rules``): an
    AggregationEvent names its parent and children, a TransformationEvent its inputs and
    outputs and no action, and so on.
    """

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    type: Literal[
        "ObjectEvent",
        "AggregationEvent",
        "TransformationEvent",
        "AssociationEvent",
        "TransactionEvent",
    ]
    event_time: AwareDatetime = Field(alias="eventTime")
    event_time_zone_offset: str = Field(
        alias="eventTimeZoneOffset", pattern=r"^[+-]((0\d|1[0-3]):[0-5]\d|14:00)$"
    )
    epc_list: tuple[str, ...] = Field(default=(), alias="epcList")
    parent_id: str | None = Field(default=None, alias="parentID")
    child_epcs: tuple[str, ...] = Field(default=(), alias="childEPCs")
    input_epc_list: tuple[str, ...] = Field(default=(), alias="inputEPCList")
    output_epc_list: tuple[str, ...] = Field(default=(), alias="outputEPCList")
    quantity_list: tuple[QuantityElement, ...] = Field(default=(), alias="quantityList")
    child_quantity_list: tuple[QuantityElement, ...] = Field(default=(), alias="childQuantityList")
    input_quantity_list: tuple[QuantityElement, ...] = Field(default=(), alias="inputQuantityList")
    output_quantity_list: tuple[QuantityElement, ...] = Field(
        default=(), alias="outputQuantityList"
    )
    action: Literal["ADD", "OBSERVE", "DELETE"] | None = None
    transformation_id: str | None = Field(default=None, alias="transformationID")
    biz_step: BizStep | None = Field(default=None, alias="bizStep")
    disposition: Disposition | None = None
    read_point: EventLocation | None = Field(default=None, alias="readPoint")
    biz_location: EventLocation | None = Field(default=None, alias="bizLocation")
    event_id: str | None = Field(default=None, alias="eventID")
    record_time: AwareDatetime | None = Field(default=None, alias="recordTime")

    @field_validator("epc_list", "child_epcs", "input_epc_list", "output_epc_list")
    @classmethod
    def _epcs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, epc in enumerate(value):
            _check_epc(i, epc)
        if len(set(value)) != len(value):
            raise ValueError("lists the same EPC twice; list each object once")
        return value

    @field_validator("parent_id")
    @classmethod
    def _parent(cls, value: str | None) -> str | None:
        if value is not None:
            _check_epc(None, value)
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> EpcisEvent:
        kind = self.type
        if kind != "TransformationEvent" and self.action is None:
            raise ValueError(f"an {kind} needs an action (ADD, OBSERVE or DELETE)")
        if kind in ("AggregationEvent", "AssociationEvent"):
            if self.parent_id is None and self.action != "OBSERVE":
                raise ValueError(f"an {kind} with action {self.action} needs a parentID")
            if self.action == "ADD" and not self.child_epcs and not self.child_quantity_list:
                raise ValueError(f"an {kind} ADD needs childEPCs (or childQuantityList) to pack")
        if kind == "TransformationEvent":
            if self.action is not None:
                raise ValueError("a TransformationEvent has no action; remove it")
            inputs = self.input_epc_list or self.input_quantity_list
            outputs = self.output_epc_list or self.output_quantity_list
            if not self.transformation_id and not (inputs and outputs):
                raise ValueError(
                    "a TransformationEvent needs inputs and outputs (or a transformationID)"
                )
        return self

    @property
    def biz_step_short(self) -> str | None:
        """``bizStep`` as a CBV short name (user URIs unchanged)."""
        return None if self.biz_step is None else short_name("bizStep", self.biz_step)

    @property
    def disposition_short(self) -> str | None:
        return None if self.disposition is None else short_name("disposition", self.disposition)

    @property
    def location(self) -> str | None:
        """Where the event says the objects are: bizLocation, else readPoint."""
        where = self.biz_location or self.read_point
        return where.id if where else None


# The skeleton's name for the model, kept for callers that only capture ObjectEvents.
ObjectEvent = EpcisEvent


def _check_epc(index: int | None, epc: str) -> None:
    where = "" if index is None else f"entry {index} "
    if not _is_uri(epc):
        raise ValueError(
            f"{where}{epc!r} is not an EPC URI; use e.g. 'urn:epc:id:sgtin:4012345.011111.1001'"
        )
    try:
        if epc.startswith("urn:epc:id:sgtin:"):
            Sgtin.parse(epc)
        elif epc.startswith(("http://", "https://")) and _DL_KEY.search(epc):
            DigitalLink.parse(epc)
    except InvalidIdentifier as exc:
        raise ValueError(f"{where}{exc}".strip()) from exc


_DL_KEY = re.compile("/(" + "|".join(PRIMARY_KEYS) + ")/")
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)


def check_bounds(data: Mapping[str, Any]) -> None:
    """Refuse an event beyond the string, depth and number bounds, naming the field.

    One walk, linear in the event: a numeric string (``"1e1000000"``) or number out of
    the range the event hash writes out, a string over ``MAX_STRING`` characters or
    containers nested deeper than ``MAX_DEPTH`` raise ``EventRejected``.
    """
    if within_bounds(data):  # one walk without paths; this one names the field
        return
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise EventRejected(
                    _json_path(path), f"nests deeper than {MAX_DEPTH} levels; flatten it"
                )
            items = node.items() if isinstance(node, Mapping) else enumerate(node)
            stack.extend((item, depth + 1, (*path, key)) for key, item in items)
            continue
        try:
            if isinstance(node, str):
                if len(node) > MAX_STRING:
                    raise EventRejected(
                        _json_path(path) or "event",
                        f"is {len(node)} characters long; the limit is {MAX_STRING}",
                    )
                parse_number(node)
            elif isinstance(node, int | float) and not isinstance(node, bool):
                canonical_number(node)
        except NumberOutOfRange as exc:
            raise EventRejected(_json_path(path) or "event", str(exc)) from exc


def parse_event(
    data: Any,
    *,
    now: datetime | None = None,
    future_tolerance: timedelta | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> EpcisEvent:
    """Validate an EPCIS 2.0 event dict; raises ``EventRejected(field, reason)``.

    Extension fields (at the top level, in readPoint, bizLocation, ilmd, sensor
    elements, errorDeclaration and inside extension values) must be namespaced
    (``gs1.epcis.extensions``): ``prefixes`` are those the document's ``@context``
    declares; None (a single event without a document) checks only the
    ``prefix:name`` shape, unless the event carries its own ``@context``.
    An event need not name any object: an ObjectEvent with only a
    ``sensorElementList`` at a readPoint (a room's temperature) is valid EPCIS 2.0.

    Rejects an ``eventTime`` more than ``future_tolerance`` after ``now`` (a device
    clock ahead of real time would otherwise reorder custody); None skips that check.
    """
    if not isinstance(data, Mapping):
        raise EventRejected("event", f"must be a JSON object, got {type(data).__name__}")
    check_bounds(data)
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise EventRejected(
            "type", f"{kind!r} is not an EPCIS 2.0 event type; use one of {', '.join(EVENT_TYPES)}"
        )
    declared = _declared(data, prefixes)
    known = _known_keys()
    for key in data:
        if key not in known:
            problem = key_problem(key, declared)
            if problem:
                raise EventRejected(str(key), problem)
    try:
        event = EpcisEvent.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise EventRejected(_json_path(first["loc"]) or "event", message + more) from exc
    found = extension_problem(data, declared)
    if found:
        raise EventRejected(*found)
    if future_tolerance is None:
        return event
    limit = (now or datetime.now(UTC)) + future_tolerance
    if event.event_time > limit:
        raise EventRejected(
            "eventTime",
            f"{format_time(event.event_time)} is in the future beyond the tolerance of "
            f"{future_tolerance}; check the sending device's clock (NTP)",
        )
    return event


def _declared(data: Mapping[str, Any], prefixes: Mapping[str, str] | None) -> dict[str, str] | None:
    """The prefixes an event may use: its document's, plus its own ``@context``'s."""
    if "@context" not in data:
        return None if prefixes is None else dict(prefixes)
    return {**(prefixes or {}), **context_prefixes(data["@context"])}


@cache
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


def event_id(event: Mapping[str, Any], context: Mapping[str, str] | None = None) -> str:
    """The id tracehub stores an event under: its GS1 EPCIS Event Hash ID.

    ``ni:///sha-256;<hex>?ver=CBV2.0`` (CBV 2.0); ``eventID`` and ``recordTime`` are left
    out, and two spellings of one event get one id, so capture is idempotent. ``context``
    holds the namespace prefixes of the document the event came in.
    """
    return event_hash_id(event, context)


# An error declaration (EPCIS 2.0, 7.4.1.2) names the event it corrects by that event's
# eventID, and the event hash leaves errorDeclaration out, so it hashes to the very id of
# the event it corrects. The repository keeps both, the declaration under this suffix: the
# correction is a record of its own (signed and anchored), never a "duplicate" dropped.
DECLARATION_SUFFIX = "#errorDeclaration"


def repository_id(event: Mapping[str, Any], hash_id: str) -> str:
    """The id tracehub stores ``event`` under: its hash ID, with ``DECLARATION_SUFFIX``
    when it is an error declaration."""
    declared = isinstance(event.get("errorDeclaration"), Mapping)
    return hash_id + DECLARATION_SUFFIX if declared else hash_id


def declared_id(stored_id: str) -> str:
    """The eventID an event stored under ``stored_id`` has (the suffix taken off)."""
    return stored_id.removesuffix(DECLARATION_SUFFIX)


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
