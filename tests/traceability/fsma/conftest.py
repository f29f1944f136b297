"""A fresh-cut salad's food traceability chain, captured as one EPCIS 2.0 document into a
real records store (SQLite), and the FSMA 204 rows it must give, written by hand.

A grower harvests romaine (lot GV0601) in field 7 of its farm (whose coordinates the
records hold), cools and packs it at its packhouse
(initial packing: the TLC), ships it to a processor, which receives it (and another lot,
GV0599, from a farm the records do not know), stores it, transforms 40 cases into a
fresh-cut lot FC0603 (3 serialised cases), packs them on a pallet, ships the pallet to a
distribution centre, which receives it without a reference document and ships it on at
22:30 local time (05:30 UTC the next day) to a store the records do not know; the store
receives it on 5 June, outside the window asked for (1 to 4 June).
"""

from __future__ import annotations

from typing import Any

import pytest

from traceability.capture import CaptureService
from traceability.records.locations import Location
from traceability.records.store import RecordStore

ROMAINE = "00614141111114"  # urn:epc:class:lgtin:0614141.011111.*
CHOPPED = "00614141222223"  # urn:epc:class:lgtin:0614141.022222.*
ROMAINE_NAME = "Romaine lettuce, whole heads, 24 ct case"
CHOPPED_NAME = "Chopped romaine, 12 x 10 oz bag case"
FARM = "urn:epc:id:sgln:0614141.00001.0"
FIELD = "urn:epc:id:sgln:0614141.00001.7"
PACKHOUSE = "urn:epc:id:sgln:0614141.00002.0"
PROCESSOR = "urn:epc:id:sgln:0614142.00001.0"
DC = "urn:epc:id:sgln:0614143.00001.0"
UNKNOWN_FARM = "urn:epc:id:sgln:0614199.00001.0"
STORE = "urn:epc:id:sgln:0614144.00001.0"
PALLET = "urn:epc:id:sscc:0614142.1234567890"
NAMES = {
    FARM: "Green Valley Farm, Salinas CA",
    FIELD: "Green Valley Farm field 7",
    PACKHOUSE: "Green Valley Packhouse, Salinas CA",
    PROCESSOR: "FreshCut Processing, Watsonville CA",
    DC: "Northwest DC, Portland OR",
}
WINDOW = ("2026-06-01", "2026-06-04")
EVENTS = (
    "harvest",
    "cooling",
    "packing",
    "ship_gv",
    "receive_gv",
    "store_gv",
    "receive_other",
    "transform",
    "pallet",
    "ship_fc",
    "receive_fc",
    "ship_store",
    "receive_store",
)


FARM_GEO = (36.6777, -121.6555)
# What FDA's location description asks that the records do not hold (21 CFR 1.1310)
NO_PHONE = "phone"
NO_PHONE_OR_ADDRESS = "phone, address or coordinates"
PRODUCT_GAP = "Product Description: brand, commodity, variety, pack size and style"


def described(urn: str) -> str:
    if urn == FARM:
        return f"{NAMES[urn]} ({urn}); geo {FARM_GEO[0]},{FARM_GEO[1]}; country US"
    return f"{NAMES[urn]} ({urn}); country US"


def lacks(kde: str, urn: str) -> str:
    """The Missing KDEs entry of a described place: what its description lacks."""
    return f"{kde}: {NO_PHONE if urn == FARM else NO_PHONE_OR_ADDRESS}"


def bt(gln: str, number: str) -> str:
    return f"urn:epcglobal:cbv:bt:{gln}:{number}"


def lot_class(gtin: str, lot: str) -> str:
    item = {ROMAINE: "011111", CHOPPED: "022222"}[gtin]
    return f"urn:epc:class:lgtin:0614141.{item}.{lot}"


def _event(kind: str, time: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": time, "eventTimeZoneOffset": "-07:00", **fields}


def _at(urn: str) -> dict[str, str]:
    return {"id": urn}


def _place(kind: str, urn: str) -> list[dict[str, str]]:
    return [{"type": "location", kind: urn}]


def _docs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"type": kind, "bizTransaction": value} for kind, value in pairs]


def _quantity(gtin: str, lot: str, quantity: float, uom: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lot_class(gtin, lot), "quantity": quantity}
    return element if uom is None else {**element, "uom": uom}


CASES = [f"urn:epc:id:sgtin:0614141.022222.{n}" for n in (1, 2, 3)]


def chain_events() -> list[dict[str, Any]]:
    gv = [_quantity(ROMAINE, "GV0601", 100)]
    return [
        _event(
            "ObjectEvent",
            "2026-06-01T07:00:00-07:00",
            action="OBSERVE",
            bizStep="urn:tracehub:cte:harvesting",
            quantityList=[_quantity(ROMAINE, "GV0601", 1200, "KGM")],
            readPoint=_at(FARM),
            bizLocation=_at(FIELD),
            destinationList=_place("destination", PACKHOUSE),
            bizTransactionList=_docs(("urn:tracehub:btt:harvest_log", "urn:tracehub:bt:HL-0601")),
        ),
        _event(
            "ObjectEvent",
            "2026-06-01T09:30:00-07:00",
            action="OBSERVE",
            bizStep="urn:tracehub:cte:cooling",
            quantityList=[_quantity(ROMAINE, "GV0601", 1200, "KGM")],
            readPoint=_at(PACKHOUSE),
            bizLocation=_at(PACKHOUSE),
            destinationList=_place("destination", PACKHOUSE),
            bizTransactionList=_docs(("prodorder", bt("0614141000005", "CL-0601"))),
        ),
        _event(
            "ObjectEvent",
            "2026-06-01T11:00:00-07:00",
            action="ADD",
            bizStep="commissioning",
            disposition="active",
            quantityList=gv,
            readPoint=_at(PACKHOUSE),
            bizLocation=_at(PACKHOUSE),
            bizTransactionList=_docs(("prodorder", bt("0614141000005", "PK-0601"))),
        ),
        _event(
            "ObjectEvent",
            "2026-06-02T06:00:00-07:00",
            action="OBSERVE",
            bizStep="shipping",
            disposition="in_transit",
            quantityList=gv,
            readPoint=_at(PACKHOUSE),
            sourceList=[
                {"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"},
                {"type": "location", "source": PACKHOUSE},
            ],
            destinationList=_place("destination", PROCESSOR),
            bizTransactionList=_docs(
                ("bol", bt("0614141000005", "BOL-7781")),
                ("https://ref.gs1.org/cbv/BTT-desadv", bt("0614141000005", "ASN-7781")),
            ),
        ),
        _event(
            "ObjectEvent",
            "2026-06-02T10:15:00-07:00",
            action="OBSERVE",
            bizStep="https://ref.gs1.org/cbv/BizStep-receiving",
            disposition="in_progress",
            quantityList=gv,
            readPoint=_at(PROCESSOR),
            bizLocation=_at(PROCESSOR),
            sourceList=_place("source", PACKHOUSE),
            destinationList=_place("destination", PROCESSOR),
            bizTransactionList=_docs(("bol", bt("0614141000005", "BOL-7781"))),
        ),
        _event(
            "ObjectEvent",
            "2026-06-02T10:30:00-07:00",
            action="OBSERVE",
            bizStep="storing",
            quantityList=gv,
            readPoint=_at(PROCESSOR),
            bizLocation=_at(PROCESSOR),
        ),
        _event(
            "ObjectEvent",
            "2026-06-02T12:00:00-07:00",
            action="OBSERVE",
            bizStep="receiving",
            quantityList=[_quantity(ROMAINE, "GV0599", 20)],
            readPoint=_at(PROCESSOR),
            bizLocation=_at(PROCESSOR),
            sourceList=_place("source", UNKNOWN_FARM),
            bizTransactionList=_docs(("inv", bt("0614199000002", "INV-55"))),
        ),
        _event(
            "TransformationEvent",
            "2026-06-03T08:00:00-07:00",
            bizStep="commissioning",
            inputQuantityList=[_quantity(ROMAINE, "GV0601", 40)],
            outputQuantityList=[_quantity(CHOPPED, "FC0603", 3)],
            readPoint=_at(PROCESSOR),
            bizLocation=_at(PROCESSOR),
            bizTransactionList=_docs(("prodorder", bt("0614142000008", "WO-0603"))),
        ),
        _event(
            "AggregationEvent",
            "2026-06-03T14:00:00-07:00",
            action="ADD",
            bizStep="packing",
            parentID=PALLET,
            childEPCs=CASES,
            readPoint=_at(PROCESSOR),
            bizLocation=_at(PROCESSOR),
        ),
        _event(
            "ObjectEvent",
            "2026-06-03T15:00:00-07:00",
            action="OBSERVE",
            bizStep="shipping",
            epcList=[PALLET],
            readPoint=_at(PROCESSOR),
            sourceList=_place("source", PROCESSOR),
            destinationList=_place("destination", DC),
            bizTransactionList=_docs(("bol", bt("0614142000008", "BOL-9001"))),
        ),
        _event(
            "ObjectEvent",
            "2026-06-04T05:00:00-07:00",
            action="OBSERVE",
            bizStep="receiving",
            epcList=[PALLET],
            readPoint=_at(DC),
            bizLocation=_at(DC),
            sourceList=_place("source", PROCESSOR),
        ),
        _event(
            "ObjectEvent",
            "2026-06-05T05:30:00Z",  # 22:30 on 4 June where it happened
            action="OBSERVE",
            bizStep="shipping",
            epcList=[PALLET],
            readPoint=_at(DC),
            sourceList=_place("source", DC),
            destinationList=_place("destination", STORE),
            bizTransactionList=_docs(("bol", bt("0614143000001", "BOL-9100"))),
        ),
        _event(
            "ObjectEvent",
            "2026-06-05T08:00:00-07:00",
            action="OBSERVE",
            bizStep="receiving",
            epcList=[PALLET],
            readPoint=_at(STORE),
            bizLocation=_at(STORE),
            sourceList=_place("source", DC),
            bizTransactionList=_docs(("bol", bt("0614143000001", "BOL-9100"))),
        ),
    ]


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-06-05T12:00:00Z",
        "epcisBody": {"eventList": events},
    }


def add_master_data(store: RecordStore) -> None:
    store.add_product(ROMAINE, ROMAINE_NAME)
    store.add_product(CHOPPED, CHOPPED_NAME)
    store.add_lot(ROMAINE, "GV0601", quantity=100)
    store.add_lot(CHOPPED, "FC0603", quantity=3, serials=(1, 2, 3))
    for urn, name in NAMES.items():
        latitude, longitude = FARM_GEO if urn == FARM else (None, None)
        store.add_location(
            Location(
                urn=urn,
                name=name,
                kind="site",
                country="US",
                latitude=latitude,
                longitude=longitude,
            )
        )


def capture_chain(store: RecordStore) -> dict[str, str]:
    """The chain captured (all or nothing); event name → stored event id."""
    report = CaptureService(store).capture_document(document(chain_events()))
    assert report.ok, report.errors
    assert len(report.captured) == len(EVENTS)
    return {name: o.event_id for name, o in zip(EVENTS, report.captured, strict=True)}


@pytest.fixture
def chain(store: RecordStore) -> dict[str, str]:
    add_master_data(store)
    return capture_chain(store)


def expected_rows(ids: dict[str, str]) -> list[list[str]]:
    """The spreadsheet's rows as CSV cells, written out by hand (sorted by lot, then time)."""
    pk, pr, dc = described(PACKHOUSE), described(PROCESSOR), described(DC)
    farm, field = described(FARM), described(FIELD)
    bol = "Bill of Lading"
    order = "Production Order"
    ship, recv = "ObjectEvent shipping", "ObjectEvent receiving"
    t = "TransformationEvent commissioning"
    fc = [CHOPPED, CHOPPED_NAME]
    gv = [ROMAINE, ROMAINE_NAME]
    b = bt
    src, loc = "Traceability Lot Code Source", "Location Description"
    prev, subs = "Immediate Previous Source", "Immediate Subsequent Recipient"
    no_harvest = ["", "", "", "", ""]  # harvest and cooling columns (initial packing's)

    def gaps(*items: str) -> str:
        return "; ".join(items)

    # TLC, GTIN, CTE, role, date, TLC source, product, qty, uom, location, previous,
    # subsequent, doc type, doc number, harvest location, field, harvest date, cooling
    # location, cooling date, event time, id, EPCIS event, trace, missing
    # fmt: off
    return [
        ["FC0603", fc[0], "Transformation", "output", "2026-06-03", pr, fc[1], "3", "EA", pr,
         "", "", order, b("0614142000008", "WO-0603"), *no_harvest, "2026-06-03T08:00:00-07:00",
         ids["transform"], t, "",
         gaps(lacks(src, PROCESSOR), PRODUCT_GAP, lacks(loc, PROCESSOR))],
        ["FC0603", fc[0], "Shipping", "", "2026-06-03", pr, fc[1], "3", "EA", pr, "", dc, bol,
         b("0614142000008", "BOL-9001"), *no_harvest, "2026-06-03T15:00:00-07:00",
         ids["ship_fc"], ship, "",
         gaps(lacks(src, PROCESSOR), PRODUCT_GAP, lacks(loc, PROCESSOR), lacks(subs, DC))],
        ["FC0603", fc[0], "Receiving", "", "2026-06-04", pr, fc[1], "3", "EA", dc, pr, "", "",
         "", *no_harvest, "2026-06-04T05:00:00-07:00", ids["receive_fc"], recv, "",
         gaps(lacks(src, PROCESSOR), PRODUCT_GAP, lacks(loc, DC), lacks(prev, PROCESSOR),
              "Reference Document Type", "Reference Document Number")],
        ["FC0603", fc[0], "Shipping", "", "2026-06-04", pr, fc[1], "3", "EA", dc, "", STORE,
         bol, b("0614143000001", "BOL-9100"), *no_harvest, "2026-06-04T22:30:00-07:00",
         ids["ship_store"], ship, "",
         gaps(lacks(src, PROCESSOR), PRODUCT_GAP, lacks(loc, DC),
              f"{subs} (identifier only)")],
        ["GV0599", gv[0], "Receiving", "", "2026-06-02", "", gv[1], "20", "EA", pr,
         UNKNOWN_FARM, "", "Invoice", b("0614199000002", "INV-55"), *no_harvest,
         "2026-06-02T12:00:00-07:00", ids["receive_other"], recv, "",
         gaps(src, PRODUCT_GAP, lacks(loc, PROCESSOR), f"{prev} (identifier only)")],
        ["GV0601", gv[0], "Harvesting", "", "2026-06-01", pk, gv[1], "1200", "KGM",
         farm, "", pk, "urn:tracehub:btt:harvest_log", "urn:tracehub:bt:HL-0601",
         "", field, "", "", "", "2026-06-01T07:00:00-07:00", ids["harvest"],
         "ObjectEvent urn:tracehub:cte:harvesting", "",
         gaps(PRODUCT_GAP, lacks(loc, FARM), lacks(subs, PACKHOUSE))],
        ["GV0601", gv[0], "Cooling", "", "2026-06-01", pk, gv[1], "1200", "KGM", pk, "", pk,
         order, b("0614141000005", "CL-0601"), *no_harvest, "2026-06-01T09:30:00-07:00",
         ids["cooling"], "ObjectEvent urn:tracehub:cte:cooling", "",
         gaps(PRODUCT_GAP, lacks(loc, PACKHOUSE), lacks(subs, PACKHOUSE))],
        ["GV0601", gv[0], "Initial Packing", "", "2026-06-01", pk, gv[1], "100", "EA", pk, "",
         "", order, b("0614141000005", "PK-0601"), farm, field, "2026-06-01", pk,
         "2026-06-01", "2026-06-01T11:00:00-07:00", ids["packing"],
         "ObjectEvent commissioning", "",
         gaps(lacks(src, PACKHOUSE), PRODUCT_GAP, lacks(loc, PACKHOUSE),
              lacks("Harvest Location Description", FARM),
              lacks("Cooling Location Description", PACKHOUSE),
              "Commodity and Variety Received", "Date Received",
              "Harvester Business Name and Phone", "Quantity Received")],
        ["GV0601", gv[0], "Shipping", "", "2026-06-02", pk, gv[1], "100", "EA", pk, "", pr,
         f"{bol}; Advance Ship Notice",
         f"{b('0614141000005', 'BOL-7781')}; {b('0614141000005', 'ASN-7781')}",
         *no_harvest, "2026-06-02T06:00:00-07:00", ids["ship_gv"], ship, "",
         gaps(lacks(src, PACKHOUSE), PRODUCT_GAP, lacks(loc, PACKHOUSE),
              lacks(subs, PROCESSOR))],
        ["GV0601", gv[0], "Receiving", "", "2026-06-02", pk, gv[1], "100", "EA", pr, pk, "",
         bol, b("0614141000005", "BOL-7781"), *no_harvest, "2026-06-02T10:15:00-07:00",
         ids["receive_gv"], recv, "",
         gaps(lacks(src, PACKHOUSE), PRODUCT_GAP, lacks(loc, PROCESSOR),
              lacks(prev, PACKHOUSE))],
        ["GV0601", gv[0], "Transformation", "input", "2026-06-03", pk, gv[1], "40", "EA", pr,
         "", "", order, b("0614142000008", "WO-0603"), *no_harvest,
         "2026-06-03T08:00:00-07:00", ids["transform"], t, "", PRODUCT_GAP],
    ]
    # fmt: on
