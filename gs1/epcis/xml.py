"""EPCIS XML documents (2.0, and 1.x where partners still send it) → the JSON event model.

``xml_document(text)`` reads an EPCISDocument or EPCISQueryDocument and gives its events
as the dicts the rest of tracehub handles (``parse_event``, ``event_hash_id``,
``CaptureService``): ``epcList`` as a list of EPCs, ``readPoint`` as ``{"id": …}``,
``bizTransactionList`` as ``[{"type": …, "bizTransaction": …}]``, sensor reports as dicts
of their attributes, numbers as numbers. EPCIS 1.x wrappers (``<extension>``,
``<baseExtension>``) are dissolved into their parent, so a 1.2 event and its 2.0
spelling are the same event.

User extensions keep their XML namespace as the key ``{namespace}localName`` (the event
hash writes them that way); an element without namespace inside an extension is keyed
``{}localName``. Attributes of extension elements become entries of that element.

Parsed with ``defusedxml`` (no entity expansion, no external DTDs): EPCIS documents come
from trading partners. ``read_root`` also bounds the nesting (``MAX_XML_DEPTH``) before
anything reads the tree recursively.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

# defusedxml ships no type stubs; its ElementTree returns stdlib Elements.
from defusedxml import ElementTree as SafeTree  # type: ignore[import-untyped]
from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]

from gs1.epcis.prehashorder import SENSOR_METADATA_FIELDS, SENSOR_REPORT_FIELDS
from gs1.errors import EventRejected

EVENT_TAGS = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
_WRAPPERS = frozenset({"extension", "baseExtension"})
EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
TYPED_LISTS = {
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
}
_LOCATIONS = frozenset({"readPoint", "bizLocation"})
_SENSOR_NUMBERS = frozenset(
    {"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)
# Namespace prefixes value CURIEs may use in EPCIS XML (gs1:Temperature, cbv:…).
_VALUE_PREFIXES = {"gs1": "https://gs1.org/voc/", "cbv": "https://ref.gs1.org/cbv/"}


class XmlDocument:
    """The events of one EPCIS XML document and the fields it asks hashes to ignore."""

    def __init__(self, events: list[dict[str, Any]], ignore: frozenset[str]) -> None:
        self.events = events
        self.ignore = ignore


def xml_document(text: str | bytes) -> XmlDocument:
    """Read an EPCIS XML document; raises ``EventRejected`` naming what is wrong."""
    root = read_root(text)
    event_list = next((e for e in root.iter() if local_name(e.tag) == "EventList"), None)
    if event_list is None:
        raise EventRejected(
            "EPCISBody.EventList", "is missing; an EPCIS XML document carries its events there"
        )
    events = [_event(e) for e in unwrapped(event_list) if local_name(e.tag) in EVENT_TAGS]
    return XmlDocument(events, _ignore_fields(root))


def read_root(text: str | bytes) -> Element:
    """The root element of ``text``, parsed safely; ``EventRejected`` when it cannot be."""
    try:
        root: Element = SafeTree.fromstring(text)
    except DefusedXmlException as exc:
        raise EventRejected(
            "document", f"XML uses entities or a DTD, which EPCIS capture refuses: {exc}"
        ) from exc
    except SafeTree.ParseError as exc:
        raise EventRejected("document", f"is not well-formed XML: {exc}") from exc
    _bounded_depth(root)
    return root


# Elements nested in an XML document: the root, EPCISBody, EventList, the event, 1.x
# wrappers, and the JSON event's own bound (``gs1.epcis.event.MAX_DEPTH``, 24) with room
# to spare. Checked before the recursive readings of extensions ever start: a 2 MB
# document nests 150,000 levels, beyond any recursion limit (and thread stack).
MAX_XML_DEPTH = 64


def _bounded_depth(root: Element) -> None:
    """Raises ``EventRejected`` when elements nest deeper than ``MAX_XML_DEPTH`` (an
    iterative walk: the check must not recurse itself)."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise EventRejected(
                "document",
                f"nests XML elements deeper than {MAX_XML_DEPTH} levels (at "
                f"<{local_name(element.tag)}>); flatten it",
            )
        stack.extend((child, depth + 1) for child in element)


def _ignore_fields(root: Element) -> frozenset[str]:
    for element in root.iter():
        if local_name(element.tag) == "ignoreFields" and namespace_of(element.tag):
            return frozenset(child.tag for child in element)
    return frozenset()


def _event(element: Element) -> dict[str, Any]:
    event: dict[str, Any] = {"type": local_name(element.tag)}
    for child in unwrapped(element):
        tag = child.tag
        if namespace_of(tag):
            _add(event, tag, _extension(child))
            continue
        if tag in EPC_LISTS:
            event[tag] = [element_text(epc) for epc in child if element_text(epc)]
        elif tag in QUANTITY_LISTS:
            event[tag] = [_quantity(q) for q in unwrapped(child)]
        elif tag in TYPED_LISTS:
            event[tag] = [_typed(tag, item) for item in child]
        elif tag in _LOCATIONS:
            event[tag] = _location(child)
        elif tag == "sensorElementList":
            event[tag] = [_sensor_element(s, event) for s in unwrapped(child)]
        elif tag == "persistentDisposition":
            disposition: dict[str, list[str]] = {}
            for item in child:
                disposition.setdefault(item.tag, []).append(element_text(item))
            event[tag] = disposition
        elif tag == "ilmd":
            event[tag] = _entries(child)
        elif tag == "errorDeclaration":
            continue  # not part of the event's meaning (nor of its hash)
        else:
            event[tag] = element_text(child)
    return event


def _quantity(element: Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for child in element:
        value = element_text(child)
        found[child.tag] = xml_number(value) if child.tag == "quantity" else value
    return found


def _typed(list_name: str, element: Element) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    kind = element.get("type")
    if kind is not None:
        entry["type"] = kind.strip()
    entry[TYPED_LISTS[list_name]] = element_text(element)
    return entry


def _location(element: Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for child in unwrapped(element):
        if namespace_of(child.tag):
            _add(found, child.tag, _extension(child))
        else:
            found[child.tag] = element_text(child)
    return found


def _sensor_element(element: Element, stray: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for child in unwrapped(element):
        if child.tag == "sensorMetadata":
            found["sensorMetadata"] = _attributes(child, SENSOR_METADATA_FIELDS, stray)
        elif child.tag == "sensorReport":
            found.setdefault("sensorReport", []).append(
                _attributes(child, SENSOR_REPORT_FIELDS, stray)
            )
        else:
            _add(found, child.tag, _extension(child))
    return found


def _attributes(element: Element, fields: tuple[str, ...], stray: dict[str, Any]) -> dict[str, Any]:
    """A sensor metadata/report's attributes; a plain attribute the element does not
    define (e.g. ``bizRules`` on a report) goes to ``stray`` under its path, which the
    hash writes after the event's fields as the reference implementation does."""
    found: dict[str, Any] = {}
    for key, raw in element.attrib.items():
        value = raw.strip()
        if not key.startswith("{") and key not in fields:
            path = stray.setdefault("{}sensorElementList", {}).setdefault("{}sensorElement", {})
            _add(path.setdefault("{}" + element.tag, {}), key, value)
        elif key in _SENSOR_NUMBERS:
            found[key] = xml_number(value)
        elif key == "booleanValue":
            found[key] = value == "true"
        elif key in ("type", "exception", "component"):
            found[key] = _expand(value)
        else:
            found[key] = value
    for child in element:
        _add(found, child.tag, _extension(child))
    return found


def _extension(element: Element) -> Any:
    """An extension element's value: its text, or a dict of its attributes and children."""
    if len(element) == 0 and not element.attrib:
        return element_text(element)
    return _entries(element)


def _entries(element: Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in element.attrib.items():
        _add(found, _key(key), value.strip())
    for child in unwrapped(element):
        _add(found, _key(child.tag), _extension(child))
    return found


def _add(target: dict[str, Any], key: str, value: Any) -> None:
    """Repeated elements become a list, as JSON-LD writes them."""
    key = _key(key)
    if key not in target:
        target[key] = value
    elif isinstance(target[key], list):
        target[key].append(value)
    else:
        target[key] = [target[key], value]


def unwrapped(element: Element) -> list[Element]:
    """Children, with EPCIS 1.x ``<extension>``/``<baseExtension>`` wrappers dissolved."""
    found: list[Element] = []
    for child in element:
        if child.tag in _WRAPPERS:
            found.extend(unwrapped(child))
        else:
            found.append(child)
    return found


def _key(tag: str) -> str:
    return tag if tag.startswith("{") else "{}" + tag


def element_text(element: Element) -> str:
    return (element.text or "").strip()


def xml_number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text  # left as written: parse_event / the schema name the field
    return (
        int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    )


def _expand(value: str) -> str:
    prefix, colon, local = value.partition(":")
    if colon and prefix in _VALUE_PREFIXES and not local.startswith("//"):
        return _VALUE_PREFIXES[prefix] + local
    return value


def local_name(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def namespace_of(tag: Any) -> str:
    text = str(tag)
    return text[1:].partition("}")[0] if text.startswith("{") else ""
