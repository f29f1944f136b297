"""Conformance: every GS1 EPCIS 2.0 example capture document is captured, once.

The examples are GS1's (tests/data/gs1/epcis-examples/, copied from
../shared/standards/gs1-epcis-2.0/examples and json-schema/test-events with GS1's
licence file; see the README there). Each capture document goes through
``CaptureService.capture_document`` on a real SQLite store (an XML one through
``gs1.epcis.xmlcapture.xml_capture_document`` first): every event is captured with no
error, the business rules only warn (nobody registered the examples' lots, parents or
locations), and capturing the document again creates nothing. The files that are not
capture documents are listed in ``NOT_CAPTURE`` with the reason, and each of them is
refused naming why, so a new example cannot be skipped by accident.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gs1.epcis.hashid import context_prefixes, event_hash_id
from gs1.epcis.xmlcapture import xml_capture_document
from gs1.errors import EventRejected
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

EXAMPLES = Path(__file__).parent.parent / "data" / "gs1" / "epcis-examples"
_CAPTURE_JOB = "a capture job's status (the answer of GET /capture/{id}), not a document to capture"
NOT_CAPTURE: dict[str, tuple[str, str]] = {
    # file: (field the refusal names, why it is no capture document)
    "json/EPCISQueryDocument.jsonld": ("type", "a query result (EPCISQueryDocument)"),
    "xml/CBV/CBV-11.4-2020-06-16a.xml": ("document", "master data (EPCISMasterDataDocument)"),
    "xml/Mimasu/Example-masterData.xml": ("document", "master data (EPCISMasterDataDocument)"),
    "xml/CaptureJob/Example-CaptureJobRunning.xml": ("document", _CAPTURE_JOB),
    "xml/CaptureJob/Example-CaptureJobSuccess.xml": ("document", _CAPTURE_JOB),
    "xml/CaptureJob/Example-CaptureJobWithErrorFile.xml": ("document", _CAPTURE_JOB),
    "xml/CaptureJob/Example-CaptureJobWithErrors.xml": ("document", _CAPTURE_JOB),
    # A hash-id test vector of GS1's that writes CBV values as 1.x URNs in JSON, which
    # the JSON Schema forbids (bizStep: bare CBV word or a non-CBV URI): invalid, refused.
    "xml/WithEventHashID/event_with_identical_hash_id_7.json": (
        "bizStep",
        "invalid per the JSON Schema (CBV URNs in JSON)",
    ),
}
# Single events (the schema's own test events) rather than documents.
TEST_EVENTS = "test-events"
# Events tracehub's model does not take although the schema allows them.
NOT_MODELLED = {
    "test-events/Extended-Event.json": "an extension event type (example:CustomEvent)",
}


def _files(*suffixes: str) -> list[str]:
    return sorted(
        str(path.relative_to(EXAMPLES))
        for path in EXAMPLES.rglob("*")
        if path.suffix in suffixes and "schemas" not in path.parts
    )


CAPTURE_DOCUMENTS = [
    name
    for name in _files(".jsonld", ".json", ".xml")
    if name not in NOT_CAPTURE and not name.startswith(TEST_EVENTS)
]


def _document(name: str) -> dict[str, Any]:
    path = EXAMPLES / name
    if path.suffix == ".xml":
        return xml_capture_document(path.read_bytes())
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _syntax(name: str) -> Any:
    return "xml" if name.endswith(".xml") else "json"


def test_the_examples_are_all_there() -> None:
    assert (EXAMPLES / "LICENSE-gs1-EPCIS.txt").is_file()
    assert len(_files(".jsonld")) == 47  # as the standards README counts them
    assert len(_files(".xml")) == 37
    assert len(CAPTURE_DOCUMENTS) == 46 + 31  # less the query, master data and job files


@pytest.mark.parametrize("name", CAPTURE_DOCUMENTS)
def test_every_example_capture_document_is_captured_once(store: RecordStore, name: str) -> None:
    document = _document(name)
    events = document["epcisBody"]["eventList"]
    service = CaptureService(store)
    report = service.capture_document(document, syntax=_syntax(name))
    assert report.ok, report.errors
    assert len(report.captured) == len(events)
    # An event repeated in a document is stored once: an error declaration has its
    # original's hash id (the hash leaves errorDeclaration out; see the report note).
    ids = [o.event_id for o in report.captured]
    assert [o.created for o in report.captured] == [ids.index(i) == n for n, i in enumerate(ids)]
    assert all(o.event_id.startswith("ni:///sha-256;") for o in report.captured)
    # Nothing about the examples is registered here: warnings only, never refusals.
    codes = {w.code for w in report.warnings}
    assert codes <= {"unknown_parent", "unknown_lot", "unknown_location"}
    stored = store.pending_events(limit=1000)
    again = service.capture_document(_document(name), syntax=_syntax(name))
    assert again.ok
    assert [o.created for o in again.captured] == [False] * len(events)
    assert [o.event_id for o in again.captured] == [o.event_id for o in report.captured]
    assert store.pending_events(limit=1000) == stored


@pytest.mark.parametrize("name", sorted(NOT_CAPTURE))
def test_what_is_not_a_capture_document_is_refused_naming_why(
    store: RecordStore, name: str
) -> None:
    field, _ = NOT_CAPTURE[name]
    service = CaptureService(store)
    if name.endswith(".json"):  # a document, with an invalid event
        report = service.capture_document(_document(name))
        assert [e.field for e in report.errors] == [field]
    else:
        with pytest.raises(EventRejected) as info:
            service.capture_document(_document(name), syntax=_syntax(name))
        assert info.value.field == field
    assert store.pending_events(limit=10) == []


@pytest.mark.parametrize(
    "name", [n for n in _files(".json") if n.startswith(TEST_EVENTS) and n not in NOT_MODELLED]
)
def test_the_schema_test_events_are_captured_as_single_events(
    store: RecordStore, name: str
) -> None:
    """The gateway's path: one event, its own ``@context`` declaring its prefixes."""
    event = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    service = CaptureService(store)
    first = service.capture(event)
    assert first.created
    assert not service.capture(event).created


def test_an_extension_event_type_is_refused_naming_type(store: RecordStore) -> None:
    event = json.loads((EXAMPLES / "test-events/Extended-Event.json").read_text(encoding="utf-8"))
    with pytest.raises(EventRejected) as info:
        CaptureService(store).capture(event)
    assert info.value.field == "type"


def test_xml_spellings_of_one_event_share_the_json_ld_events_hash_id(store: RecordStore) -> None:
    """GS1's WithEventHashID set: XML spellings of the JSON-LD representation (7) are one
    event once read into JSON-LD (2 differs in its time zone offset, which is hashed)."""
    folder = "xml/WithEventHashID"
    reference = json.loads((EXAMPLES / folder / "event_with_identical_hash_id_7.json").read_text())
    (expected,) = [
        event_hash_id(e, context_prefixes(reference["@context"]))
        for e in reference["epcisBody"]["eventList"]
    ]
    service = CaptureService(store)
    for number in (1, 3, 4, 5, 6):
        document = _document(f"{folder}/event_with_identical_hash_id_{number}.xml")
        report = service.capture_document(document, syntax="xml")
        assert report.ok, report.errors
        assert [o.event_id for o in report.captured] == [expected]
        assert report.captured[0].created == (number == 1)
