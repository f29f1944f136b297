"""Capture's business rules: what tracehub does not know about an event, as warnings.

Validity (the EPCIS 2.0 schema and JSON-LD rules) decides whether capture accepts an
event; what the records do not know never does. Between trading partners most events
are about objects, lots and places first seen elsewhere, so capture stores them and
says what it did not know, per event:

* ``unknown_parent``: an AggregationEvent packs into a parent never named by a stored
  event (nor by an earlier event of the same document), not a registered logistic unit
  and not a registered unit;
* ``unknown_lot``: an SGTIN that is not a registered unit (stored, not linked to a lot),
  or an LGTIN class naming a lot the records do not hold;
* ``unknown_location``: a readPoint or bizLocation that is not a recorded location.

Each warning is an ``EventWarning`` (index, field, code, reason) on the capture report,
and its code a flag on the stored event (``NewEvent.flags``), so a query or a page can
tell an event the records vouch for from one they only keep.

``look_up`` reads everything the rules need for a whole document at once: one query per
kind (units, lots, locations, known parents), never one per event, so the rules cost
capture a few queries per document whatever its size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gs1.epcis.event import EpcisEvent
from gs1.errors import InvalidIdentifier
from gs1.identifiers import Lgtin, Sgtin
from traceability.records.store import EpcLink, RecordStore

WarningCode = Literal["unknown_parent", "unknown_lot", "unknown_location"]
_EPC_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_LGTIN = "urn:epc:class:lgtin:"
_ROLE_FIELDS = {
    "epc": "epcList",
    "child": "childEPCs",
    "input": "inputEPCList",
    "output": "outputEPCList",
}
_SHOWN = 3  # EPCs named in one warning's reason before "and N more"


class EventWarning(BaseModel):
    """What the records did not know about event ``index`` of a document (it was stored)."""

    model_config = ConfigDict(frozen=True)

    index: int
    field: str
    code: WarningCode
    reason: str


class Known(BaseModel):
    """What the records know of the objects, lots and places a document names."""

    model_config = ConfigDict(frozen=True)

    unit_lots: dict[tuple[str, str], str]  # (gtin14, serial) -> lot of registered units
    lots: frozenset[tuple[str, str]]  # (gtin14, lot) of the lot classes named
    locations: frozenset[str]  # recorded locations among those named
    objects: frozenset[str]  # parents named by a stored event or registered as units


def look_up(store: RecordStore, events: Sequence[Any]) -> Known:
    """Everything the rules need for ``events``, one query per kind (none when unused).

    Read from the raw events, before validation: a malformed value is skipped here and
    ``parse_event`` rejects it naming its field.
    """
    units: list[tuple[str, str]] = []
    lot_keys: list[tuple[str, str]] = []
    places: list[str] = []
    parents: list[str] = []
    for event in events:
        if not isinstance(event, Mapping):
            continue
        for field in _EPC_FIELDS:
            for epc in _strings(event.get(field)):
                if epc.startswith("urn:epc:id:sgtin:"):
                    key = _unit_key(epc)
                    if key:
                        units.append(key)
        for field in _QUANTITY_FIELDS:
            for element in event.get(field) or ():
                epc_class = element.get("epcClass") if isinstance(element, Mapping) else None
                if isinstance(epc_class, str) and epc_class.startswith(_LGTIN):
                    try:
                        lgtin = Lgtin.parse(epc_class)
                    except InvalidIdentifier:
                        continue
                    lot_keys.append((lgtin.gtin.value, lgtin.lot.value))
        for place in ("readPoint", "bizLocation"):
            where = event.get(place)
            if isinstance(where, Mapping) and isinstance(where.get("id"), str):
                places.append(where["id"])
        parent = event.get("parentID")
        if event.get("type") == "AggregationEvent" and isinstance(parent, str):
            parents.append(parent)
    unit_lots = store.lots_of_units(units) if units else {}
    objects = set(store.known_objects(parents)) if parents else set()
    objects.update(p for p in parents if (key := _unit_key(p)) and key in unit_lots)
    return Known(
        unit_lots=unit_lots,
        lots=frozenset(store.known_lots(lot_keys) if lot_keys else ()),
        locations=frozenset(store.known_locations(places) if places else ()),
        objects=frozenset(objects),
    )


def event_warnings(
    event: EpcisEvent, links: Sequence[EpcLink], known: Known, seen: set[str]
) -> list[tuple[str, WarningCode, str]]:
    """``(field, code, reason)`` of what ``known`` (and ``seen``: the EPCs earlier events
    of the same document named) does not vouch for in ``event``."""
    found: list[tuple[str, WarningCode, str]] = []
    parent = event.parent_id
    if (
        event.type == "AggregationEvent"
        and parent is not None
        and parent not in seen
        and parent not in known.objects
    ):
        found.append(
            (
                "parentID",
                "unknown_parent",
                f"{parent} was never seen nor registered; the event is stored and its "
                "children travel with it (register the SSCC as a logistic unit to vouch for it)",
            )
        )
    unlinked: dict[str, list[str]] = {}
    for link in links:
        if link.role in _ROLE_FIELDS and link.serial is not None and link.lot is None:
            unlinked.setdefault(_ROLE_FIELDS[link.role], []).append(link.epc)
    for field, epcs in unlinked.items():
        found.append(
            (
                field,
                "unknown_lot",
                f"{_listed(epcs)} not a registered unit; stored, not linked to a lot "
                "(import the lot with its serials to link it)",
            )
        )
    for field, elements in (
        ("quantityList", event.quantity_list),
        ("childQuantityList", event.child_quantity_list),
        ("inputQuantityList", event.input_quantity_list),
        ("outputQuantityList", event.output_quantity_list),
    ):
        for index, element in enumerate(elements):
            key = _lot_key(element.epc_class)
            if key is not None and key not in known.lots:
                found.append(
                    (
                        f"{field}[{index}].epcClass",
                        "unknown_lot",
                        f"lot {key[1]} of GTIN {key[0]} is not in the records; stored "
                        "and linked to that lot (import the lot to vouch for it)",
                    )
                )
    for field, where in (("readPoint", event.read_point), ("bizLocation", event.biz_location)):
        if where is not None and where.id not in known.locations:
            found.append(
                (
                    f"{field}.id",
                    "unknown_location",
                    f"{where.id} is not a recorded location; stored (add the location "
                    "to the records to name its custodian and telemetry)",
                )
            )
    return found


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _unit_key(epc: str) -> tuple[str, str] | None:
    if not epc.startswith("urn:epc:id:sgtin:"):
        return None
    try:
        sgtin = Sgtin.parse(epc)
    except InvalidIdentifier:
        return None
    return sgtin.gtin.value, sgtin.serial.value


def _lot_key(epc_class: str) -> tuple[str, str] | None:
    if not epc_class.startswith(_LGTIN):
        return None
    try:
        lgtin = Lgtin.parse(epc_class)
    except InvalidIdentifier:
        return None
    return lgtin.gtin.value, lgtin.lot.value


def _listed(epcs: Sequence[str]) -> str:
    shown = ", ".join(epcs[:_SHOWN])
    more = f" and {len(epcs) - _SHOWN} more" if len(epcs) > _SHOWN else ""
    return f"{shown}{more} {'is' if len(epcs) == 1 else 'are'}"
