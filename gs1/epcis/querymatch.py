"""The pieces the EPCIS query's predicate is built of (pure; no I/O).

``gs1.epcis.query`` parses parameters into conditions; this module says what an event's
body holds for each of them:

* ``epc_matches``: the standard's EPC matching (section 8.2.7.1.1): an EPC URI, an EPC
  pattern (``urn:epc:idpat:sgtin:0614141.*.*``) or a GS1 Digital Link against an EPC
  written either way (both sides compared as constrained canonical Digital Links);
* ``epcs_of`` / ``classes_of`` / ``quantities_of``: the body's EPC lists, EPC classes and
  quantity elements per ``MATCH_`` parameter;
* ``vocabulary_term``: a CBV value in any of its spellings as its bare word (bizStep,
  disposition, error reason, business transaction and source/destination types,
  measurement types), so ``shipping`` finds ``urn:epcglobal:cbv:bizstep:shipping``;
* ``field_values``: the values of an extension field in one scope of the event (top
  level, ``ilmd``, ``errorDeclaration``, sensor elements, readPoint/bizLocation), direct
  or nested (``INNER_``);
* ``value_equals`` / ``compare``: how an extension value compares to a query value
  (as a number, a time or a string).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from gs1.digitallink import canonical_identifier

# MATCH_ parameter → the body fields whose EPCs it looks at.
EPC_FIELDS: dict[str, tuple[str, ...]] = {
    "MATCH_epc": ("epcList", "childEPCs"),
    "MATCH_parentID": ("parentID",),
    "MATCH_inputEPC": ("inputEPCList",),
    "MATCH_outputEPC": ("outputEPCList",),
    "MATCH_anyEPC": ("epcList", "childEPCs", "inputEPCList", "outputEPCList", "parentID"),
}
CLASS_FIELDS: dict[str, tuple[str, ...]] = {
    "MATCH_epcClass": ("quantityList", "childQuantityList"),
    "MATCH_inputEPCClass": ("inputQuantityList",),
    "MATCH_outputEPCClass": ("outputQuantityList",),
    "MATCH_anyEPCClass": (
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ),
}
QUANTITY_FIELDS = CLASS_FIELDS["MATCH_anyEPCClass"]

# Prefixes a CBV (or GS1 Web vocabulary) value may be written with; the bare word is
# what the query compares.
_TERM_PREFIXES = (
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
    "https://ref.gs1.org/cbv/ER-",
    "https://ref.gs1.org/cbv/BTT-",
    "https://ref.gs1.org/cbv/SDT-",
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "urn:epcglobal:cbv:er:",
    "urn:epcglobal:cbv:btt:",
    "urn:epcglobal:cbv:sdt:",
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "gs1:",
    "cbv:",
)
_URN = re.compile(r"urn:epc:(?P<kind>id|class|idpat):(?P<scheme>[a-z0-9]+):(?P<body>.+)")


def vocabulary_term(value: str) -> str:
    """``value`` without a CBV or GS1 vocabulary prefix (a user URI stays as it is)."""
    for prefix in _TERM_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _canonical(value: str) -> str | None:
    try:
        return canonical_identifier(value)
    except ValueError:  # a malformed key inside an otherwise URI-shaped value
        return None


def is_pattern(value: str) -> bool:
    """Whether ``value`` is an EPC pattern URI with a wildcard."""
    return value.startswith("urn:epc:idpat:") and "*" in value


def epc_matches(query_value: str, epc: str) -> bool:
    """Whether ``epc`` (as the body writes it) matches the query's EPC, pattern or link."""
    if query_value == epc:
        return True
    urn = _URN.fullmatch(query_value)
    if urn is not None and urn["kind"] == "idpat" and "*" in urn["body"]:
        return _pattern_matches(urn["scheme"], urn["body"].split("."), epc)
    wanted = _canonical(query_value)
    return wanted is not None and wanted == _canonical(epc)


def _pattern_matches(scheme: str, fields: list[str], epc: str) -> bool:
    # Wildcards are trailing (``parse_query`` checks it): the fixed fields are a prefix.
    fixed = [f for f in fields if f != "*"]
    found = _URN.fullmatch(epc)
    if found is not None:
        parts = found["body"].split(".")
        if found["scheme"] == scheme:
            return len(parts) == len(fields) and parts[: len(fixed)] == fixed
        if (scheme, found["scheme"]) == ("sgtin", "lgtin"):  # a lot of the pattern's item
            return len(parts) == 3 and len(fixed) < 3 and parts[: len(fixed)] == fixed
        return False
    # A Digital Link: the pattern's fixed fields as a canonical path prefix
    # (``urn:epc:idpat:sgtin:0614141.107346.*`` is ``/01/10614141073464``).
    link = _canonical(epc)
    if link is None:
        return False
    if scheme == "sgtin" and len(fixed) == 1:  # a company prefix: GTIN digits 2..
        head = "https://id.gs1.org/01/"
        return link.startswith(head) and link[len(head) + 1 :].startswith(fixed[0])
    stem = _canonical(f"urn:epc:idpat:{scheme}:{'.'.join(fields)}")
    return stem is not None and len(fixed) > 0 and link.startswith(stem + "/")


def epcs_of(event: Mapping[str, Any], fields: tuple[str, ...]) -> Iterator[str]:
    """The EPCs the body names in ``fields`` (lists, or ``parentID``)."""
    for field in fields:
        value = event.get(field)
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


def quantities_of(event: Mapping[str, Any], fields: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    """The quantity elements of ``fields`` (each a mapping with epcClass, quantity, uom)."""
    for field in fields:
        value = event.get(field)
        if isinstance(value, list):
            yield from (v for v in value if isinstance(v, Mapping))


def classes_of(event: Mapping[str, Any], fields: tuple[str, ...]) -> Iterator[str]:
    for element in quantities_of(event, fields):
        epc_class = element.get("epcClass")
        if isinstance(epc_class, str):
            yield epc_class


def sensor_elements(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    elements = event.get("sensorElementList")
    if isinstance(elements, list):
        yield from (e for e in elements if isinstance(e, Mapping))


def sensor_reports(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for element in sensor_elements(event):
        reports = element.get("sensorReport")
        if isinstance(reports, list):
            yield from (r for r in reports if isinstance(r, Mapping))


def sensor_metadata(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for element in sensor_elements(event):
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, Mapping):
            yield metadata


def _scope_roots(event: Mapping[str, Any], scope: str) -> Iterator[Mapping[str, Any]]:
    if scope == "":
        yield event
    elif scope == "ILMD":
        if isinstance(event.get("ilmd"), Mapping):
            yield event["ilmd"]
    elif scope == "ERROR_DECLARATION":
        if isinstance(event.get("errorDeclaration"), Mapping):
            yield event["errorDeclaration"]
    elif scope in ("readPoint", "bizLocation"):
        if isinstance(event.get(scope), Mapping):
            yield event[scope]
    elif scope == "SENSORELEMENT":
        yield from sensor_elements(event)
    elif scope == "SENSORMETADATA":
        yield from sensor_metadata(event)
    elif scope == "SENSORREPORT":
        yield from sensor_reports(event)


def _nested(value: Any, name: str) -> Iterator[Any]:
    """Every value of ``name`` at any depth inside ``value``."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == name:
                yield inner
            yield from _nested(inner, name)
    elif isinstance(value, list):
        for inner in value:
            yield from _nested(inner, name)


def field_values(event: Mapping[str, Any], scope: str, inner: bool, name: str) -> Iterator[Any]:
    """The values of extension field ``name`` in ``scope``: direct children of the scope's
    elements, or (``inner``) nested at any depth inside the scope's extension fields."""
    for root in _scope_roots(event, scope):
        if not inner:
            if name in root:
                yield root[name]
            continue
        for key, value in root.items():
            if ":" in key:  # an extension element: the standard's INNER_ looks inside it
                yield from _nested(value, name)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping) and "@value" in value:  # a JSON-LD value object
        return value["@value"]
    return value


def parse_time(text: str) -> datetime | None:
    """An aware datetime of an ISO 8601 text, else None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def value_equals(value: Any, wanted: str) -> bool:
    """Whether an extension value (a string, number, boolean, time, or a list of them)
    equals the query's value ``wanted``."""
    value = _plain(value)
    if isinstance(value, list):
        return any(value_equals(item, wanted) for item in value)
    if isinstance(value, bool):
        return wanted == ("true" if value else "false")
    if isinstance(value, int | float):
        number = _number(wanted)
        return number is not None and float(value) == number
    if isinstance(value, str):
        if value == wanted:
            return True
        left, right = parse_time(value), parse_time(wanted)
        if left is not None and right is not None:
            return left == right
        number, other = _number(value), _number(wanted)
        return number is not None and other is not None and number == other
    return False


def compare(value: Any, op: str, wanted: float | datetime) -> bool:
    """``value op wanted`` for a number or a time (``op``: GT, GE, LT, LE)."""
    value = _plain(value)
    if isinstance(value, list):
        return any(compare(item, op, wanted) for item in value)
    left: float | datetime | None
    if isinstance(wanted, datetime):
        left = parse_time(value) if isinstance(value, str) else None
    else:
        left = _number(value)
    if left is None:
        return False
    return _ordered(left, op, wanted)


def _ordered(left: Any, op: str, right: Any) -> bool:
    if op == "GT":
        return bool(left > right)
    if op == "GE":
        return bool(left >= right)
    if op == "LT":
        return bool(left < right)
    if op == "LE":
        return bool(left <= right)
    return bool(left == right)  # EQ


def urn_spellings(value: str) -> tuple[str, ...] | None:
    """The EPC URNs a GS1 Digital Link may be written as (one per company prefix length,
    6 to 12 digits: the link does not say it), so a link finds URN-written EPCs; None
    when ``value`` is a link of a key this does not spell as a URN."""
    link = _canonical(value)
    if link is None or not value.lower().startswith(("http://", "https://")):
        return ()  # a URN (or no identifier at all): its own spelling is the one to find
    parts = link.removeprefix("https://id.gs1.org/").split("/")
    key, digits, rest = parts[0], parts[1], parts[2:]
    found: list[str] = []
    for length in range(6, 13):
        if key == "01" and len(digits) == 14:
            cp, item = digits[1 : 1 + length], digits[0] + digits[1 + length : 13]
            if rest[:1] == ["21"]:
                found.append(f"urn:epc:id:sgtin:{cp}.{item}.{rest[1]}")
            elif rest[:1] == ["10"]:
                found.append(f"urn:epc:class:lgtin:{cp}.{item}.{rest[1]}")
            elif not rest:
                found.append(f"urn:epc:idpat:sgtin:{cp}.{item}.*")
            else:
                return None
        elif key == "00" and len(digits) == 18 and not rest:
            found.append(
                f"urn:epc:id:sscc:{digits[1 : 1 + length]}.{digits[0]}{digits[1 + length : 17]}"
            )
        elif key == "414" and len(digits) == 13:
            ext = rest[1] if rest[:1] == ["254"] else "0"
            found.append(f"urn:epc:id:sgln:{digits[:length]}.{digits[length:12]}.{ext}")
        else:
            return None
    return tuple(found)
