from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from sensors.temperature import TemperatureReading

GOOD: dict[str, Any] = {
    "device_id": "probe-cold1-01",
    "seq": 42,
    "ts": "2026-11-22T10:00:00.123Z",
    "celsius": 4.2,
    "humidity": 61.0,
    "battery": 87.0,
    "location": "urn:epc:id:sgln:4012345.00001.0",
}


def parse(**changes: Any) -> TemperatureReading:
    body = {**GOOD, **changes}
    body = {k: v for k, v in body.items() if v is not ...}
    return TemperatureReading.model_validate_json(json.dumps(body))


def test_contract_example_parses() -> None:
    reading = parse()
    assert reading.ts == datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)
    assert reading.celsius == 4.2


def test_offset_is_normalised_to_utc_and_serialised_with_z() -> None:
    reading = parse(ts="2026-11-22T11:00:00.123+01:00")
    assert reading.ts.utcoffset() == timedelta(0)
    assert json.loads(reading.to_json())["ts"] == "2026-11-22T10:00:00.123Z"


def test_round_trip_and_optional_fields() -> None:
    reading = parse(humidity=..., battery=...)
    assert reading.humidity is None
    assert "humidity" not in json.loads(reading.to_json())
    assert TemperatureReading.model_validate_json(reading.to_json()) == reading
    micro = TemperatureReading(
        **{**GOOD, "ts": datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=8)))}
    )
    assert TemperatureReading.model_validate_json(micro.to_json()) == micro


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"celsius": 150.5}, "celsius", "less than or equal to 150"),
        ({"celsius": -100.1}, "celsius", "greater than or equal to -100"),
        ({"celsius": "4.2"}, "celsius", "valid number"),
        ({"celsius": True}, "celsius", "valid number"),
        ({"celsius": ...}, "celsius", "Field required"),
        ({"humidity": 101}, "humidity", "less than or equal to 100"),
        ({"battery": -1}, "battery", "greater than or equal to 0"),
        ({"seq": -1}, "seq", "greater than or equal to 0"),
        ({"seq": 1.5}, "seq", "valid integer"),
        ({"seq": 2**63}, "seq", "less than or equal to"),
        ({"ts": "2026-11-22T10:00:00"}, "ts", "UTC offset"),
        ({"ts": "yesterday"}, "ts", "RFC 3339"),
        ({"ts": 4.2}, "ts", "a number is not a timestamp"),
        ({"ts": 1_795_341_600}, "ts", "a number is not a timestamp"),
        ({"device_id": "bad id"}, "device_id", "pattern"),
        ({"location": "urn:epc:id:sgln:4012345.0001.0"}, "location", "12 digits together"),
        ({"location": "warehouse 1"}, "location", "SGLN URN"),
        ({"location": "urn:epc:id:sgln:4012345.00001.0\n"}, "location", "SGLN URN"),
        ({"device_id": "p1\n"}, "device_id", "pattern"),
        ({"celsius_typo": 1.0}, "celsius_typo", "Extra inputs"),
    ],
)
def test_bad_readings_name_the_field(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse(**changes)
    errors = info.value.errors()
    assert errors[0]["loc"] == (field,)
    assert message in errors[0]["msg"]


def test_non_finite_celsius_is_rejected() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        TemperatureReading.model_validate_json(
            json.dumps({**GOOD, "celsius": float("nan")}).encode()
        )


def test_location_is_optional_and_left_out_when_absent() -> None:
    # The gateway stores a reading at its probe's placement: a payload may omit it.
    reading = parse(location=...)
    assert reading.location is None
    assert "location" not in json.loads(reading.to_json())
