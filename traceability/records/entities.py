"""Frozen values the records store takes and returns: products, lots, events, batches.

An event's body (its canonical EPCIS JSON, the bytes its ledger entry commits to) is
the one source of truth for what the event says; the indexed columns beside it only
find candidate events. ``event_index`` derives those columns from a body, and
``StoredEvent`` carries the body's values, with any column that disagreed listed in
``mismatches`` (a column edited in SQL changes nothing the event is taken to say).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    PrivateAttr,
    TypeAdapter,
    field_validator,
)

from gs1.cbv import short_name
from traceability.records.stability import BudgetStep, checked_steps, steps_input


class Product(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    name: str
    temp_min_c: float | None = None
    temp_max_c: float | None = None
    excursion_budget_min: float | None = None  # minutes out of range before "compromised"
    mkt_limit_c: float | None = None
    shelf_life_days: int | None = None
    # Allowed minutes beyond the band per temperature step (issue #16; None: only
    # excursion_budget_min, one allowance for both sides). Text form: ``stability``.
    stability_budget: tuple[BudgetStep, ...] | None = None

    _steps_in = field_validator("stability_budget", mode="before")(lambda cls, v: steps_input(v))
    _steps = field_validator("stability_budget")(lambda cls, v: checked_steps(v))


class Lot(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    expiry: date | None = None
    origin: str | None = None
    quantity: int | None = None
    production_date: date | None = None
    gross_kg: float | None = None  # the whole lot's gross mass (carbon allocation)


class EpcLink(BaseModel):
    """One EPC of an event and, when it is a known unit, the lot it belongs to."""

    model_config = ConfigDict(frozen=True)

    epc: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    role: str = "epc"  # epc, parent, child, input, output, class


class NewEvent(BaseModel):
    """An event ready to store: ``body`` is its canonical JSON text."""

    model_config = ConfigDict(frozen=True)

    id: str
    event_time: datetime
    type: str
    biz_step: str | None
    read_point: str | None
    biz_location: str | None
    body: str
    epcs: tuple[EpcLink, ...]
    action: str | None = None
    disposition: str | None = None
    # What capture noticed and did not refuse (``unknown_parent``, ``unknown_lot``,
    # ``unknown_location``): the hub's note about the event, not part of its evidence.
    flags: tuple[str, ...] = ()


class IndexMismatch(BaseModel):
    """An indexed column (or EPC link) of a stored event that its body does not back."""

    model_config = ConfigDict(frozen=True)

    column: str  # event_time, biz_location, ... or "event_epcs" for a link row
    stored: str | None  # the column's value, as text
    body: str | None  # what the body says, as text

    def describe(self) -> str:
        return f"column {self.column} is {self.stored!r} but the signed body says {self.body!r}"


class StoredEvent(BaseModel):
    """A stored event; every indexed field is the body's (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    id: str
    event_time: datetime
    type: str
    biz_step: str | None
    read_point: str | None
    biz_location: str | None
    body: str
    captured_at: datetime
    batch_id: int | None
    leaf_index: int | None
    leaf_hash: bytes | None
    action: str | None = None
    disposition: str | None = None
    flags: tuple[str, ...] = ()  # capture's warnings (``NewEvent.flags``)
    mismatches: tuple[IndexMismatch, ...] = ()  # columns the body contradicts
    _document: dict[str, Any] | None = PrivateAttr(default=None)

    def document(self) -> dict[str, Any]:
        """The stored event JSON, parsed (once; callers must not mutate it)."""
        if self._document is None:
            value: dict[str, Any] = json.loads(self.body)
            self._document = value
        return self._document

    def roles(self) -> dict[str, str]:
        """Every EPC or EPC class the body names → how (``event_roles``)."""
        return event_roles(self.document())


class StoreResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    created: bool


class LastLocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    event_time: datetime
    event_id: str


class Batch(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    root: bytes
    size: int
    metadata: bytes
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    created_at: datetime


class BatchLeaf(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    leaf_index: int
    leaf_hash: bytes


# The columns ``event_index`` derives from a body, in the events table's order.
INDEXED_COLUMNS = (
    "event_time",
    "type",
    "biz_step",
    "read_point",
    "biz_location",
    "action",
    "disposition",
)
_AWARE: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def event_index(document: dict[str, Any]) -> dict[str, Any]:
    """The indexed columns of an event, read from its body (as capture computes them).

    Raises ``ValueError`` when the body lacks a readable ``eventTime`` or ``type``.
    """
    raw_time = document.get("eventTime")
    kind = document.get("type")
    if not isinstance(raw_time, str) or not isinstance(kind, str):
        raise ValueError("the body has no eventTime or type")
    try:
        moment = datetime.fromisoformat(raw_time)
    except ValueError:
        moment = _AWARE.validate_python(raw_time)  # the ISO forms fromisoformat refuses
    if moment.tzinfo is None:
        raise ValueError(f"eventTime {raw_time!r} has no UTC offset")
    biz_step, disposition = document.get("bizStep"), document.get("disposition")
    return {
        "event_time": moment.astimezone(UTC),
        "type": kind,
        "biz_step": _short("bizStep", biz_step),
        "read_point": _location_id(document.get("readPoint")),
        "biz_location": _location_id(document.get("bizLocation")),
        "action": document.get("action") if isinstance(document.get("action"), str) else None,
        "disposition": _short("disposition", disposition),
    }


def event_roles(document: dict[str, Any]) -> dict[str, str]:
    """EPC → role, as capture links them: the first list naming an EPC gives its role."""
    roles: dict[str, str] = {}
    parent = document.get("parentID")
    for role, epcs in (
        ("epc", document.get("epcList")),
        ("parent", [parent] if isinstance(parent, str) else None),
        ("child", document.get("childEPCs")),
        ("input", document.get("inputEPCList")),
        ("output", document.get("outputEPCList")),
    ):
        for epc in epcs if isinstance(epcs, list) else ():
            if isinstance(epc, str):
                roles.setdefault(epc, role)
    for role, elements in (
        ("class", document.get("quantityList")),
        ("child", document.get("childQuantityList")),
        ("input", document.get("inputQuantityList")),
        ("output", document.get("outputQuantityList")),
    ):
        for element in elements if isinstance(elements, list) else ():
            epc_class = element.get("epcClass") if isinstance(element, dict) else None
            if isinstance(epc_class, str):
                roles.setdefault(epc_class, role)
    return roles


def _short(vocabulary: Any, value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return short_name(vocabulary, value)
    except ValueError:
        return value  # capture refused such a body; it then disagrees with any column


def _location_id(value: Any) -> str | None:
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def as_text(value: Any) -> str | None:
    """A column value as verify and the mismatch report print it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)
