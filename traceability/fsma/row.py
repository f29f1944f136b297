"""One row of the FSMA 204 sortable spreadsheet per CTE and lot, mapped from an EPCIS
event and the master data (pure).

EPCIS field → KDE (``docs/fsma204.md`` has the whole table):

* Traceability Lot Code: the lot of the event's lot class or units (``traceability.fsma.lots``)
* Traceability Lot Code Source: where the lot's TLC was assigned (its initial packing,
  first land-based receiving or transformation), from ``MasterData.tlc_sources``
* Product Description: the product's name in the records (by GTIN); brand, commodity,
  variety, pack size and style are not held apart from it, and are named missing
* Quantity, Unit of Measure: ``quantityList`` (or a count of units, ``EA``)
* Location Description: where the CTE happened, described by the records' locations:
  harvesting its ``readPoint`` (the farm); shipping the ``sourceList`` location (ship-from),
  else its ``readPoint``; the others their ``bizLocation``, else ``readPoint``
* Immediate Previous Source / Subsequent Recipient: ``sourceList`` / ``destinationList``
  (type location, else possessing party, else owning party)
* Reference Document Type / Number: ``bizTransactionList`` (type, value), joined by "; "
* Date: the event's date where it happened (``eventTimeZoneOffset``)
* Harvest Location Description, Field or Growing Area, Harvest Date, Cooling Location
  Description, Cooling Date (initial packing; first land-based receiving its harvest
  dates): ``traceability.fsma.origin``

A KDE the CTE requires (``traceability.fsma.cte.REQUIRED``) that the event and records do
not give is named in ``missing``; a place the records have no description of keeps its
identifier in the cell and is named ``"<KDE> (identifier only)"``; a described place
names what FDA's location description asks that the records lack (``"<KDE>: phone"``,
``traceability.fsma.place``). KDEs the records have no field for
(``traceability.fsma.cte.NOT_HELD``) are always named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from traceability.fsma import cte as kde
from traceability.fsma.cte import CTE_NAMES, Cte, requirement, step_name
from traceability.fsma.lots import LotLine
from traceability.fsma.origin import LotKey, Origin, OriginEvent, origin_of
from traceability.fsma.place import Place, Places
from traceability.records.entities import Product
from traceability.records.locations import Location

# CBV 2.0 business transaction types, as FDA's examples name reference documents.
DOCUMENT_TYPES = {
    "bol": "Bill of Lading",
    "cert": "Certificate",
    "desadv": "Advance Ship Notice",
    "inv": "Invoice",
    "pedigree": "Pedigree",
    "po": "Purchase Order",
    "poc": "Purchase Order Confirmation",
    "prodorder": "Production Order",
    "recadv": "Receiving Advice",
    "rma": "Return Merchandise Authorization",
    "testprd": "Test Procedure",
    "testres": "Test Result",
    "upevt": "Upstream EPCIS Event",
}
_BTT_PREFIXES = ("https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:")
_SDT_PREFIXES = ("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:")
_PARTY_ORDER = ("location", "possessing_party", "owning_party")
IDENTIFIER_ONLY = " (identifier only)"
# The Row field of each KDE a CTE can require (cte.REQUIRED).
_FIELDS = {
    kde.TLC: "tlc",
    kde.TLC_SOURCE: "tlc_source",
    kde.PRODUCT: "product",
    kde.QUANTITY: "quantity",
    kde.UOM: "uom",
    kde.LOCATION: "location",
    kde.PREVIOUS: "previous",
    kde.SUBSEQUENT: "subsequent",
    kde.DATE: "day",
    kde.DOC_TYPE: "doc_type",
    kde.DOC_NUMBER: "doc_number",
    kde.HARVEST_LOCATION: "harvest_location",
    kde.FIELD: "field",
    kde.HARVEST_DATE: "harvest_date",
    kde.COOLING_LOCATION: "cooling_location",
    kde.COOLING_DATE: "cooling_date",
}


class MasterData(BaseModel):
    """What the records know beside the events: products, places, each lot's TLC source."""

    model_config = ConfigDict(frozen=True)

    products: Mapping[str, Product] = {}
    locations: Mapping[str, Location] = {}
    tlc_sources: Mapping[LotKey, str] = {}  # (gtin, lot) → location URN
    origins: Mapping[LotKey, Sequence[OriginEvent]] = {}  # a lot's harvests and coolings


class Row(BaseModel):
    """One CTE of one lot: the KDE cells (None: not given) and what is missing."""

    model_config = ConfigDict(frozen=True)

    tlc: str | None
    gtin: str | None
    cte: Cte
    role: str
    day: date
    tlc_source: str | None
    product: str | None
    quantity: float | None
    uom: str | None
    location: str | None
    previous: str | None
    subsequent: str | None
    doc_type: str | None
    doc_number: str | None
    event_time: datetime  # aware, in the offset where the event happened
    harvest_location: str | None = None
    field: str | None = None
    harvest_date: str | None = None  # a day, or an ISO 8601 interval of days
    cooling_location: str | None = None
    cooling_date: str | None = None
    event_id: str
    epcis_event: str
    trace: str = ""
    missing: tuple[str, ...] = ()

    def cells(self) -> tuple[str | float | date | None, ...]:
        """The row's values in ``COLUMNS`` order (dates as dates, quantities as numbers)."""
        return (
            self.tlc,
            self.gtin,
            CTE_NAMES[self.cte],
            self.role,
            self.day,
            self.tlc_source,
            self.product,
            self.quantity,
            self.uom,
            self.location,
            self.previous,
            self.subsequent,
            self.doc_type,
            self.doc_number,
            self.harvest_location,
            self.field,
            self.harvest_date,
            self.cooling_location,
            self.cooling_date,
            self.event_time.isoformat(),
            self.event_id,
            self.epcis_event,
            self.trace,
            "; ".join(self.missing),
        )

    def sort_key(self) -> tuple[str, datetime, str, str, str]:
        """By lot, then when (the instant), then event and role: FDA reads a lot's story."""
        instant = self.event_time.astimezone(UTC)
        return (self.tlc or "", instant, self.gtin or "", self.event_id, self.role)


def rows_of(
    event_id: str,
    document: Mapping[str, Any],
    event_time: datetime,
    cte: Cte,
    lines: Sequence[LotLine],
    master: MasterData,
) -> list[Row]:
    """The rows of one CTE event, one per lot line (one row naming no lot when the event
    names none the records can resolve, so the CTE is listed with what it lacks)."""
    moment = local_time(event_time, document.get("eventTimeZoneOffset"))
    places = Places(master.locations)
    location = places.describe(place_of(document, cte))
    # Where it came from or goes to only where FDA asks it of the CTE: a shipping event's
    # source is its ship-from (Location Description), a receiving's destination itself.
    asked = kde.REQUIRED[requirement(cte, "")]
    previous = places.describe(
        _party(document.get("sourceList"), "source") if kde.PREVIOUS in asked else None
    )
    subsequent = places.describe(
        _party(document.get("destinationList"), "destination") if kde.SUBSEQUENT in asked else None
    )
    doc_type, doc_number = _documents(document.get("bizTransactionList"))
    step = step_name(document)
    epcis = f"{document.get('type')} {step}" if step else str(document.get("type"))
    rows: list[Row] = []
    for line in lines or (LotLine(gtin=None, lot=None, role="", quantity=None, uom=None),):
        key = (line.gtin, line.lot) if line.gtin and line.lot else None
        source = places.describe(master.tlc_sources.get(key) if key else None)
        product = master.products.get(line.gtin) if line.gtin else None
        origin = Origin(field=_field_of(document) if cte == "harvesting" else None)
        if cte in ("initial_packing", "first_land_based_receiving"):
            origin = origin_of(document, moment, master.origins.get(key, ()) if key else ())
        farm = places.describe(origin.harvest_location)
        # a field is named, not reached: FDA asks no phone or address of it
        field = places.describe(origin.field).model_copy(update={"lacking": ()})
        cooled = places.describe(origin.cooling_location)
        row = Row(
            tlc=line.lot,
            gtin=line.gtin,
            cte=cte,
            role=line.role,
            day=moment.date(),
            tlc_source=source.text,
            product=product.name if product else None,
            quantity=line.quantity,
            uom=line.uom,
            location=location.text,
            previous=previous.text,
            subsequent=subsequent.text,
            doc_type=doc_type,
            doc_number=doc_number,
            event_time=moment,
            event_id=event_id,
            epcis_event=epcis,
            harvest_location=farm.text,
            field=field.text,
            harvest_date=origin.harvest_date,
            cooling_location=cooled.text,
            cooling_date=origin.cooling_date,
        )
        described = {
            kde.TLC_SOURCE: source,
            kde.LOCATION: location,
            kde.PREVIOUS: previous,
            kde.SUBSEQUENT: subsequent,
            kde.HARVEST_LOCATION: farm,
            kde.FIELD: field,
            kde.COOLING_LOCATION: cooled,
        }
        needed = requirement(cte, line.role)
        missing = _missing(row, kde.REQUIRED[needed], described)
        missing.extend(kde.NOT_HELD.get(needed, ()))
        rows.append(row.model_copy(update={"missing": tuple(sorted(missing, key=_column_order))}))
    return rows


def _missing(row: Row, required: Sequence[str], described: Mapping[str, Place]) -> list[str]:
    """The required KDEs ``row`` lacks in whole or in part (see the module docstring)."""
    missing: list[str] = []
    for name in required:
        place = described.get(name)
        if getattr(row, _FIELDS[name]) in (None, ""):
            optional = kde.IF_APPLICABLE.get(name)
            missing.append(f"{name} ({optional})" if optional else name)
        elif place is not None and not place.known:
            missing.append(name + IDENTIFIER_ONLY)
        elif place is not None and place.lacking:
            missing.append(f"{name}: {', '.join(place.lacking)}")
        elif name == kde.PRODUCT:
            missing.append(f"{name}: {kde.PRODUCT_PARTS}")
    return missing


def local_time(moment: datetime, zone_offset: Any) -> datetime:
    """``moment`` (aware) in the offset where the event happened (its
    ``eventTimeZoneOffset``; UTC when that is missing or malformed)."""
    offset = _offset(zone_offset)
    return moment.astimezone(offset if offset is not None else UTC)


def _offset(text: Any) -> timezone | None:
    if not isinstance(text, str) or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    hours, minutes = text[1:3], text[4:6]
    if not (hours.isdigit() and minutes.isdigit()) or int(hours) > 14 or int(minutes) > 59:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if text[0] == "-" else delta)


def place_of(document: Mapping[str, Any], cte: Cte) -> str | None:
    read_point, biz_location = _id(document.get("readPoint")), _id(document.get("bizLocation"))
    if cte == "harvesting":
        return read_point or biz_location  # GS1: the farm is the readPoint, a field its bizLocation
    if cte == "shipping":
        return _party(document.get("sourceList"), "source", only="location") or read_point
    return biz_location or read_point


def _field_of(document: Mapping[str, Any]) -> str | None:
    """A harvest's field: its bizLocation when that is not the farm (its readPoint)."""
    field, farm = _id(document.get("bizLocation")), _id(document.get("readPoint"))
    return field if farm is not None and field != farm else None


def _id(value: Any) -> str | None:
    found = value.get("id") if isinstance(value, Mapping) else None
    return found if isinstance(found, str) and found else None


def _party(entries: Any, field: str, only: str | None = None) -> str | None:
    """The most specific place of a source or destination list (``_PARTY_ORDER``)."""
    found: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping):
            continue
        kind, value = _short(entry.get("type"), _SDT_PREFIXES), entry.get(field)
        if kind and isinstance(value, str) and value:
            found.setdefault(kind, value)
    for kind in (only,) if only else _PARTY_ORDER:
        if kind in found:
            return found[kind]
    return None


def _documents(entries: Any) -> tuple[str | None, str | None]:
    """Reference document types and numbers, each joined by "; " in the same order."""
    types: list[str] = []
    numbers: list[str] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("bizTransaction"), str):
            continue
        kind = _short(entry.get("type"), _BTT_PREFIXES)
        types.append(DOCUMENT_TYPES.get(kind, kind) if kind else "")
        numbers.append(entry["bizTransaction"])
    if not numbers:
        return None, None
    # a document without a type keeps its place in the list, named as lacking one
    doc_type = "; ".join(t or "(no type)" for t in types) if any(types) else None
    return doc_type, "; ".join(numbers)


def _short(value: Any, prefixes: tuple[str, ...]) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _column_order(name: str) -> tuple[int, str]:
    """Missing KDEs in column order (a part or qualifier after the name), the KDEs that
    are no column last."""
    for index, column in enumerate(kde.COLUMNS):
        if name == column or name.startswith((column + ":", column + " (")):
            return index, name
    return len(kde.COLUMNS), name
