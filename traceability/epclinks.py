"""How a captured event names its objects: the EPC links that index it by unit, lot and
role (``records.event_epcs``), the ledger stream of a lot, and the bounds an indexed
value must keep (``traceability.capture`` uses them; ``anchoring`` holds links against
bodies with the same functions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gs1.epcis.event import EpcisEvent
from gs1.errors import EventRejected, InvalidIdentifier
from gs1.identifiers import Lgtin, Sgtin
from ledger.entry import stream_problem
from traceability.records.entities import EpcLink
from traceability.records.keysize import MAX_INDEXED_BYTES, oversized


def event_links(event: EpcisEvent, unit_lots: Mapping[tuple[str, str], str]) -> tuple[EpcLink, ...]:
    """The EPCs and EPC classes ``event`` names, each once with its role, linked to its
    lot where the records know it (``unit_lots``: (gtin, serial) → lot); a lot class
    that names a lot the ledger cannot chain is refused (``EventRejected``)."""
    named: dict[str, EpcLink] = {}
    roles: list[tuple[str, Sequence[str]]] = [
        ("epc", event.epc_list),
        ("parent", (event.parent_id,) if event.parent_id else ()),
        ("child", event.child_epcs),
        ("input", event.input_epc_list),
        ("output", event.output_epc_list),
    ]
    for role, epcs in roles:
        for epc in epcs:
            named.setdefault(epc, _link(epc, role, unit_lots))
    for role, field, elements in (
        ("class", "quantityList", event.quantity_list),
        ("child", "childQuantityList", event.child_quantity_list),
        ("input", "inputQuantityList", event.input_quantity_list),
        ("output", "outputQuantityList", event.output_quantity_list),
    ):
        for index, element in enumerate(elements):
            check_class(element.epc_class, f"{field}[{index}].epcClass")
            named.setdefault(element.epc_class, class_link(element.epc_class, role))
    return tuple(named.values())


def _link(epc: str, role: str, unit_lots: Mapping[tuple[str, str], str]) -> EpcLink:
    if not epc.startswith("urn:epc:id:sgtin:"):
        return EpcLink(epc=epc, role=role)
    sgtin = Sgtin.parse(epc)  # already validated by parse_event
    gtin, serial = sgtin.gtin.value, sgtin.serial.value
    return EpcLink(epc=epc, gtin=gtin, serial=serial, lot=unit_lots.get((gtin, serial)), role=role)


_LGTIN = "urn:epc:class:lgtin:"


def lot_stream(gtin: str, lot: str) -> str:
    """The ledger hash-chain stream of one lot (every event naming the lot is linked in)."""
    return f"lot:{gtin}/{lot}"


def check_class(epc_class: str, field: str) -> None:
    """A lot class must name a lot the records and the ledger can key: a GTIN and an
    AI (10) lot of at most 20 characters, so its stream fits the ledger's limit."""
    if not epc_class.startswith(_LGTIN):
        return
    try:
        lgtin = Lgtin.parse(epc_class)
    except InvalidIdentifier as exc:
        raise EventRejected(field, f"is not a valid LGTIN class: {exc.field} {exc.reason}") from exc
    problem = stream_problem(lot_stream(lgtin.gtin.value, lgtin.lot.value))
    if problem is not None:
        raise EventRejected(field, f"names a lot the ledger cannot chain: {problem}")


def class_link(epc_class: str, role: str) -> EpcLink:
    """A quantity element naming a whole lot (``urn:epc:class:lgtin:CP.IR.Lot``) links it;
    any other class (or, read back from storage, a malformed lot class) is kept unlinked."""
    if epc_class.startswith(_LGTIN):
        try:
            lgtin = Lgtin.parse(epc_class)
        except InvalidIdentifier:
            return EpcLink(epc=epc_class, role=role)
        return EpcLink(epc=epc_class, gtin=lgtin.gtin.value, lot=lgtin.lot.value, role=role)
    return EpcLink(epc=epc_class, role=role)


_LINK_FIELDS = {
    "epc": "epcList",
    "parent": "parentID",
    "child": "childEPCs",
    "input": "inputEPCList",
    "output": "outputEPCList",
    "class": "quantityList.epcClass",
}


def check_indexable(event: EpcisEvent, links: Sequence[EpcLink]) -> None:
    """Raises ``EventRejected`` for a value too long for the records' indexes."""
    for field, value in (
        ("bizStep", event.biz_step_short),
        ("disposition", event.disposition_short),
        ("readPoint.id", event.read_point.id if event.read_point else None),
        ("bizLocation.id", event.biz_location.id if event.biz_location else None),
        *((_LINK_FIELDS.get(link.role, "epcList"), link.epc) for link in links),
    ):
        size = oversized(value)
        if size is not None:
            raise EventRejected(
                field,
                f"is {size} bytes long; the repository indexes at most "
                f"{MAX_INDEXED_BYTES}: use a shorter URI",
            )
