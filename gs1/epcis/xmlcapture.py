"""EPCIS XML capture documents → the JSON-LD ``EPCISDocument`` that capture takes.

``gs1.epcis.xml.xml_document`` reads XML into the form the event hash needs (``{ns}name``
keys); capture needs what a JSON-LD partner would have sent, so that one set of rules
(schema, namespaced extensions, CBV values) decides both. ``xml_capture_document(text)``
gives that document:

* ``@context``: the EPCIS 2.0 context plus one ``{prefix: namespace}`` per XML namespace
  the events' extensions use, under the prefix the XML declared (``ns1``… for a default
  namespace), so ``<example:userElement>`` becomes ``"example:userElement"``;
* the header's ``schemaVersion`` and ``creationDate``;
* each event as the JSON binding writes it: EPC lists as lists, quantities and sensor
  numbers as numbers, ``readPoint`` as ``{"id": …}``, CBV URNs (bizStep, disposition,
  bizTransaction / source / destination types, error reasons, persistentDisposition) as
  their bare CBV names, measurement types ``gs1:Temperature`` as ``Temperature``;
  EPCIS 1.x ``<extension>`` wrappers dissolved;
* extension values as JSON-LD nests them: an element's text, or an object of its
  attributes and children. An un-namespaced element or attribute nested in an extension
  takes its parent's namespace (JSON-LD has no "no namespace"), and ``xsi:type`` is
  dropped, as the JSON examples write extension values as strings.

The event hash id is computed by capture from this form; it equals the XML form's for
every event without un-namespaced nested extension elements. Parsed with ``defusedxml``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree  # type: ignore[import-untyped]

from gs1.cbv import short_name
from gs1.epcis.event import EPCIS_CONTEXT
from gs1.epcis.xml import (
    EPC_LISTS,
    EVENT_TAGS,
    QUANTITY_LISTS,
    TYPED_LISTS,
    element_text,
    local_name,
    namespace_of,
    read_root,
    unwrapped,
    xml_number,
)
from gs1.errors import EventRejected

_SENSOR_NUMBERS = frozenset(
    {"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
# CBV URN / Web URI prefixes whose bare term the JSON binding writes instead.
_CBV_PREFIXES = {
    "type": (
        "urn:epcglobal:cbv:btt:",
        "https://ref.gs1.org/cbv/BTT-",
        "urn:epcglobal:cbv:sdt:",
        "https://ref.gs1.org/cbv/SDT-",
    ),
    "reason": ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
}
_GS1_VOC = ("gs1:", "https://gs1.org/voc/", "http://gs1.org/voc/")


def xml_capture_document(text: str | bytes) -> dict[str, Any]:
    """The JSON-LD EPCISDocument of an EPCIS XML capture document (module docstring).

    Raises ``EventRejected`` naming what is wrong: not well-formed, entities, a root
    that is not an ``EPCISDocument``, no ``EventList``.
    """
    root = read_root(text)
    if local_name(root.tag) != "EPCISDocument":
        raise EventRejected(
            "document",
            f"is an XML {local_name(root.tag)}; capture takes an EPCISDocument",
        )
    event_list = next((e for e in root.iter() if local_name(e.tag) == "EventList"), None)
    if event_list is None:
        raise EventRejected(
            "EPCISBody.EventList", "is missing; an EPCIS XML document carries its events there"
        )
    reader = _Reader(_declared_prefixes(text))
    events = [reader.event(e) for e in unwrapped(event_list) if local_name(e.tag) in EVENT_TAGS]
    context: list[Any] = [EPCIS_CONTEXT]
    if reader.used:
        context.append(dict(sorted(reader.used.items())))
    document: dict[str, Any] = {"@context": context, "type": "EPCISDocument"}
    for name in ("schemaVersion", "creationDate"):
        if root.get(name) is not None:
            document[name] = str(root.get(name)).strip()
    document["epcisBody"] = {"eventList": events}
    return document


def _declared_prefixes(text: str | bytes) -> dict[str, str]:
    """``{namespace: prefix}`` as the XML declares them (ElementTree drops prefixes)."""
    found: dict[str, str] = {}
    data = text.encode("utf-8") if isinstance(text, str) else text
    for _, (prefix, uri) in SafeTree.iterparse(io.BytesIO(data), events=("start-ns",)):
        if prefix and uri not in found:
            found[uri] = prefix
    return found


class _Reader:
    """Reads events, noting the ``{prefix: namespace}`` their extensions use."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self._prefixes = dict(prefixes)
        self.used: dict[str, str] = {}

    def event(self, element: Element) -> dict[str, Any]:
        event: dict[str, Any] = {"type": local_name(element.tag)}
        for child in unwrapped(element):
            tag = child.tag
            if namespace_of(tag):
                self._add(event, self._name(tag, ""), self._extension(child))
            elif tag in EPC_LISTS:
                event[tag] = [element_text(e) for e in child if element_text(e)]
            elif tag in QUANTITY_LISTS:
                event[tag] = [self._quantity(q) for q in unwrapped(child)]
            elif tag in TYPED_LISTS:
                event[tag] = [self._typed(tag, item) for item in child]
            elif tag in ("readPoint", "bizLocation", "errorDeclaration", "ilmd"):
                event[tag] = self._place(child)
            elif tag == "sensorElementList":
                event[tag] = [self._sensor_element(s) for s in unwrapped(child)]
            elif tag == "persistentDisposition":
                event[tag] = {
                    kind: [_cbv("disposition", element_text(i)) for i in child if i.tag == kind]
                    for kind in ("set", "unset")
                    if any(i.tag == kind for i in child)
                }
            elif tag in ("bizStep", "disposition"):
                event[tag] = _cbv(tag, element_text(child))
            elif tag == "certificationInfo":
                self._add(event, tag, element_text(child))
            else:
                event[tag] = element_text(child)
        return event

    def _name(self, tag: str, parent_prefix: str) -> str:
        """``prefix:local`` of a tag or attribute; un-namespaced takes the parent's."""
        namespace = namespace_of(tag)
        local = local_name(tag)
        if not namespace:
            return f"{parent_prefix}:{local}" if parent_prefix else local
        prefix = self._prefixes.get(namespace)
        if prefix is None:
            prefix = f"ns{len(self._prefixes) + 1}"
            self._prefixes[namespace] = prefix
        self.used[prefix] = namespace
        return f"{prefix}:{local}"

    def _extension(self, element: Element, inherited: str = "") -> Any:
        prefix = self._name(element.tag, inherited).partition(":")[0]
        attributes = {k: v for k, v in element.attrib.items() if namespace_of(k) != _XSI}
        if len(element) == 0 and not attributes:
            return element_text(element)
        found: dict[str, Any] = {}
        for key, value in attributes.items():
            self._add(found, self._name(key, prefix), value.strip())
        for child in unwrapped(element):
            self._add(found, self._name(child.tag, prefix), self._extension(child, prefix))
        return found

    def _place(self, element: Element) -> dict[str, Any]:
        """readPoint, bizLocation, ilmd, errorDeclaration: standard children and extensions."""
        found: dict[str, Any] = {}
        for child in unwrapped(element):
            if namespace_of(child.tag):
                self._add(found, self._name(child.tag, ""), self._extension(child))
            elif child.tag == "correctiveEventIDs":
                found[child.tag] = [element_text(e) for e in child if element_text(e)]
            elif child.tag == "reason":
                found[child.tag] = _bare(element_text(child), _CBV_PREFIXES["reason"])
            else:
                found[child.tag] = element_text(child)
        return found

    def _quantity(self, element: Element) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for child in element:
            if child.get(f"{{{_XSI}}}nil") == "true":
                continue  # xsi:nil: the JSON binding leaves the field out
            value = element_text(child)
            found[child.tag] = xml_number(value) if child.tag == "quantity" else value
        return found

    def _typed(self, list_name: str, element: Element) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        kind = element.get("type")
        if kind is not None:
            entry["type"] = _bare(kind.strip(), _CBV_PREFIXES["type"])
        entry[TYPED_LISTS[list_name]] = element_text(element)
        return entry

    def _sensor_element(self, element: Element) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for child in unwrapped(element):
            if child.tag == "sensorMetadata":
                found["sensorMetadata"] = self._attributes(child)
            elif child.tag == "sensorReport":
                found.setdefault("sensorReport", []).append(self._attributes(child))
            else:
                self._add(found, self._name(child.tag, ""), self._extension(child))
        return found

    def _attributes(self, element: Element) -> dict[str, Any]:
        """A sensor metadata/report: its attributes typed as the JSON binding writes them."""
        found: dict[str, Any] = {}
        for key, raw in element.attrib.items():
            value = raw.strip()
            if namespace_of(key):
                found[self._name(key, "")] = value
            elif key in _SENSOR_NUMBERS:
                found[key] = xml_number(value)
            elif key == "booleanValue":
                found[key] = value == "true"
            elif key in ("type", "exception"):
                found[key] = _bare(value, _GS1_VOC)
            else:
                found[key] = value
        for child in element:
            self._add(found, self._name(child.tag, ""), self._extension(child))
        return found

    @staticmethod
    def _add(target: dict[str, Any], key: str, value: Any) -> None:
        """Repeated elements become a list, as JSON-LD writes them."""
        if key not in target:
            target[key] = value
        elif isinstance(target[key], list):
            target[key].append(value)
        else:
            target[key] = [target[key], value]


def _cbv(vocabulary: Any, value: str) -> str:
    """A CBV value in its bare form; anything else (a user URI, a typo) as written, so
    capture names the field when it is wrong."""
    try:
        return short_name(vocabulary, value)
    except ValueError:
        return value


def _bare(value: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if value.startswith(prefix) and len(value) > len(prefix):
            return value[len(prefix) :]
    return value
