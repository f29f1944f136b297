"""The master-data version record and the streams it lives in (pure).

A version record (kind ``master-product``, ``master-lot`` or ``master-location``)::

    format      "tracehub-master/1"
    subject     "product" | "lot" | "location"
    key         the GTIN-14, "{gtin14}/{lot}" or the location URN
    version     1, 2, … (one more than the stream's previous version)
    valid_from  RFC 3339 UTC: when this value took effect (the write's time)
    fields      every field of the kind (``PRODUCT_FIELDS`` …), null when not given

A product's ``stability_budget`` is a list of ``{side, limit_c, minutes}`` (its steps in
canonical order, ``traceability.records.stability``). It was added after the first
records were signed: a version without it (``LATER_FIELDS``) is read as "no steps",
so a product signed before the field existed compares equal while it has none.

A lot's serials are kept as ranges (``1001-1100;A7``), so a million-unit lot stays a
small record and an auditor still reads which units belong to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ledger.digest import sha256
from ledger.signing import format_instant, parse_instant
from traceability.records.catalog import LotMaster
from traceability.records.entities import Product
from traceability.records.locations import Location

FORMAT = "tracehub-master/1"
Subject = Literal["product", "lot", "location"]
KINDS: Mapping[Subject, str] = {
    "product": "master-product",
    "lot": "master-lot",
    "location": "master-location",
}
SUBJECT_OF_KIND = {kind: subject for subject, kind in KINDS.items()}

PRODUCT_FIELDS = (
    "name",
    "temp_min_c",
    "temp_max_c",
    "excursion_budget_min",
    "mkt_limit_c",
    "shelf_life_days",
    "stability_budget",
)
LOT_FIELDS = ("production_date", "expiry", "origin", "quantity", "gross_kg", "serials")
LOCATION_FIELDS = ("name", "kind", "country", "latitude", "longitude", "custodian", "site")
FIELDS: Mapping[Subject, tuple[str, ...]] = {
    "product": PRODUCT_FIELDS,
    "lot": LOT_FIELDS,
    "location": LOCATION_FIELDS,
}
# Fields a version signed before they existed may lack (read as null).
LATER_FIELDS: Mapping[Subject, frozenset[str]] = {
    "product": frozenset({"stability_budget"}),
    "lot": frozenset(),
    "location": frozenset(),
}
_MAX_NAME = 200  # a ledger stream name and record id are at most 200 characters

MasterValue = Product | LotMaster | Location


def product_stream(gtin14: str) -> str:
    return f"product:{gtin14}"


def lot_master_stream(gtin14: str, lot: str) -> str:
    return f"lot-master:{gtin14}/{lot}"


def location_stream(urn: str) -> str:
    # Not "location:{urn}": that is the stream of the location's sealed telemetry windows.
    name = f"location-master:{urn}"
    if len(name) <= _MAX_NAME:
        return name
    return "location-master:sha256:" + sha256(urn.encode()).hex()


def stream_of(subject: Subject, key: str) -> str:
    if subject == "product":
        return product_stream(key)
    if subject == "lot":
        gtin, _, lot = key.partition("/")
        return lot_master_stream(gtin, lot)
    return location_stream(key)


def record_id(stream: str, version: int) -> str:
    return f"{stream}#v{version}"


class MasterFacts(BaseModel):
    """One master-data value as the version record holds it: subject, key, fields."""

    model_config = ConfigDict(frozen=True)

    subject: Subject
    key: str
    fields: dict[str, Any]  # JSON values: dates as ISO text, floats, ints, text, None

    @property
    def stream(self) -> str:
        return stream_of(self.subject, self.key)

    @property
    def label(self) -> str:
        return f"{self.subject} {self.key}"


class MasterVersion(BaseModel):
    """A version record, parsed."""

    model_config = ConfigDict(frozen=True)

    facts: MasterFacts
    version: int
    valid_from: datetime

    def record(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "subject": self.facts.subject,
            "key": self.facts.key,
            "version": self.version,
            "valid_from": format_instant(self.valid_from),
            "fields": dict(self.facts.fields),
        }

    @classmethod
    def from_record(cls, record: Any) -> MasterVersion:
        """Parse a version record; ``ValueError`` naming what is wrong."""
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} record")
        subject: Subject
        found = record.get("subject")
        if found == "product" or found == "lot" or found == "location":
            subject = found
        else:
            raise ValueError(f"subject {found!r} is not product, lot or location")
        fields = record.get("fields")
        expected = set(FIELDS[subject])
        if not isinstance(fields, dict) or not (
            expected - LATER_FIELDS[subject] <= set(fields) <= expected
        ):
            raise ValueError(f"fields must be exactly {', '.join(FIELDS[subject])}")
        version = record.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"version {version!r} is not a positive integer")
        return cls(
            facts=MasterFacts(subject=subject, key=str(record.get("key")), fields=fields),
            version=version,
            valid_from=parse_instant(str(record.get("valid_from"))),
        )


def facts_of(value: MasterValue) -> MasterFacts:
    """The facts of a product, a lot (with its serials) or a location as stored."""
    if isinstance(value, Product):
        data = value.model_dump()
        steps = value.stability_budget
        data["stability_budget"] = None if steps is None else [s.model_dump() for s in steps]
        return MasterFacts(
            subject="product", key=value.gtin, fields={f: data[f] for f in PRODUCT_FIELDS}
        )
    if isinstance(value, LotMaster):
        lot = value.lot.model_dump()
        fields = {f: _json(lot[f]) for f in LOT_FIELDS if f != "serials"}
        fields["serials"] = serial_ranges(value.serials)
        return MasterFacts(subject="lot", key=f"{value.lot.gtin}/{value.lot.lot}", fields=fields)
    data = value.model_dump()
    return MasterFacts(
        subject="location", key=value.urn, fields={f: data[f] for f in LOCATION_FIELDS}
    )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def serial_ranges(serials: Iterable[str]) -> str | None:
    """Serials as ``a-b;c`` text: runs of plain numbers (no leading zero) as ranges, in
    order; other serials one by one. None for no serials."""
    numbers = sorted({int(s) for s in serials if s.isdigit() and (s == "0" or s[0] != "0")})
    others = sorted({s for s in serials if not (s.isdigit() and (s == "0" or s[0] != "0"))})
    parts: list[str] = []
    run: list[int] = []
    for n in numbers:
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(_run(run))
        run = [n]
    if run:
        parts.append(_run(run))
    parts.extend(others)
    return ";".join(parts) or None


def _run(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def changed_fields(now: MasterFacts, signed: MasterFacts) -> list[tuple[str, Any, Any]]:
    """``(field, records value, signed value)`` for each field that differs."""
    return [
        (name, now.fields.get(name), signed.fields.get(name))
        for name in FIELDS[now.subject]
        if not _same(now.fields.get(name), signed.fields.get(name))
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)
