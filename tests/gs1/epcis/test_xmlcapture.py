"""EPCIS XML capture documents read into the JSON-LD EPCISDocument capture takes (the
GS1 examples, tests/data/gs1/epcis-examples/xml/). Pure: no I/O beyond reading them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gs1.epcis.event import EPCIS_CONTEXT
from gs1.epcis.schema import document_errors
from gs1.epcis.xmlcapture import xml_capture_document
from gs1.errors import EventRejected

XML = Path(__file__).parents[2] / "data" / "gs1" / "epcis-examples" / "xml"


def test_extensions_become_prefixed_keys_with_their_namespace_in_the_context() -> None:
    document = xml_capture_document((XML / "WithExtension" / "ObjectEvent.xml").read_bytes())
    assert document["@context"] == [EPCIS_CONTEXT, {"example": "http://ns.example.com/epcis"}]
    assert document["schemaVersion"] == "2.0"
    assert document["creationDate"] == "2005-07-11T11:30:47.0Z"
    first, second = document["epcisBody"]["eventList"]
    assert first["bizStep"] == "shipping"  # CBV URN → the JSON binding's bare word
    assert first["disposition"] == "in_transit"
    assert first["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}
    ]
    # An un-namespaced element inside an extension takes its parent's namespace.
    assert first["example:userElement"] == {"example:anotherElement": "elementData"}
    assert second["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:4023333.002000.2019-10-07", "quantity": 150, "uom": "KGM"}
    ]
    assert second["ilmd"] == {
        "example:userIlmd": {"example:part1": "1", "example:part2": "2", "example:part3": "3"}
    }
    assert second["example:extension"] == {"example:futureExtension": ""}


def test_sensor_reports_are_typed_as_the_json_binding_writes_them() -> None:
    document = xml_capture_document(
        (XML / "WithFullCombinationOfFields" / "object_event_all_possible_fields.xml").read_bytes()
    )
    (event,) = document["epcisBody"]["eventList"]
    (element,) = event["sensorElementList"]
    report = element["sensorReport"][0]
    assert report["type"] == "Temperature"  # gs1:Temperature
    assert report["value"] == 26.0
    assert report["booleanValue"] is True
    assert element["sensorMetadata"]["ext1:someFurtherMetadata"] == "someText"
    assert element["ext1:boolean"] == "true"  # xsi:type dropped, text kept
    assert event["persistentDisposition"] == {
        "set": ["completeness_verified"],
        "unset": ["completeness_inferred"],
    }
    assert document_errors(document) == []


def test_a_nil_quantity_is_left_out() -> None:
    document = xml_capture_document(
        (XML / "WithErrorDeclaration" / "ErrorDeclarationAndCorrectiveEvent.xml").read_bytes()
    )
    first = document["epcisBody"]["eventList"][0]
    assert first["inputQuantityList"][0] == {
        "epcClass": "urn:epc:class:lgtin:4012345.022222.87545GHGH"
    }
    assert first["errorDeclaration"]["reason"] == "incorrect_data"


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        (b"<EPCISDocument", "document", "not well-formed"),
        (
            b'<!DOCTYPE d [<!ENTITY e "x">]><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:'
            b'xsd:2"><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>',
            "document",
            "entities",
        ),
        (b"<EPCISMasterDataDocument/>", "document", "capture takes an EPCISDocument"),
        (b"<EPCISDocument><EPCISBody/></EPCISDocument>", "EPCISBody.EventList", "is missing"),
    ],
)
def test_what_is_no_capture_document_is_refused(text: bytes, field: str, says: str) -> None:
    with pytest.raises(EventRejected) as info:
        xml_capture_document(text)
    assert info.value.field == field
    assert says in info.value.reason
