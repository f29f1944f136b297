"""The compiled fast path of the EPCIS JSON Schema check gives jsonschema's verdict.

Every event of the copied reference documents, the aggregation/transformation shapes
and thousands of mutated events are judged by both validators; they must agree, and the
fast path must leave the event untouched.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gs1.epcis.schema import _validator, event_errors, event_is_valid, is_uri, uri_problem
from tests.support.events import object_event

DATA = Path(__file__).parents[2] / "data" / "gs1" / "event-hash-id"


def _slow_verdict(event: dict[str, Any]) -> bool:
    kind = event.get("type")
    return not any(_validator(f"#/definitions/{kind}").iter_errors(event))


def _reference_events() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(DATA.glob("*.jsonld")):
        document = json.loads(path.read_text(encoding="utf-8"))
        body = document.get("epcisBody", {})
        events = body.get("eventList") or body.get("queryResults", {}).get("resultsBody", {}).get(
            "eventList", []
        )
        found.extend(e for e in events if isinstance(e, dict))
    return found


def test_fast_and_full_validators_agree_on_the_reference_events() -> None:
    events = _reference_events()
    assert len(events) > 30
    for event in events:
        if event.get("type") in (
            "ObjectEvent",
            "AggregationEvent",
            "TransformationEvent",
            "AssociationEvent",
            "TransactionEvent",
        ):
            before = copy.deepcopy(event)
            assert event_is_valid(event) == _slow_verdict(event), event
            assert event == before  # nothing filled in or changed


def test_a_rejection_still_lists_jsonschema_paths() -> None:
    event = object_event(bizStep=5)
    assert not event_is_valid(event)
    assert event_errors(event)[0][0] == "bizStep"
    assert event_errors(object_event()) == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_KEYS = [
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "quantityList",
    "sensorElementList",
    "sourceList",
    "bizTransactionList",
    "eventID",
    "certificationInfo",
    "ilmd",
    "type",
    "parentID",
]


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(_KEYS), value=_JSON, drop=st.booleans())
def test_fast_and_full_validators_agree_on_mutated_events(key: str, value: Any, drop: bool) -> None:
    event = object_event()
    if drop:
        event.pop(key, None)
    else:
        event[key] = value
    kind = event.get("type")
    if kind not in (
        "ObjectEvent",
        "AggregationEvent",
        "TransformationEvent",
        "AssociationEvent",
        "TransactionEvent",
    ):
        assert not event_is_valid(event)
        return
    assert event_is_valid(event) == _slow_verdict(event)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(
        ["AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent"]
    ),
    key=st.sampled_from(
        [
            *_KEYS,
            "childEPCs",
            "inputEPCList",
            "outputEPCList",
            "transformationID",
            "childQuantityList",
        ]
    ),
    value=_JSON,
)
def test_other_event_types_agree(kind: str, key: str, value: Any) -> None:
    event = object_event(type=kind, parentID="urn:epc:id:sscc:4012345.0000000001")
    event[key] = value
    if event.get("type") not in (
        "ObjectEvent",
        "AggregationEvent",
        "TransformationEvent",
        "AssociationEvent",
        "TransactionEvent",
    ):
        return
    assert event_is_valid(event) == _slow_verdict(event)


def test_date_times_are_rfc_3339_with_an_offset() -> None:
    from gs1.epcis.schema import time_problem

    good = ("2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456+01:00", "2026-11-22t10:00:00z")
    for value in good:
        assert time_problem(value) is None, value
    bad = ("1700000000", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00", "2026-02-30T10:00:00Z")
    for value in bad:
        assert time_problem(value) is not None, value
    assert time_problem(None) is not None


def test_a_bad_time_anywhere_the_schema_says_date_time_is_named() -> None:
    event = object_event(
        recordTime="1700000000",
        errorDeclaration={"declarationTime": "soon"},
        sensorElementList=[
            {
                "sensorMetadata": {"startTime": "later"},
                "sensorReport": [{"type": "Temperature", "value": 1, "time": "now"}],
            }
        ],
    )
    assert [path for path, _ in event_errors(event)] == [
        "recordTime",
        "errorDeclaration.declarationTime",
        "sensorElementList[0].sensorMetadata.startTime",
        "sensorElementList[0].sensorReport[0].time",
    ]


def test_an_alternative_no_branch_fits_names_the_field_not_the_event() -> None:
    (problem,) = event_errors(object_event(ilmd={"example:size": "L"}))  # ilmd needs ADD
    assert problem[0] == "ilmd"
    assert "ilmd is not allowed here" in problem[1]
    assert "'^ADD$'" in problem[1]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("eventID", "my id"),
        ("bizTransactionList", [{"type": "purchaseorder", "bizTransaction": "urn:x:1"}]),
        ("persistentDisposition", {"set": ["notacbvword"]}),
        ("certificationInfo", "no scheme"),
        ("eventID", "urn:x:\x00"),
    ],
)
def test_format_uri_is_checked_by_both_validators(key: str, value: Any) -> None:
    event = {**object_event(), key: value}
    assert not event_is_valid(event)
    assert not _slow_verdict(event)
    (path, _), *_ = event_errors(event)
    assert path.split("[")[0].split(".")[0] == key


@pytest.mark.parametrize(
    "value",
    [
        "urn:epc:id:sgtin:4012345.011111.1",
        "https://a.example/p?q=1#f",
        "gs1:Temperature",
        "ni:///x",
    ],
)
def test_what_is_a_uri(value: str) -> None:
    assert is_uri(value)
    assert uri_problem(value) is None


@pytest.mark.parametrize(
    "value", ["my id", "PO 1", "po", "1abc:x", ":x", "urn:a b", "urn:<x>", "urn:x\n", "urn:\x00"]
)
def test_what_is_no_uri(value: str) -> None:
    assert not is_uri(value)
    assert "is not a URI" in (uri_problem(value) or "")


def test_xml_sensor_types_are_any_uri_as_the_xsd_says() -> None:
    """An XML sensor type is ``anyURI`` (``gs1:Molar_concentration`` reads as a bare word
    the JSON Schema's enum lacks): no violation from XML, one from JSON."""
    report = {"type": "Molar_concentration", "value": 1.0}
    event = {**object_event(), "sensorElementList": [{"sensorReport": [report]}]}
    assert event_errors(event, syntax="xml") == []
    ((path, _),) = event_errors(event)
    assert path == "sensorElementList[0].sensorReport[0].type"


_EPC = "urn:epc:id:sgtin:4012345.011111.1"
_TWICE = [_EPC, _EPC]


@pytest.mark.parametrize(
    "event",
    [
        object_event(epcList=_TWICE),  # uniqueItems, checked beside the compiled schema
        object_event(epcList=[_EPC, "urn:epc:id:sgtin:4012345.011111.2"]),
        {
            "type": "TransformationEvent",
            "eventTime": "2026-11-22T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "inputEPCList": _TWICE,
            "outputEPCList": ["urn:epc:id:sgtin:4012345.011111.3"],
        },
        {
            "type": "AggregationEvent",  # its childEPCs are not uniqueItems in the schema
            "eventTime": "2026-11-22T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "parentID": "urn:epc:id:sscc:4012345.0000000001",
            "childEPCs": _TWICE,
            "epcList": _TWICE,  # no field of an AggregationEvent: the schema says nothing
        },
        {**object_event(), "example:x": 1, "sensorElementList": [{"example:y": 2}]},
        {**object_event(), "sensorElementList": [{"sensorReport": [{"type": "x", "ex:z": 1}]}]},
    ],
)
def test_the_simplified_fast_schema_gives_the_same_verdict(event: dict[str, Any]) -> None:
    assert event_is_valid(event) == _slow_verdict(event)


def test_every_unique_list_of_the_schema_is_checked_beside_the_fast_one() -> None:
    from gs1.epcis.schema import EVENT_TYPES, _schema, _unique_lists

    text = json.dumps(_schema())
    assert text.count('{"$ref": "#/definitions/epcList"}') == sum(
        len(_unique_lists(kind)) for kind in EVENT_TYPES
    )


def test_duplicate_epcs_are_refused_in_a_tuple_too() -> None:
    """A caller in process may build its event from tuples: duplicates are still refused."""
    epc = "urn:epc:id:sgtin:4012345.011111.1001"
    event = object_event(epcList=(epc, epc))
    assert not event_is_valid(event)
    assert not event_is_valid(object_event(epcList=[epc, epc]))
    assert event_is_valid(object_event(epcList=(epc,)))
