"""The EPCIS Event Hash ID (CBV 2.0): ``ni:///sha-256;<hex>?ver=CBV2.0``.

Two spellings of one event (time zones, timestamp precision, EPC URN or Digital Link,
CBV short name or URI, list order, ``26.0`` or ``26``) give one pre-hash string and so one
id; capture is idempotent on it. The pre-hash string is ``eventType=…`` followed by the
event's fields in a fixed order as ``key=value`` with no separators; lists are written
as their name followed by their sorted entries; user extensions are written as
``{namespace}name=value`` and sorted, at the end of their parent. ``eventID``,
``recordTime`` and ``errorDeclaration`` are left out.

Reproduces the expected hashes of the reference implementation (RalphTro/
epcis-event-hash-generator, the vectors in tests/data/gs1/event-hash-id/).
JSON-LD is handled for what EPCIS documents use: namespace prefixes from the document's
(and the event's) ``@context`` plus the EPCIS context's own prefixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Set
from typing import Any

from gs1.digitallink import canonical_identifier
from gs1.epcis.prehashorder import (
    EPC_LISTS,
    EVENT_ORDER,
    LIST_ITEM,
    QUANTITY_LISTS,
    SENSOR_METADATA,
    SENSOR_REPORT,
    TAIL_LISTS,
    Order,
)
from gs1.epcis.prehashvalue import (
    MAX_EXPONENT,
    MAX_NUMBER_DIGITS,
    canonical_number,
    format_timestamp,
    parse_number,
)

# The time and number writers live in ``prehashvalue``; callers know them from here.
__all__ = [
    "EPCIS_PREFIXES",
    "HASH_VERSION",
    "MAX_EXPONENT",
    "MAX_NUMBER_DIGITS",
    "canonical_number",
    "context_prefixes",
    "document_events",
    "event_hash_id",
    "format_timestamp",
    "ignore_fields",
    "parse_number",
    "prehash",
]

HASH_VERSION = "CBV2.0"

# Prefixes the EPCIS 2.0 context itself defines (epcis-context.jsonld).
EPCIS_PREFIXES: Mapping[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

_IGNORED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "@context", "@type"})

# Vocabulary fields: CBV short names and legacy URNs become Web URIs.
_CBV_URI = "https://ref.gs1.org/cbv/"
_VOCAB: dict[str, tuple[str, str]] = {
    # field → (Web URI prefix for a bare term, legacy URN prefix)
    "bizStep": (_CBV_URI + "BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": (_CBV_URI + "Disp-", "urn:epcglobal:cbv:disp:"),
    "set": (_CBV_URI + "Disp-", "urn:epcglobal:cbv:disp:"),
    "unset": (_CBV_URI + "Disp-", "urn:epcglobal:cbv:disp:"),
    "bizTransactionType": (_CBV_URI + "BTT-", "urn:epcglobal:cbv:btt:"),
    "sourceDestType": (_CBV_URI + "SDT-", "urn:epcglobal:cbv:sdt:"),
    "component": (_CBV_URI + "Comp-", "urn:epcglobal:cbv:comp:"),
    "sensorType": ("https://gs1.org/voc/", "urn:epcglobal:cbv:sdt:"),
    "exception": ("https://gs1.org/voc/", "urn:epcglobal:cbv:exc:"),
}

_COMMENT = "{http://www.w3.org/2000/01/rdf-schema#}comment"
_TIME_KEYS = frozenset({"eventTime", "time", "startTime", "endTime"})


def event_hash_id(
    event: Mapping[str, Any],
    context: Mapping[str, str] | None = None,
    ignore: frozenset[str] = frozenset(),
) -> str:
    """The event's hash id.

    ``context`` maps extra namespace prefixes (the document's ``@context``); ``ignore``
    names extension fields the document declares as not part of the event's meaning
    (its ``…:ignoreFields`` list), written as in the document (``example:captureID``).
    """
    digest = hashlib.sha256(prehash(event, context, ignore).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def prehash(
    event: Mapping[str, Any],
    context: Mapping[str, str] | None = None,
    ignore: frozenset[str] = frozenset(),
) -> str:
    """The canonical pre-hash string of one event."""
    prefixes = dict(EPCIS_PREFIXES)
    prefixes.update(context or {})
    prefixes.update(context_prefixes(event.get("@context")))
    return _Writer(prefixes, ignore).event(event)


def ignore_fields(document: Mapping[str, Any]) -> frozenset[str]:
    """The fields a document's ``<prefix>:ignoreFields`` list excludes from the hash.

    The list may sit on the document, its body or (query documents) its query results.
    """
    body = document.get("epcisBody") or {}
    for node in (document, body, body.get("queryResults") or {}):
        for key, value in node.items():
            if key.partition(":")[2] == "ignoreFields" and isinstance(value, list):
                return frozenset(str(v) for v in value)
    return frozenset()


def context_prefixes(context: Any) -> dict[str, str]:
    """Namespace prefixes declared inline in a JSON-LD ``@context`` (URLs are skipped)."""
    found: dict[str, str] = {}
    entries = context if isinstance(context, list) else [context]
    for entry in entries:
        if isinstance(entry, Mapping):
            for key, value in entry.items():
                if isinstance(value, str) and not key.startswith("@"):
                    found[key] = value
    return found


def document_events(document: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
    """The events and inline prefixes of an EPCISDocument or EPCISQueryDocument.

    Hash each with ``event_hash_id(event, prefixes, ignore_fields(document))``.
    """
    body = document.get("epcisBody") or {}
    events: Any = body.get("eventList")
    if events is None:
        results = body.get("queryResults") or {}
        events = (results.get("resultsBody") or {}).get("eventList")
    return list(events or []), context_prefixes(document.get("@context"))


class _Writer:
    def __init__(self, prefixes: Mapping[str, str], ignore: frozenset[str]) -> None:
        self._prefixes = prefixes
        self._ignore = ignore

    def event(self, event: Mapping[str, Any]) -> str:
        kind = str(event.get("type", "")).strip()
        return "eventType=" + kind + self._ordered(event, EVENT_ORDER, top=True)

    # structure -----------------------------------------------------------------

    def _ordered(self, node: Mapping[str, Any], order: Order, *, top: bool = False) -> str:
        out: list[str] = []
        tail: list[str] = []
        for name, sub in order:
            if name in node:
                text = self._field(name, node[name], sub)
                if text:
                    (tail if top and name in TAIL_LISTS else out).append(text)
        if top and "ilmd" in node and isinstance(node["ilmd"], Mapping):
            ilmd = self._extensions(node["ilmd"], _NOTHING)
            if ilmd:
                tail.append("ilmd" + ilmd)
        # The reference implementation writes the typed lists (business transactions,
        # sources, destinations) and the ILMD with the fields outside its order: after
        # the sensor elements, sorted as whole strings, before the user extensions.
        if tail:
            out.extend(sorted(tail))
        out.append(self._extensions(node, _TOP_SKIP if top else _names(order)))
        return "".join(out)

    def _field(self, name: str, value: Any, sub: Order | None) -> str:
        if name not in _SHAPED:
            if sub is not None and isinstance(value, Mapping):
                inner = self._ordered(value, sub)
                return name + inner if inner else ""
            if type(value) is str:  # one plain value: most fields of most events
                text = self._value(name, value)
                return f"{name}={text}" if text else ""
            values = sorted([self._value(name, v) for v in _as_list(value)])
            return "".join([f"{name}={v}" for v in values if v])
        if name in EPC_LISTS:
            items = sorted([self._value(name, v) for v in _as_list(value)])
            items = [f"epc={v}" for v in items if v]
            return name + "".join(items) if items else ""
        if name in QUANTITY_LISTS:
            assert sub is not None
            items = sorted(
                "quantityElement" + s
                for e in _as_list(value)
                if isinstance(e, Mapping) and (s := self._ordered(e, sub))
            )
            return name + "".join(items) if items else ""
        if name in LIST_ITEM:
            assert sub is not None
            entries = []
            for entry in _as_list(value):
                if not isinstance(entry, Mapping):
                    continue
                text = (
                    self._sensor_element(entry)
                    if name == "sensorElementList"
                    else self._typed(name, entry, sub)
                )
                if text:
                    entries.append(LIST_ITEM[name] + text)
            entries.sort()
            return name + "".join(entries) if entries else ""
        # persistentDisposition
        if isinstance(value, Mapping):
            parts: list[str] = []
            for key in ("set", "unset"):
                values = sorted(self._value(key, v) for v in _as_list(value.get(key)))
                parts.extend(f"{key}={v}" for v in values if v)
            return name + "".join(parts) if parts else ""
        values = sorted(self._value(name, v) for v in _as_list(value))
        return "".join(f"{name}={v}" for v in values if v)

    def _typed(self, list_name: str, entry: Mapping[str, Any], order: Order) -> str:
        vocab = "bizTransactionType" if list_name == "bizTransactionList" else "sourceDestType"
        out = []
        for name, _ in order:
            if name in entry:
                value = self._value(vocab if name == "type" else name, entry[name])
                if value:
                    out.append(f"{name}={value}")
        out.append(self._extensions(entry, {name for name, _ in order}))
        return "".join(out)

    def _sensor_element(self, element: Mapping[str, Any]) -> str:
        out = []
        meta = element.get("sensorMetadata")
        if isinstance(meta, Mapping):
            text = self._flat(meta, SENSOR_METADATA)
            if text:
                out.append("sensorMetadata" + text)
        reports = sorted(
            "sensorReport" + text
            for report in _as_list(element.get("sensorReport"))
            if isinstance(report, Mapping) and (text := self._flat(report, SENSOR_REPORT))
        )
        out.extend(reports)
        out.append(self._extensions(element, {"sensorMetadata", "sensorReport"}))
        return "".join(out)

    def _flat(self, node: Mapping[str, Any], order: Order) -> str:
        out = []
        for name, _ in order:
            if name in node:
                vocab = "sensorType" if name == "type" else name
                for value in sorted(self._value(vocab, v) for v in _as_list(node[name])):
                    if value:
                        out.append(f"{name}={value}")
        out.append(self._extensions(node, {name for name, _ in order}))
        return "".join(out)

    def _extensions(self, node: Mapping[str, Any], skip: Set[str]) -> str:
        entries: list[str] = []
        for key, value in node.items():
            if key in skip or key in _IGNORED or key in self._ignore:
                continue
            name = self._expand_key(key)
            if name is None or name == _COMMENT:
                # Not a term JSON-LD could expand, or a human comment: no event meaning.
                continue
            for item in _as_list(value):
                if isinstance(item, Mapping):
                    entries.append(name + self._extensions(item, set()))
                else:
                    text = self._value(key, item)
                    entries.append(f"{name}={text}" if text else name)
        entries.sort()
        return "".join(entries)

    def _expand_key(self, key: str) -> str | None:
        if key.startswith("{"):
            # Already expanded by the XML reader; "{}name" is an element without namespace
            # inside an extension, written by its bare name.
            return key[2:] if key.startswith("{}") else key
        prefix, colon, local = key.partition(":")
        if not colon or local.startswith("//"):
            return None
        namespace = self._prefixes.get(prefix)
        return None if namespace is None else "{" + namespace + "}" + local

    # values --------------------------------------------------------------------

    def _value(self, field: str, value: Any) -> str:
        if type(value) is str:  # the common case first; the same steps as below
            text = value.strip()
            if not text:
                return ""
            if field in _TIME_KEYS:
                return format_timestamp(text)
            if field in _VOCAB:
                return self._vocabulary(field, text)
            return _plain_text(text)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return canonical_number(value)
        if value is None or isinstance(value, Mapping | list):
            return ""
        text = str(value).strip()
        if not text:
            return ""
        if field in _TIME_KEYS:
            return format_timestamp(text)
        if field in _VOCAB:
            return self._vocabulary(field, text)
        return _plain_text(text)

    def _vocabulary(self, field: str, text: str) -> str:
        uri_prefix, urn_prefix = _VOCAB[field]
        if text.startswith(urn_prefix):
            return uri_prefix + text[len(urn_prefix) :]
        expanded = self._curie(text)
        if expanded != text or ":" in text:
            return canonical_identifier(expanded) or expanded
        return uri_prefix + text

    def _curie(self, text: str) -> str:
        prefix, colon, local = text.partition(":")
        if colon and not local.startswith("//") and prefix in self._prefixes:
            return self._prefixes[prefix] + local
        return text


def _plain_text(text: str) -> str:
    """A value that is no time and no vocabulary term: a number, an identifier, text."""
    # Only a sign, a point or a digit can start what ``_NUMBER`` matches.
    if text[0] in "+-." or text[0].isdigit():
        number = parse_number(text)
        if number is not None:
            return canonical_number(number)
    return canonical_identifier(text) or text


def _names(order: Order) -> frozenset[str]:
    """The field names of ``order``, kept per order (the orders are constants; the order
    is kept with its names so that its id cannot be reused by another)."""
    kept = _ORDER_NAMES.get(id(order))
    if kept is None or kept[0] is not order:
        kept = _ORDER_NAMES[id(order)] = (order, frozenset(name for name, _ in order))
    return kept[1]


_ORDER_NAMES: dict[int, tuple[Order, frozenset[str]]] = {}
_NOTHING: frozenset[str] = frozenset()
_TOP_SKIP = _names(EVENT_ORDER) | {"ilmd"}
# Fields written other than as ``name=value`` (or a nested ordered object).
_SHAPED = EPC_LISTS | QUANTITY_LISTS | LIST_ITEM.keys() | {"persistentDisposition"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
