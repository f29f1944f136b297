"""Validate EPCIS 2.0 events and documents against GS1's official JSON Schema (draft-07).

The schema ships with the package (gs1/epcis/standards/); nothing is fetched. Errors
come back as ``(json_path, message)`` pairs, the path relative to the event.

Two validators, one verdict: each event type's schema is compiled once to Python by
``fastjsonschema`` (~0.2 ms per event where ``jsonschema`` takes ~4 ms), and only an
event it rejects goes through ``jsonschema``, which lists every violation with its path.
``jsonschema`` has the last word on structure. The schema's two formats:

* ``uri`` is checked by both validators with one regex (``uri_problem``: an absolute
  URI, a scheme then no blank): it is what makes a bare word invalid outside the CBV
  enums (a bizTransaction type, a source type, a persistentDisposition, a sensor
  type), and what keeps ``"my id"`` out of ``eventID``;
* ``date-time`` (RFC 3339: ``2026-11-22T10:00:00.000Z``) is checked here, after the
  schema, at every place the schema uses it in an event (``time_problem``): a lax
  parser would otherwise read ``"1700000000"`` as a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker

_SCHEMA = Path(__file__).parent / "standards" / "epcis-json-schema.json"
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)


@cache
def _schema() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_SCHEMA.read_text(encoding="utf-8"))
    # ``vocab-uri`` is the schema's type of member NAMES (extensions, under every
    # ``propertyNames``; besides only an extended event's type, which capture never
    # takes): an extension's name is judged by the JSON-LD rules
    # (``gs1.epcis.extensions``: namespaced by a known prefix), and the XSD's members
    # the JSON Schema forgot (an AggregationEvent's ``persistentDisposition``, read from
    # XML) must pass as names, as they did before formats were checked.
    value["definitions"]["vocab-uri"] = {"type": "string"}
    unformatted: dict[str, Any] = _names_unformatted(value)
    return unformatted


def _names_unformatted(node: Any, in_names: bool = False) -> Any:
    """``node`` with no ``format`` under ``propertyNames`` (``ilmd``'s names: above)."""
    if isinstance(node, list):
        return [_names_unformatted(item, in_names) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _names_unformatted(item, in_names or key == "propertyNames")
        for key, item in node.items()
        if not (in_names and key == "format")
    }


# RFC 3986 ``scheme ":" rest`` with no blank, control, quote or angle bracket anywhere
# (a JSON-LD compact IRI such as ``gs1:Temperature`` or ``example:myField`` is one too).
# Cheap on purpose: it runs on every URI of every captured event.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]*\Z")


def is_uri(value: Any) -> bool:
    """Whether ``value`` is what the schema's ``format: uri`` means (non-strings pass:
    ``type`` judges those)."""
    return not isinstance(value, str) or _URI.match(value) is not None


def uri_problem(value: Any) -> str | None:
    """Why ``value`` is no absolute URI, or None if it is one."""
    if is_uri(value):
        return None
    return (
        f"{str(value)[:80]!r} is not a URI; write an absolute URI with a scheme, e.g. "
        "'urn:epc:id:sgtin:4012345.011111.1' or 'https://example.com/id/1' (or, where "
        "the schema allows it, a CBV term such as 'po')"
    )


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())  # date-time: _time_errors, with its own message
    checker.checks("uri")(is_uri)
    return checker


@cache
def _validator(ref: str) -> Draft7Validator:
    schema = _schema()
    return Draft7Validator(
        {"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": ref},
        format_checker=_format_checker(),
    )


@cache
def _fast_schema() -> dict[str, Any]:
    """``_schema()`` for the fast validator, the same verdict for less work per event:

    * a ``propertyNames`` that takes every string (an enum of names, or any
      ``vocab-uri``, which is a string here) is ``{"type": "string"}``: the generated
      code would otherwise try the enum and raise, per key of every event;
    * ``epcList`` without ``uniqueItems`` (the generated check hashes a copy of each
      item): ``event_is_valid`` checks the fields it is used for itself
      (``_unique_lists``).
    """
    schema: dict[str, Any] = json.loads(json.dumps(_schema()))
    definitions = schema["definitions"]
    definitions["epcList"].pop("uniqueItems")
    for definition in definitions.values():
        names = definition.get("propertyNames") if isinstance(definition, dict) else None
        if names is not None and _every_string(names, definitions):
            definition["propertyNames"] = {"type": "string"}
        for part in definition.get("allOf", []) if isinstance(definition, dict) else []:
            names = part.get("propertyNames") if isinstance(part, dict) else None
            if names is not None and _every_string(names, definitions):
                part["propertyNames"] = {"type": "string"}
    return schema


@cache
def _unique_lists(kind: str) -> tuple[str, ...]:
    """The fields of ``kind`` whose schema is ``#/definitions/epcList`` (unique items)."""
    found: list[str] = []
    stack: list[Any] = [_schema()["definitions"][kind]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if sub == {"$ref": "#/definitions/epcList"}:
                    found.append(name)
            stack.extend(v for k, v in node.items() if k != "properties")
    return tuple(sorted(found))


def _every_string(node: Any, definitions: Mapping[str, Any]) -> bool:
    """Whether ``node`` accepts every string and nothing else (so: ``type: string``)."""
    if not isinstance(node, dict):
        return False
    if set(node) == {"$ref"} and node["$ref"].startswith("#/definitions/"):
        return _every_string(definitions[node["$ref"].removeprefix("#/definitions/")], definitions)
    if node == {"type": "string"}:
        return True
    if set(node) == {"anyOf"}:
        return any(_every_string(n, definitions) for n in node["anyOf"]) and all(
            _only_strings(n, definitions) for n in node["anyOf"]
        )
    return False


def _only_strings(node: Any, definitions: Mapping[str, Any]) -> bool:
    if not isinstance(node, dict):
        return False
    if set(node) == {"$ref"} and node["$ref"].startswith("#/definitions/"):
        return _only_strings(definitions[node["$ref"].removeprefix("#/definitions/")], definitions)
    if set(node) == {"anyOf"}:
        return all(_only_strings(n, definitions) for n in node["anyOf"])
    return node.get("type") == "string"


@cache
def _compiled(kind: str) -> Callable[[Any], Any]:
    schema = _fast_schema()
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        {
            "$schema": schema["$schema"],
            "definitions": schema["definitions"],
            "$ref": f"#/definitions/{kind}",
        },
        # uri by the regex above (as a pattern: inlined, half the cost of a callable);
        # date-time passes here (the empty pattern), _time_errors judges it.
        formats={"uri": _URI.pattern, "date-time": ""},
        use_default=False,  # never write into the caller's event
        detailed_exceptions=False,
    )
    return validate


def event_is_valid(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes its type's schema: the fast path of ``event_errors``."""
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return False
    try:
        _compiled(kind)(event if isinstance(event, dict) else dict(event))
    except fastjsonschema.JsonSchemaException:
        return False
    for name in _unique_lists(kind):  # passed the schema: lists of strings when present
        items = event.get(name)
        if isinstance(items, list | tuple) and len(set(items)) != len(items):
            return False
    return True


@cache
def document_validator() -> Draft7Validator:
    return Draft7Validator(_schema(), format_checker=_format_checker())


def event_errors(event: Mapping[str, Any], *, syntax: Syntax = "json") -> list[tuple[str, str]]:
    """Schema violations of one event (its ``type`` picks the event schema).

    ``syntax="xml"``: the event was read from an XML document (``gs1.epcis.xmlcapture``),
    which is valid by the EPCIS XSD; what the XSD allows and the JSON Schema does not
    (``_XSD_ALLOWS``) is then no violation.
    """
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return [("type", f"{kind!r} is not an EPCIS 2.0 event type; use one of {EVENT_TYPES}")]
    if event_is_valid(event):
        return _time_errors(event)
    if syntax == "xml":
        return [p for p in _violations(kind, event) if not _xsd_allows(*p)]
    return _violations(kind, event)


def _violations(kind: str, event: Mapping[str, Any]) -> list[tuple[str, str]]:
    errors = sorted(
        _validator(f"#/definitions/{kind}").iter_errors(dict(event)),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    found = [_named(e) for e in errors]
    # A violation deep in the event first: it names the field to fix.
    found.sort(key=lambda item: item[0] == "event")
    return found + _time_errors(event)


def _named(error: Any) -> tuple[str, str]:
    """``(path, message)`` of one violation; an ``anyOf``/``oneOf`` that no alternative
    fits names the fields its alternatives tripped on, not the whole event."""
    path = _path(error.absolute_path) or "event"
    if not error.context:
        return path, _why(error)
    parts: dict[tuple[str, str], None] = {}
    for sub in error.context:
        where = _path(sub.absolute_path) or path
        why = "is not allowed here" if sub.validator == "not" else _why(sub)
        parts[(where, why)] = None
    fields = [where for where, _ in parts if where != "event"] or [path]
    alternatives = "; or ".join(f"{where} {why}" for where, why in parts)
    return fields[0], _message(f"fits none of the schema's alternatives: {alternatives}")


Syntax = Literal["json", "xml"]
_SENSOR_REPORT = r"^sensorElementList\[\d+\]\.sensorReport\[\d+\]"
# What the EPCIS 2.0 XSD allows and the JSON Schema does not (an XML document is valid
# by its XSD, and its JSON-LD reading cannot invent what the XML lacks):
# * a sensorReport without a type (XSD ``type use="optional"``; the JSON Schema
#   requires it);
# * any sensorReport type: the XSD types it ``anyURI``, and the reading gives a
#   ``gs1:`` term as its bare word, which the JSON Schema's enum may not list (the GS1
#   examples use ``gs1:EffectiveDoseRate`` and ``gs1:Molar_concentration``).
_XSD_ALLOWS = (
    (re.compile(_SENSOR_REPORT + "$"), "'type' is a required property"),
    (re.compile(_SENSOR_REPORT + r"\.type$"), None),
)


def _xsd_allows(path: str, message: str) -> bool:
    return any(
        (allowed is None or message == allowed) and where.match(path) is not None
        for where, allowed in _XSD_ALLOWS
    )


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def time_problem(value: Any) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time with an offset, or None if it is one."""
    if isinstance(value, str) and _RFC3339.match(value):
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return None
    return (
        f"{value!r} is not a date-time; write RFC 3339 with an offset, "
        "e.g. '2026-11-22T10:00:00.000Z' or '2026-11-22T11:00:00+01:00'"
    )


def _time_errors(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The schema's ``date-time`` places in an event whose value is not one."""
    places: list[tuple[str, Any]] = [
        (key, event[key]) for key in ("eventTime", "recordTime") if key in event
    ]
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, Mapping) and "declarationTime" in declaration:
        places.append(("errorDeclaration.declarationTime", declaration["declarationTime"]))
    elements = event.get("sensorElementList")
    for i, element in enumerate(elements if isinstance(elements, list) else ()):
        if not isinstance(element, Mapping):
            continue
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, Mapping):
            where = f"sensorElementList[{i}].sensorMetadata"
            places += [(f"{where}.{k}", metadata[k]) for k in _METADATA_TIMES if k in metadata]
        reports = element.get("sensorReport")
        for j, report in enumerate(reports if isinstance(reports, list) else ()):
            if isinstance(report, Mapping) and "time" in report:
                places.append((f"sensorElementList[{i}].sensorReport[{j}].time", report["time"]))
    found: list[tuple[str, str]] = []
    for path, value in places:
        problem = time_problem(value)
        if problem:
            found.append((path, problem))
    return found


_METADATA_TIMES = ("time", "startTime", "endTime")


def document_errors(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Schema violations of a whole EPCISDocument (for output checks and tests)."""
    errors = document_validator().iter_errors(dict(document))
    return [(_path(e.absolute_path) or "document", _why(e)) for e in errors]


def _why(error: Any) -> str:
    if error.validator == "format" and error.validator_value == "uri":
        return uri_problem(error.instance) or _message(error.message)
    return _message(error.message)


def _path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(text: str) -> str:
    # jsonschema repeats whole sub-documents in anyOf messages; keep the first line short.
    return text if len(text) <= 300 else text[:297] + "..."
