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
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
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
from gs1.errors import NumberOutOfRange

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

# One way to match a number (``\d+\.?\d*`` had two: 30,000 digits backtracked for 12 s).
_NUMBER = re.compile(r"[+-]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?)(\d+))?")
# What the hash writes out in full: ``int(Decimal("1e1000000"))`` alone took 23 s of
# GIL. Beyond these a value is refused (capture names the field), never approximated.
MAX_NUMBER_DIGITS = 100  # significant digits of the mantissa
MAX_EXPONENT = 400  # a double reaches 1e308; its smallest subnormal is 5e-324
_INT_LIMIT = 10**MAX_NUMBER_DIGITS
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


def format_timestamp(text: str) -> str:
    """UTC with exactly three decimals, the 4th rounded half up, and ``Z``."""
    whole = re.sub(r"(T\d{2}:\d{2}:\d{2})\.\d+", r"\1", text.strip())
    try:
        moment = datetime.fromisoformat(whole)
    except ValueError:
        return text.strip()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fraction = _fraction(text)
    millis = int(fraction.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) * 1000)
    moment = moment.replace(microsecond=0) + timedelta(milliseconds=millis)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def _fraction(text: str) -> Decimal:
    match = re.search(r"T\d{2}:\d{2}:\d{2}(\.\d+)", text)
    return Decimal("0" + match.group(1)) if match else Decimal(0)


def parse_number(text: str) -> Decimal | None:
    """``text`` as a number when it is one (``-0.5``, ``1e3``), else None; linear in ``text``.
    ``NumberOutOfRange`` beyond ``MAX_NUMBER_DIGITS`` digits or ``MAX_EXPONENT``."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    whole, fraction, bare_fraction, _sign, exponent = match.groups()
    digits = ((whole or "") + (fraction or bare_fraction or "")).lstrip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        raise NumberOutOfRange(
            f"{_shown(text)} has {len(digits)} significant digits; the limit is "
            f"{MAX_NUMBER_DIGITS}: send it as a number within range (or as text, not digits)"
        )
    if exponent is not None and len(exponent.lstrip("0")) > len(str(MAX_EXPONENT)) + 1:
        raise NumberOutOfRange(f"{_shown(text)}: the exponent is beyond ±{MAX_EXPONENT}")
    number = Decimal(text)
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise NumberOutOfRange(
            f"{_shown(text)} is of magnitude 1e{number.adjusted()}, beyond ±{MAX_EXPONENT}"
        )
    return number


def canonical_number(value: float | int | Decimal) -> str:
    """``26.0`` → ``26``; ``0.100`` → ``0.1``; no exponent for ordinary magnitudes.

    An integral value is read as a binary double first, as the reference implementation
    does: ``111100001111000011110000`` becomes ``111100001111000003641344`` (its vectors
    have such a digit string in a sensor report's ``stringValue``). ``NumberOutOfRange``
    for infinity, NaN, integers beyond ``MAX_NUMBER_DIGITS``: never written out."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_LIMIT:
        raise NumberOutOfRange(f"an integer of more than {MAX_NUMBER_DIGITS} digits")
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        raise NumberOutOfRange(f"{value} is not a finite number")
    if not isinstance(value, int):
        as_float = float(value)
        if math.isfinite(as_float) and as_float.is_integer():
            return str(int(as_float))
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


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
        known = {name for name, _ in order}
        tail: list[str] = []
        for name, sub in order:
            if name not in node:
                continue
            text = self._field(name, node[name], sub)
            if top and name in TAIL_LISTS:
                tail.append(text)
            else:
                out.append(text)
        if top and "ilmd" in node and isinstance(node["ilmd"], Mapping):
            ilmd = self._extensions(node["ilmd"], set())
            if ilmd:
                tail.append("ilmd" + ilmd)
        skip = known | ({"ilmd"} if top else set())
        # The reference implementation writes the typed lists (business transactions,
        # sources, destinations) and the ILMD with the fields outside its order: after
        # the sensor elements, sorted as whole strings, before the user extensions.
        out.extend(sorted(t for t in tail if t))
        out.append(self._extensions(node, skip))
        return "".join(out)

    def _field(self, name: str, value: Any, sub: Order | None) -> str:
        if name in EPC_LISTS:
            items = sorted(self._value(name, v) for v in _as_list(value))
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
        if name == "persistentDisposition" and isinstance(value, Mapping):
            parts: list[str] = []
            for key in ("set", "unset"):
                values = sorted(self._value(key, v) for v in _as_list(value.get(key)))
                parts.extend(f"{key}={v}" for v in values if v)
            return name + "".join(parts) if parts else ""
        if sub is not None and isinstance(value, Mapping):
            inner = self._ordered(value, sub)
            return name + inner if inner else ""
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

    def _extensions(self, node: Mapping[str, Any], skip: set[str]) -> str:
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
        number = parse_number(text)
        if number is not None:
            return canonical_number(number)
        return canonical_identifier(text) or text

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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
