from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gs1.epcis.bounds import MAX_DEPTH, MAX_STRING
from gs1.epcis.event import (
    EPCIS_CONTEXT,
    epcis_document,
    event_id,
    format_time,
    parse_event,
)
from gs1.errors import EventRejected
from tests.support.events import DOCK, object_event


def test_contract_event_parses() -> None:
    event = parse_event(object_event())
    assert event.event_time == datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)
    assert event.epc_list == ("urn:epc:id:sgtin:4012345.011111.1001",)
    assert event.action == "OBSERVE"
    assert event.read_point is not None
    assert event.read_point.id == DOCK
    assert event.biz_step_short == "arriving"


@pytest.mark.parametrize(
    "biz_step",
    ["arriving", "https://ref.gs1.org/cbv/BizStep-arriving", "urn:epcglobal:cbv:bizstep:arriving"],
)
def test_cbv_spellings_reduce_to_the_short_name(biz_step: str) -> None:
    assert parse_event(object_event(bizStep=biz_step)).biz_step_short == "arriving"


def test_user_vocabulary_uri_is_kept() -> None:
    step = "https://example.com/steps/quarantine-check"
    assert parse_event(object_event(bizStep=step)).biz_step_short == step


def test_namespaced_extensions_and_passthrough_fields_are_allowed() -> None:
    event = parse_event({**object_event(), "ex:zone": "cold-1", "bizTransactionList": []})
    assert event.model_extra == {"ex:zone": "cold-1", "bizTransactionList": []}


def _without(key: str) -> dict[str, Any]:
    event = object_event()
    del event[key]
    return event


@pytest.mark.parametrize(
    ("event", "field", "reason"),
    [
        ("not a dict", "event", "must be a JSON object"),
        (object_event(type="SensorEvent"), "type", "is not an EPCIS 2.0 event type"),
        (object_event(bizstep="arriving"), "bizstep", "is not an EPCIS 2.0 field"),
        (object_event(epcList=["1001"]), "epcList", "entry 0 '1001' is not an EPC URI"),
        (
            object_event(epcList=["urn:epc:id:sgtin:4012345.01111.1"]),
            "epcList",
            "must total 13",
        ),
        (
            object_event(epcList=["urn:epc:id:sgtin:4012345.011111.1"] * 2),
            "epcList",
            "same EPC twice",
        ),
        (object_event(action="MOVE"), "action", "'ADD', 'OBSERVE' or 'DELETE'"),
        (object_event(eventTime="2026-11-22T10:00:00"), "eventTime", "timezone"),
        (object_event(eventTime="yesterday"), "eventTime", "datetime"),
        (_without("eventTime"), "eventTime", "required"),
        (object_event(eventTimeZoneOffset="UTC"), "eventTimeZoneOffset", "pattern"),
        (object_event(bizStep="arivng"), "bizStep", "'arivng' is not a CBV 2.0 bizStep"),
        (
            object_event(disposition="https://ref.gs1.org/cbv/Disp-melted"),
            "disposition",
            "'melted' is not a CBV 2.0 disposition",
        ),
        (object_event(readPoint={"id": "dock 1"}), "readPoint.id", "location URI"),
        (object_event(readPoint={"id": "urn:epc:id:sgln:4012345.1.0"}), "readPoint.id", "12"),
        (object_event(readPoint={"name": DOCK}), "readPoint.id", "Field required"),
        (object_event(readPoint={"id": DOCK, "name": "dock"}), "readPoint.name", "namespace"),
        (object_event(bizLocation="x"), "bizLocation", "valid dictionary"),
    ],
)
def test_rejections_name_the_field(event: Any, field: str, reason: str) -> None:
    with pytest.raises(EventRejected) as info:
        parse_event(event)
    assert info.value.field == field
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{field}: ")


def test_event_id_ignores_event_id_and_record_time_and_key_order() -> None:
    plain = object_event()
    decorated = {
        "recordTime": "2026-11-22T10:00:01Z",
        "eventID": "urn:uuid:2b6a5c3f-0000-4000-8000-000000000001",
        **dict(reversed(list(plain.items()))),
    }
    assert event_id(decorated) == event_id(plain)
    assert event_id(plain).startswith("ni:///sha-256;")
    assert event_id(plain).endswith("?ver=CBV2.0")


def test_event_id_changes_with_content() -> None:
    assert event_id(object_event()) != event_id(object_event(serial="1002"))


def test_event_id_is_stable() -> None:
    # Golden value: hashing a stored event must give the same id in every release.
    assert event_id(object_event()) == (
        "ni:///sha-256;e8ffbe674a183267d270e4892f8278cd1bbfc806d9e68f8d38bea96d541f79e3?ver=CBV2.0"
    )


def test_document_wrapper() -> None:
    created = datetime(2026, 11, 22, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    doc = epcis_document([object_event()], created)
    assert doc["@context"] == [EPCIS_CONTEXT]
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2026-11-22T10:00:00.000Z"
    assert doc["epcisBody"]["eventList"] == [object_event()]


def test_format_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        format_time(datetime(2026, 1, 1))


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ({"example:x": "1e1000000"}, "example:x", "exponent"),
        ({"example:x": "1" * 200}, "example:x", "significant digits"),
        ({"example:x": "x" * (MAX_STRING + 1)}, "example:x", "characters long"),
        ({"example:x": 10**200}, "example:x", "more than 100 digits"),
        ({"example:x": {"y": [float("inf")]}}, "example:x.y[0]", "not a finite number"),
        ({"example:x": _nested(MAX_DEPTH)}, "example:x", "nests deeper"),
        (
            {
                "quantityList": [
                    {"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": "1e999999"}
                ]
            },
            "quantityList[0].quantity",
            "exponent",
        ),
    ],
)
def test_values_beyond_the_bounds_are_rejected_naming_the_field(
    extra: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(EventRejected) as rejected:
        parse_event(object_event(**extra))
    assert rejected.value.field.startswith(field)
    assert says in rejected.value.reason


def test_a_quantity_must_be_finite() -> None:
    element = {"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": "inf"}
    with pytest.raises(EventRejected, match="quantity"):
        parse_event(object_event(quantityList=[element]))
