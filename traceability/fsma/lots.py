"""What an EPCIS event says about each lot it moves: the lot, its role and its quantity
(pure; the caller looks up which lot a serialised unit or a pallet's content is).

* a quantity element of a lot class (``urn:epc:class:lgtin:…``, GS1's way to carry a
  traceability lot code) gives its quantity and unit; without ``uom`` it counts
  instances (EPCIS 2.0 §7.3.3.3): unit ``EA``;
* serialised units (SGTIN) count one ``EA`` each, in the lot the records hold for them;
* a carrier (pallet SSCC, asset) an event names counts what it held at the event's time.

A ``TransformationEvent``'s inputs are role ``input`` and its outputs ``output``; every
other event's objects have role ``""``. A unit or carrier whose lot is unknown still
counts, under lot None (and GTIN None when even that is unknown), so that the export
lists it with its missing KDEs rather than dropping it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Lgtin, Sgtin

EACH = "EA"  # UN/ECE Recommendation 20: "each", a count of instances
_LGTIN = "urn:epc:class:lgtin:"
_SGTIN = "urn:epc:id:sgtin:"
Key = tuple[str | None, str | None]  # (gtin, lot)


class LotLine(BaseModel):
    """One lot of one event, in one role and unit (``quantity`` None: not given)."""

    model_config = ConfigDict(frozen=True)

    gtin: str | None
    lot: str | None
    role: str  # "input", "output" or ""
    quantity: float | None
    uom: str | None


# (list of EPCs, list of quantity elements) per role, as the event's JSON names them.
_OBJECT_LISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "TransformationEvent": (
        ("inputEPCList", "input"),
        ("inputQuantityList", "input"),
        ("outputEPCList", "output"),
        ("outputQuantityList", "output"),
    ),
}
_PLAIN = (("epcList", ""), ("quantityList", ""), ("childEPCs", ""), ("childQuantityList", ""))


def unit_keys(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(gtin, serial)`` of every SGTIN the event names (to look their lots up)."""
    keys: list[tuple[str, str]] = []
    for epc in _epcs(document):
        sgtin = _sgtin(epc)
        if sgtin is not None:
            keys.append((sgtin.gtin.value, sgtin.serial.value))
    return keys


def carriers(document: Mapping[str, Any], is_carrier: Callable[[str], bool]) -> list[str]:
    """The carriers whose content the event moves: those of its ``epcList``, and its
    ``parentID`` when it lists no children (an aggregation's children are listed)."""
    named = [e for e in _list(document.get("epcList")) if isinstance(e, str) and is_carrier(e)]
    parent = document.get("parentID")
    no_children = not document.get("childEPCs") and not document.get("childQuantityList")
    if isinstance(parent, str) and is_carrier(parent) and no_children:
        named.append(parent)
    return named


def lot_lines(
    document: Mapping[str, Any],
    unit_lots: Mapping[tuple[str, str], str],
    carried: Mapping[str, Sequence[Key]],
) -> tuple[LotLine, ...]:
    """The lots ``document`` moves, one line per (gtin, lot, role, unit), in the order the
    event names them. ``unit_lots``: (gtin, serial) → lot; ``carried``: carrier EPC → the
    (gtin, lot) of each unit it held then (one entry per unit)."""
    totals: dict[tuple[str | None, str | None, str, str | None], float | None] = {}

    def add(key: Key, role: str, quantity: float | None, uom: str | None) -> None:
        slot = (key[0], key[1], role, uom)
        if slot not in totals:
            totals[slot] = quantity
        elif quantity is None or totals[slot] is None:
            totals[slot] = None  # a quantity given once and not once is not known
        else:
            totals[slot] = (totals[slot] or 0.0) + quantity

    lists = _OBJECT_LISTS.get(str(document.get("type")), _PLAIN)
    for field, role in lists:
        for item in _list(document.get(field)):
            if isinstance(item, str):
                sgtin = _sgtin(item)
                if sgtin is not None:
                    gtin = sgtin.gtin.value
                    add((gtin, unit_lots.get((gtin, sgtin.serial.value))), role, 1.0, EACH)
                elif item in carried:
                    for key in carried[item]:
                        add(key, role, 1.0, EACH)
            elif isinstance(item, Mapping):
                lgtin = _lgtin(item.get("epcClass"))
                if lgtin is None:
                    continue  # a class that is no lot (a GTIN alone) names no TLC
                quantity = _number(item.get("quantity"))
                uom = item.get("uom") if isinstance(item.get("uom"), str) else None
                if quantity is not None and uom is None:
                    uom = EACH
                add((lgtin.gtin.value, lgtin.lot.value), role, quantity, uom)
    parent = document.get("parentID")
    if isinstance(parent, str) and parent in carriers(document, carried.__contains__):
        for key in carried[parent]:  # a parent emptied or observed whole: its content
            add(key, "", 1.0, EACH)
    return tuple(
        LotLine(gtin=gtin, lot=lot, role=role, quantity=quantity, uom=uom)
        for (gtin, lot, role, uom), quantity in totals.items()
    )


def _epcs(document: Mapping[str, Any]) -> Iterable[str]:
    for field in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        for epc in _list(document.get(field)):
            if isinstance(epc, str):
                yield epc


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sgtin(epc: str) -> Sgtin | None:
    if not epc.startswith(_SGTIN):
        return None
    try:
        return Sgtin.parse(epc)
    except InvalidIdentifier:
        return None  # capture refused such a body; the export lists what it can read


def _lgtin(epc_class: Any) -> Lgtin | None:
    if not isinstance(epc_class, str) or not epc_class.startswith(_LGTIN):
        return None
    try:
        return Lgtin.parse(epc_class)
    except InvalidIdentifier:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
