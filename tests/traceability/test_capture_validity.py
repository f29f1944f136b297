"""Validity decides acceptance: invalid documents are refused naming the field, valid
ones the standard allows are captured (issue #15), on a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gs1.epcis.event import EPCIS_CONTEXT, epcis_document
from gs1.errors import EventRejected
from tests.support.events import DOCK, object_event
from traceability.capture import CaptureService
from traceability.records.store import RecordStore

CREATED = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
PREFIXES = {"example": "https://ns.example.com/epcis/"}


def document(*events: dict[str, Any], **header: Any) -> dict[str, Any]:
    doc = epcis_document(list(events), CREATED)
    doc["@context"] = [EPCIS_CONTEXT, PREFIXES]
    doc.update(header)
    return doc


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def aggregation(**extra: Any) -> dict[str, Any]:
    return {
        "type": "AggregationEvent",
        "eventTime": "2026-11-22T10:05:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": "ADD",
        "bizStep": "packing",
        **extra,
    }


def sensor_only(**extra: Any) -> dict[str, Any]:
    """A cold room's temperature: no object named, only the readPoint and the readings."""
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-11-22T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "readPoint": {"id": DOCK},
        "sensorElementList": [
            {
                "sensorMetadata": {"time": "2026-11-22T10:00:00Z"},
                "sensorReport": [{"type": "Temperature", "value": 3.5, "uom": "CEL"}],
            }
        ],
        **extra,
    }


@pytest.fixture
def service(stocked: RecordStore) -> CaptureService:
    return CaptureService(stocked)


@pytest.mark.parametrize(
    ("doc", "field", "says"),
    [
        (without(document(object_event()), "@context"), "@context", "is missing"),
        (document(object_event(), **{"@context": 42}), "@context", "context URL"),
        (without(document(object_event()), "type"), "type", "capture takes an EPCISDocument"),
        (without(document(object_event()), "schemaVersion"), "schemaVersion", "'2.0'"),
        (without(document(object_event()), "creationDate"), "creationDate", "RFC 3339"),
        (document(object_event(), creationDate="22/11/2026"), "creationDate", "RFC 3339"),
        (document(object_event(), comment="x"), "comment", "namespace an extension"),
        (document(object_event(), **{"other:note": "x"}), "other:note", "does not declare"),
        ({**document(), "epcisBody": {}}, "epcisBody.eventList", "is missing"),
    ],
)
def test_an_invalid_document_header_is_refused_naming_the_field(
    service: CaptureService, doc: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(EventRejected) as info:
        service.capture_document(doc)
    assert info.value.field == field
    assert says in info.value.reason


@pytest.mark.parametrize(
    ("event", "field", "says"),
    [
        # un-namespaced extensions, wherever they are
        (object_event(temperature=4), "temperature", "namespace an extension"),
        (object_event(ilmd={"bestBefore": "2026-12-01"}), "ilmd.bestBefore", "namespace"),
        (
            object_event(ilmd={"example:grading": {"size": "L"}}),
            "ilmd.example:grading.size",
            "namespace",
        ),
        (object_event(readPoint={"id": DOCK, "door": "3"}), "readPoint.door", "namespace"),
        (object_event(bizLocation={"id": DOCK, "aisle": 2}), "bizLocation.aisle", "namespace"),
        (
            sensor_only(sensorElementList=[{"sensorReport": [{"type": "Temperature", "x": 1}]}]),
            "sensorElementList[0].sensorReport[0].x",
            "namespace",
        ),
        (
            sensor_only(sensorElementList=[{"note": "probe 4", "sensorReport": []}]),
            "sensorElementList[0].note",
            "namespace",
        ),
        (
            object_event(errorDeclaration={"declarationTime": "2026-11-22T11:00:00Z", "by": "x"}),
            "errorDeclaration.by",
            "namespace",
        ),
        # a prefix the document never declared
        (object_event(**{"acme:zone": "A"}), "acme:zone", "'acme', which the document's"),
        (object_event(ilmd={"acme:lot": "7"}), "ilmd.acme:lot", "does not declare"),
        # action, times, mandatory fields
        (object_event(action="MOVE"), "action", "'ADD', 'OBSERVE' or 'DELETE'"),
        (without(object_event(), "action"), "event", "needs an action"),
        (object_event(time="2026-11-22 10:00"), "eventTime", "timezone"),
        (object_event(time="1700000000"), "eventTime", "RFC 3339"),
        (object_event(time="2026-11-22T10:00:00"), "eventTime", "timezone"),
        (object_event(recordTime="yesterday"), "recordTime", "datetime"),
        (object_event(eventTimeZoneOffset="+1:00"), "eventTimeZoneOffset", "pattern"),
        (without(object_event(), "eventTime"), "eventTime", "required"),
        (without(object_event(), "eventTimeZoneOffset"), "eventTimeZoneOffset", "required"),
        (without(object_event(), "type"), "type", "not an EPCIS 2.0 event type"),
        (object_event(readPoint={}), "readPoint.id", "required"),
        (without(aggregation(), "parentID"), "event", "needs a parentID"),
        (
            sensor_only(
                sensorElementList=[
                    {
                        "sensorMetadata": {"time": "1700000000"},
                        "sensorReport": [{"type": "Temperature", "value": 3.5}],
                    }
                ]
            ),
            "sensorElementList[0].sensorMetadata.time",
            "RFC 3339",
        ),
        # bizStep and disposition: a CBV value or a URI, never a bare word outside the CBV
        (object_event(bizStep="unboxing"), "bizStep", "not a CBV 2.0 bizStep"),
        (object_event(disposition="fresh"), "disposition", "not a CBV 2.0 disposition"),
        (object_event(ilmd={"example:size": "L"}), "ilmd", "ilmd is not allowed here"),
        # the 1.x URN spelling of a CBV value is not the JSON binding's (bare word)
        (object_event(bizStep="urn:epcglobal:cbv:bizstep:receiving"), "bizStep", "JSON Schema"),
        (
            object_event(bizStep="https://ref.gs1.org/cbv/BizStep-unboxing"),
            "bizStep",
            "'unboxing' is not a CBV 2.0 bizStep term",
        ),
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(
    service: CaptureService, stocked: RecordStore, event: dict[str, Any], field: str, says: str
) -> None:
    report = service.capture_document(document(event))
    assert report.captured == ()
    (error,) = report.errors
    assert (error.index, error.field) == (0, field)
    assert says in error.reason
    assert stocked.pending_events(limit=10) == []


@pytest.mark.parametrize(
    "event",
    [
        sensor_only(),  # no EPC, no quantity: a room's temperature
        object_event(readPoint={"id": DOCK, "example:door": "3"}),  # extension in readPoint
        object_event(bizLocation={"id": DOCK, "https://ns.example.com/epcis/aisle": "2"}),
        object_event(
            action="ADD",
            ilmd={"example:grading": {"example:size": "L"}, "cbvmda:lotNumber": "L1"},
        ),
        object_event(**{"urn:example:zone": "A", "rdfs:comment": "a standard prefix"}),
        object_event(bizStep="https://ref.gs1.org/cbv/BizStep-receiving"),
        object_event(bizStep="https://ns.example.com/epcis/steps/unboxing"),
        object_event(disposition="https://ns.example.com/epcis/disp/fresh"),
        object_event(readPoint={"id": "geo:59.91,10.75"}),
        sensor_only(
            sensorElementList=[
                {
                    "example:probe": "p-4",
                    "sensorMetadata": {"example:calibrated": "2026-01-01"},
                    "sensorReport": [{"type": "Temperature", "value": 3.5, "example:raw": "0x1f"}],
                }
            ]
        ),
        object_event(
            errorDeclaration={
                "declarationTime": "2026-11-22T11:00:00Z",
                "reason": "incorrect_data",
                "example:ticket": "T-1",
            }
        ),
    ],
)
def test_what_the_standard_allows_is_captured(
    service: CaptureService, stocked: RecordStore, event: dict[str, Any]
) -> None:
    report = service.capture_document(document(event))
    assert report.ok, report.errors
    (outcome,) = report.captured
    assert outcome.created
    assert stocked.get_event(outcome.event_id) is not None


def test_a_term_the_document_context_defines_is_a_valid_extension(
    service: CaptureService,
) -> None:
    doc = document(object_event(zone="A"))
    doc["@context"] = [EPCIS_CONTEXT, {"zone": "https://ns.example.com/epcis/zone"}]
    assert service.capture_document(doc).ok


def test_an_event_s_own_context_declares_its_prefixes(service: CaptureService) -> None:
    own: dict[str, Any] = {"acme:zone": "A", "@context": [{"acme": "https://acme.example/"}]}
    assert service.capture_document(document(object_event(**own))).ok
    # The gateway's single event: no document, its own @context is all there is.
    declared: dict[str, Any] = {"@context": {"a": "urn:a:"}, "a:b": 1}
    assert service.capture(object_event(serial="1002", **declared)).created
    undeclared: dict[str, Any] = {"@context": {"a": "urn:a:"}, "b:c": 1}
    with pytest.raises(EventRejected) as info:
        service.capture(object_event(serial="1003", **undeclared))
    assert info.value.field == "b:c"


def test_a_single_event_without_a_document_is_checked_by_shape(service: CaptureService) -> None:
    """The gateway hands over bare events: no document, so no @context to check against."""
    assert service.capture(object_event(**{"acme:zone": "A"})).created
    with pytest.raises(EventRejected) as info:
        service.capture(object_event(serial="1002", zone="A"))
    assert info.value.field == "zone"


def test_a_sensor_only_event_keeps_its_readings_and_names_no_lot(
    service: CaptureService, stocked: RecordStore
) -> None:
    outcome = service.capture(sensor_only())
    assert outcome.lots == ()
    stored = stocked.get_event(outcome.event_id)
    assert stored is not None
    assert stored.read_point == DOCK
    reading = stored.document()["sensorElementList"][0]["sensorReport"][0]
    assert reading == {"type": "Temperature", "value": 3.5, "uom": "CEL"}


def _with_transaction(kind: str, value: str) -> dict[str, Any]:
    return object_event(bizTransactionList=[{"type": kind, "bizTransaction": value}])


def _sensor_typed(kind: str) -> dict[str, Any]:
    return sensor_only(sensorElementList=[{"sensorReport": [{"type": kind, "value": 3}]}])


@pytest.mark.parametrize(
    ("event", "field", "says"),
    [
        # finding 7: the schema's ``format: uri``, and bare words outside the CBV enums
        (object_event(eventID="my id"), "eventID", "'my id' is not a URI"),
        (_with_transaction("po", "PO 1"), "bizTransactionList[0].bizTransaction", "not a URI"),
        (_with_transaction("purchaseorder", "urn:x:1"), "bizTransactionList[0].type", "not a URI"),
        (
            object_event(sourceList=[{"type": "owner", "source": "urn:epc:id:pgln:4012345.00000"}]),
            "sourceList[0].type",
            "not a URI",
        ),
        (
            object_event(
                destinationList=[{"type": "location", "destination": "warehouse 7"}],
            ),
            "destinationList[0].destination",
            "not a URI",
        ),
        (
            object_event(persistentDisposition={"set": ["notacbvword"]}),
            "persistentDisposition.set[0]",
            "not a URI",
        ),
        (
            object_event(persistentDisposition={"unset": ["in progress"]}),
            "persistentDisposition.unset[0]",
            "not a URI",
        ),
        (
            _sensor_typed("Temperatur"),  # a typo: neither a gs1 vocabulary term nor a URI
            "sensorElementList[0].sensorReport[0].type",
            "'Temperatur'",
        ),
        (object_event(certificationInfo="cert 1"), "certificationInfo", "not a URI"),
        (
            sensor_only(
                sensorElementList=[
                    {"sensorReport": [{"type": "Temperature", "deviceID": "probe 4", "value": 3}]}
                ]
            ),
            "sensorElementList[0].sensorReport[0].deviceID",
            "not a URI",
        ),
    ],
)
def test_a_value_that_is_no_uri_where_the_schema_wants_one_is_refused(
    service: CaptureService, stocked: RecordStore, event: dict[str, Any], field: str, says: str
) -> None:
    report = service.capture_document(document(event))
    assert report.captured == ()
    (error,) = report.errors
    assert (error.index, error.field) == (0, field), error
    assert says in error.reason
    assert stocked.pending_events(limit=10) == []


@pytest.mark.parametrize(
    "event",
    [
        object_event(eventID="urn:uuid:6f7c1a7e-6a58-4b69-9b8a-3f1d2f0e9a11"),
        _with_transaction("po", "urn:epcglobal:cbv:bt:4012345000009:PO-1"),
        _with_transaction("https://ns.example.com/epcis/btt/contract", "https://erp.example/po/1"),
        object_event(
            sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}]
        ),
        object_event(persistentDisposition={"set": ["completeness_verified"], "unset": ["active"]}),
        object_event(persistentDisposition={"set": ["https://ns.example.com/epcis/disp/held"]}),
        _sensor_typed("Temperature"),
        _sensor_typed("gs1:Temperature"),
        _sensor_typed("https://ns.example.com/epcis/measure/ripeness"),
        object_event(certificationInfo=["https://cert.example.com/organic/1"]),
    ],
)
def test_cbv_terms_and_uris_are_captured_where_the_schema_takes_either(
    service: CaptureService, event: dict[str, Any]
) -> None:
    report = service.capture_document(document(event))
    assert report.ok, report.errors
