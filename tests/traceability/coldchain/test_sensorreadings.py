"""Temperature readings out of EPCIS event bodies: types, units, fallbacks, junk, and which
events speak for their room (sensor-only, error declarations)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.events import COLD_ROOM, DOCK
from traceability.coldchain.sensorreadings import (
    REPORT_REACH,
    room_place,
    room_readings,
    sensor_only,
    temperature_readings,
)

EXAMPLES = Path(__file__).parents[2] / "data" / "gs1" / "epcis-examples" / "json"
T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def sensor_event(*reports: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-22T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "readPoint": {"id": COLD_ROOM},
        "sensorElementList": [
            {
                "sensorMetadata": {"deviceID": "urn:epc:id:giai:4012345.1"},
                "sensorReport": [*reports],
            }
        ],
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("kind", "uom", "value", "celsius"),
    [
        ("Temperature", "CEL", 3.5, 3.5),
        ("gs1:Temperature", "CEL", 3.5, 3.5),
        ("https://gs1.org/voc/Temperature", "CEL", 3.5, 3.5),
        ("Temperature", "FAH", 41.0, 5.0),
        ("Temperature", "KEL", 277.15, 4.0),
        ("Temperature", "CEL", -18, -18.0),  # an integer is a number too
    ],
)
def test_each_spelling_of_the_type_and_each_unit_reads_in_celsius(
    kind: str, uom: str, value: float, celsius: float
) -> None:
    (found,) = temperature_readings("e1", sensor_event({"type": kind, "value": value, "uom": uom}))
    assert found.celsius == pytest.approx(celsius)
    assert (found.location, found.device, found.time) == (
        COLD_ROOM,
        "epcis:urn:epc:id:giai:4012345.1",
        T,
    )


@pytest.mark.parametrize(
    "report",
    [
        {"type": "Temperature", "minValue": 2.0, "maxValue": 6.0, "uom": "CEL"},  # a range only
        {"type": "Temperature", "value": 3.0},  # no unit: not comparable with a band
        {"type": "Temperature", "value": 3.0, "uom": "KGM"},
        {"type": "Temperature", "value": "3.0", "uom": "CEL"},
        {"type": "Temperature", "value": True, "uom": "CEL"},
        {"type": "Temperature", "value": 3.0, "uom": "CEL", "exception": "ERROR_CONDITION"},
        {"type": "Temperature", "value": 3.0, "uom": "CEL", "time": "yesterday"},
        {"type": "AbsoluteHumidity", "value": 40.0, "uom": "A93"},
        {"type": "example:Temperature", "value": 3.0, "uom": "CEL"},
    ],
)
def test_a_report_that_does_not_read_as_a_temperature_is_skipped(report: dict[str, Any]) -> None:
    body = sensor_event(report, {"type": "Temperature", "value": 3.5, "uom": "CEL"})
    assert [r.celsius for r in temperature_readings("e1", body)] == [3.5]


def test_mean_value_stands_in_for_a_missing_value_and_an_alarm_is_still_a_reading() -> None:
    body = sensor_event(
        {"type": "Temperature", "meanValue": 4.5, "minValue": 4.0, "uom": "CEL"},
        {"type": "Temperature", "value": 9.0, "meanValue": 4.0, "uom": "CEL",
         "exception": "ALARM_CONDITION"},
    )  # fmt: skip
    assert [r.celsius for r in temperature_readings("e1", body)] == [4.5, 9.0]


def test_time_device_and_place_fall_back_in_order() -> None:
    body = sensor_event(
        {"type": "Temperature", "value": 1.0, "uom": "CEL", "time": "2026-11-22T09:55:00+01:00",
         "deviceID": "urn:epc:id:giai:4012345.9"},
        {"type": "Temperature", "value": 2.0, "uom": "CEL"},
        bizLocation={"id": DOCK},
    )  # fmt: skip
    body["sensorElementList"][0]["sensorMetadata"]["time"] = "2026-11-22T09:50:00Z"
    body["sensorElementList"].append(
        {"sensorReport": [{"type": "Temperature", "value": 3.0, "uom": "CEL"}]}
    )
    found = temperature_readings("ni:///sha-256;abc", body)
    assert [(r.celsius, r.time, r.device, r.location) for r in found] == [
        (1.0, T - timedelta(hours=1, minutes=5), "epcis:urn:epc:id:giai:4012345.9", DOCK),
        (2.0, T - timedelta(minutes=10), "epcis:urn:epc:id:giai:4012345.1", DOCK),
        (3.0, T, "epcis:ni:///sha-256;abc", DOCK),  # no time, no device: the event's
    ]
    body["eventID"] = "urn:uuid:sender-id"
    assert temperature_readings("ni:///sha-256;abc", body)[2].device == "epcis:urn:uuid:sender-id"


def test_a_reading_far_from_its_event_or_an_event_without_place_or_time_gives_none() -> None:
    far = (T - REPORT_REACH - timedelta(seconds=1)).isoformat()
    near = (T - REPORT_REACH).isoformat()
    body = sensor_event(
        {"type": "Temperature", "value": 1.0, "uom": "CEL", "time": far},
        {"type": "Temperature", "value": 2.0, "uom": "CEL", "time": near},
    )
    assert [r.celsius for r in temperature_readings("e", body)] == [2.0]
    nowhere = {k: v for k, v in body.items() if k != "readPoint"}
    assert temperature_readings("e", nowhere) == []
    assert temperature_readings("e", {**body, "eventTime": "soon"}) == []
    assert temperature_readings("e", {**body, "sensorElementList": "junk"}) == []
    assert temperature_readings("e", {**body, "sensorElementList": [1, {"sensorReport": 2}]}) == []


def test_the_standards_example_reads_its_three_temperatures() -> None:
    document = json.loads((EXAMPLES / "WithSensorData/SensorDataExample1.jsonld").read_text())
    (event,) = document["epcisBody"]["eventList"]
    found = temperature_readings("x", event)
    assert [r.celsius for r in found] == [26.0, 26.1, 26.2]
    assert found[0].time == datetime(2019, 4, 2, 13, 5, tzinfo=UTC)
    assert {r.device for r in found} == {"epcis:urn:epc:id:giai:4000001.111"}
    # It names an object (an SGTIN): its sensors measure that object, not the room.
    assert not sensor_only(event)
    assert room_readings([("x", event)]) == []
    assert room_place(event) is None


def test_events_naming_objects_never_speak_for_their_room() -> None:
    reading = {"type": "Temperature", "value": 9.0, "uom": "CEL"}
    for field, value in [
        ("epcList", ["urn:epc:id:sgtin:4012345.011111.1001"]),
        ("quantityList", [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1"}]),
        ("parentID", "urn:epc:id:sscc:4012345.0000000001"),
        ("childEPCs", ["urn:epc:id:sgtin:4012345.011111.1001"]),
    ]:
        assert room_readings([("e", sensor_event(reading, **{field: value}))]) == []
    assert [r.celsius for r in room_readings([("e", sensor_event(reading, epcList=[]))])] == [9.0]
    assert room_place(sensor_event(reading)) == COLD_ROOM
    assert room_place(sensor_event({"type": "AbsoluteHumidity", "value": 1, "uom": "A93"})) is None


def test_an_error_declaration_withdraws_the_readings_of_the_event_it_corrects() -> None:
    wrong = sensor_event({"type": "Temperature", "value": 40.0, "uom": "CEL"})
    right = sensor_event({"type": "Temperature", "value": 3.0, "uom": "CEL", "deviceID": "d2"})
    declaration = {
        **wrong,
        "errorDeclaration": {"declarationTime": "2026-11-22T11:00:00Z", "reason": "incorrect_data"},
    }
    events = [("h1", wrong), ("h2", right), ("h1#errorDeclaration", declaration)]
    assert [(r.device, r.celsius) for r in room_readings(events)] == [("epcis:d2", 3.0)]
    assert len(room_readings(events[:2])) == 2
    assert room_place(declaration) == COLD_ROOM  # chained with the room, as the event was
