"""Extension fields of EPCIS 2.0 JSON-LD events: where they may appear, how they are named.

JSON-LD reads a key as meaning only if the context makes it a term or an IRI; any other
key is silently dropped by a JSON-LD processor, so a partner's data would vanish on the
way. EPCIS 2.0 therefore allows user extensions (section 9.2 of the JSON/JSON-LD
binding; the schema's ``propertyNames: {"format": "uri"}``) only as

* ``prefix:name`` with ``prefix`` declared in the document's (or event's) ``@context``
  (``{"example": "https://ns.example.com/epcis/"}``), or one of the prefixes the EPCIS
  context itself declares (``gs1``, ``cbv``, ``cbvmda``, ``epcis``, ``rdfs``, ``owl``,
  ``xsd``, ``dcterms``: ``hashid.EPCIS_PREFIXES``), or
* an absolute IRI (``https://…``, ``urn:…``), or
* a term the document's own ``@context`` defines.

``extension_problem`` walks the places of an event where the standard allows extensions
(the event itself, ``readPoint``, ``bizLocation``, ``ilmd``, each ``sensorElementList``
entry and its ``sensorMetadata`` / ``sensorReport``, ``errorDeclaration``) and every
object nested in an extension's value, and names the first key that breaks the rule.
Places the schema closes (quantity elements, bizTransaction, source, destination) are
left to the schema. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gs1.epcis.hashid import EPCIS_PREFIXES
from gs1.epcis.prehashorder import SENSOR_METADATA_FIELDS, SENSOR_REPORT_FIELDS

STANDARD_PREFIXES = frozenset(EPCIS_PREFIXES)  # declared by the EPCIS 2.0 context itself
_IRI_SCHEMES = frozenset({"http", "https", "urn"})

# The standard keys of each place that takes extensions (the schema's enums; a test
# checks them against gs1/epcis/standards/epcis-json-schema.json).
# The sensor terms are the event hash's (the order it writes them in); a report may also
# carry bizRules, which the hash orders among the extensions.
SENSOR_METADATA_KEYS = frozenset(SENSOR_METADATA_FIELDS)
SENSOR_REPORT_KEYS = frozenset({*SENSOR_REPORT_FIELDS, "bizRules"})
SENSOR_ELEMENT_KEYS = frozenset({"sensorMetadata", "sensorReport"})
ERROR_DECLARATION_KEYS = frozenset({"declarationTime", "reason", "correctiveEventIDs"})
LOCATION_KEYS = frozenset({"id"})


def key_problem(key: Any, prefixes: Mapping[str, str] | None) -> str | None:
    """Why ``key`` is not a valid extension name, or None when it is one.

    ``prefixes`` are those the document declares (``hashid.context_prefixes``); None
    means no document context is known (a single event from the gateway), so only the
    ``prefix:name`` shape is checked.
    """
    if not isinstance(key, str) or not key:
        return "is not a field name; extension names are strings such as 'example:field'"
    if key.startswith("@"):
        return None  # a JSON-LD keyword (@id, @type, @value ...)
    prefix, colon, rest = key.partition(":")
    if not colon:
        if prefixes is not None and key in prefixes:
            return None  # a term the document's @context defines
        return (
            "is not an EPCIS 2.0 field; check the spelling (EPCIS names are camelCase) "
            "or namespace an extension as 'prefix:name' with the prefix declared in @context"
        )
    if not prefix or not rest:
        return "is not a namespaced name; write an extension as 'prefix:name'"
    if rest.startswith("//") or prefix in _IRI_SCHEMES or prefix in STANDARD_PREFIXES:
        return None
    if prefixes is None or prefix in prefixes:
        return None
    return (
        f"uses the prefix {prefix!r}, which the document's @context does not declare; "
        f'add {{"{prefix}": "https://your.domain/ns/"}} to @context or use a full URI'
    )


def extension_problem(
    event: Mapping[str, Any], prefixes: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """The first ``(json_path, reason)`` of a badly named extension inside ``event``.

    The event's own top-level keys are checked by ``gs1.epcis.event.parse_event`` (it
    knows the modelled fields); this checks the inner places and extension values.
    """
    for key, value in event.items():
        if isinstance(key, str) and ":" in key:
            found = _within(value, key, prefixes)
            if found:
                return found
    for place in ("readPoint", "bizLocation"):
        found = _place(event.get(place), place, LOCATION_KEYS, prefixes)
        if found:
            return found
    found = _place(event.get("ilmd"), "ilmd", frozenset(), prefixes)
    if found:
        return found
    found = _place(
        event.get("errorDeclaration"), "errorDeclaration", ERROR_DECLARATION_KEYS, prefixes
    )
    if found:
        return found
    elements = event.get("sensorElementList")
    if isinstance(elements, list):
        for index, element in enumerate(elements):
            found = _sensor_element(element, f"sensorElementList[{index}]", prefixes)
            if found:
                return found
    return None


def _sensor_element(
    element: Any, path: str, prefixes: Mapping[str, str] | None
) -> tuple[str, str] | None:
    found = _place(element, path, SENSOR_ELEMENT_KEYS, prefixes)
    if found or not isinstance(element, Mapping):
        return found
    found = _place(
        element.get("sensorMetadata"), f"{path}.sensorMetadata", SENSOR_METADATA_KEYS, prefixes
    )
    if found:
        return found
    reports = element.get("sensorReport")
    if isinstance(reports, list):
        for index, report in enumerate(reports):
            where = f"{path}.sensorReport[{index}]"
            found = _place(report, where, SENSOR_REPORT_KEYS, prefixes)
            if found:
                return found
    return None


def _place(
    value: Any, path: str, standard: frozenset[str], prefixes: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """Keys of one place: its standard keys as they are, any other one an extension."""
    if not isinstance(value, Mapping):
        return None  # a wrong type is the schema's to name
    for key, item in value.items():
        if key in standard:
            continue
        problem = key_problem(key, prefixes)
        if problem:
            return f"{path}.{key}", problem
        found = _within(item, f"{path}.{key}", prefixes)
        if found:
            return found
    return None


def _within(value: Any, path: str, prefixes: Mapping[str, str] | None) -> tuple[str, str] | None:
    """Every object nested in an extension's value names its keys the same way."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            for key, item in node.items():
                problem = key_problem(key, prefixes)
                if problem:
                    return f"{where}.{key}", problem
                stack.append((item, f"{where}.{key}"))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
    return None
