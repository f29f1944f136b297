"""EPCIS XML (2.0 and 1.x) read into the JSON event model: the event hash ID of every
reference XML document, spellings that must hash alike, and rejected documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gs1.epcis.hashid import document_events, event_hash_id, ignore_fields
from gs1.epcis.xml import MAX_XML_DEPTH, read_root, xml_document
from gs1.epcis.xmlcapture import xml_capture_document
from gs1.errors import EventRejected

DATA = Path(__file__).parents[2] / "data" / "gs1" / "event-hash-id"
XML_EXAMPLES = sorted(p.stem for p in DATA.glob("*.xml"))
EQUAL = sorted(p.name for p in (DATA / "expected_equal").glob("*.xml"))


def test_every_xml_example_is_here() -> None:
    assert len(XML_EXAMPLES) == 17
    assert len(EQUAL) == 10


@pytest.mark.parametrize("name", XML_EXAMPLES)
def test_reproduces_expected_hashes(name: str) -> None:
    document = xml_document((DATA / f"{name}.xml").read_bytes())
    expected = (DATA / f"{name}.hashes").read_text().split()
    assert [event_hash_id(e, None, document.ignore) for e in document.events] == expected


@pytest.mark.parametrize("name", [n for n in XML_EXAMPLES if (DATA / f"{n}.jsonld").exists()])
def test_xml_and_jsonld_spellings_hash_alike(name: str) -> None:
    xml = xml_document((DATA / f"{name}.xml").read_bytes())
    jsonld = json.loads((DATA / f"{name}.jsonld").read_text())
    events, prefixes = document_events(jsonld)
    assert [event_hash_id(e, None, xml.ignore) for e in xml.events] == [
        event_hash_id(e, prefixes, ignore_fields(jsonld)) for e in events
    ]


@pytest.mark.parametrize("name", EQUAL)
def test_expected_equal_spellings_give_one_hash(name: str) -> None:
    document = xml_document((DATA / "expected_equal" / name).read_bytes())
    assert len(document.events) >= 2
    assert len({event_hash_id(e, None, document.ignore) for e in document.events}) == 1


def test_epcis_1_2_wrappers_are_dissolved() -> None:
    document = xml_document((DATA / "epcisXmlDocHavingEventWithIgnoreFields.xml").read_bytes())
    event = document.events[0]
    # <extension><quantityList>… in 1.2 is the 2.0 quantityList, numbers as numbers.
    assert event["quantityList"][0]["quantity"] == 150
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:4054738.00005.0"}
    assert "{https://ns.example.com/epcis/}testField1" in document.ignore


def test_sensor_reports_become_dicts_of_typed_values() -> None:
    document = xml_document((DATA / "SensorDataExamples.xml").read_bytes())
    reports = [
        r
        for e in document.events
        for s in e.get("sensorElementList", [])
        for r in s.get("sensorReport", [])
    ]
    temperature = next(r for r in reports if r.get("value") == 26)
    assert temperature["type"] == "https://gs1.org/voc/MT-Temperature"
    assert any(r.get("booleanValue") is True for r in reports)


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("<EPCISDocument><EPCISBody>", "document", "not well-formed"),
        ("<EPCISDocument><EPCISBody/></EPCISDocument>", "EPCISBody.EventList", "missing"),
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
            "<EPCISDocument>&a;</EPCISDocument>",
            "document",
            "entities or a DTD",
        ),
    ],
)
def test_bad_documents_are_rejected_naming_the_problem(text: str, field: str, reason: str) -> None:
    with pytest.raises(EventRejected) as caught:
        xml_document(text)
    assert caught.value.field == field
    assert reason in caught.value.reason


def _nested(depth: int) -> str:
    """An EPCIS document whose event carries one extension nested ``depth`` levels."""
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'xmlns:ex="http://ex.com/x" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">'
        "<EPCISBody><EventList><ObjectEvent><eventTime>2026-01-01T00:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>OBSERVE</action>"
        + "<ex:a>" * depth
        + "x"
        + "</ex:a>" * depth
        + "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )


def test_nesting_is_bounded_before_anything_reads_the_tree_recursively() -> None:
    """Finding 9: 150,000 nested elements (2 MB) once raised RecursionError (a 500)."""
    # The root, EPCISBody, EventList and the event take 4 levels.
    assert read_root(_nested(MAX_XML_DEPTH - 4)) is not None
    for depth in (MAX_XML_DEPTH - 3, 150_000):
        with pytest.raises(EventRejected) as caught:
            xml_document(_nested(depth))
        assert caught.value.field == "document"
        assert f"deeper than {MAX_XML_DEPTH} levels" in caught.value.reason
        with pytest.raises(EventRejected, match=f"deeper than {MAX_XML_DEPTH}"):
            xml_capture_document(_nested(depth))
