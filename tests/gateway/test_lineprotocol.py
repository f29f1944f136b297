from __future__ import annotations

from datetime import UTC, datetime

from gateway.lineprotocol import escape_tag, temperature_line, timestamp_ns
from sensors.temperature import TemperatureReading

READING = TemperatureReading(
    device_id="probe-cold1-01",
    seq=42,
    ts=datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC),
    celsius=4.2,
    humidity=61.0,
    battery=87.0,
    location="urn:epc:id:sgln:4012345.00001.0",
)


def test_contract_line() -> None:
    assert temperature_line("cold1", READING) == (
        "temperature,device=probe-cold1-01,location=urn:epc:id:sgln:4012345.00001.0,site=cold1 "
        "celsius=4.2,humidity=61.0,battery=87.0,seq=42i 1795341600123000000"
    )


def test_optional_fields_are_left_out() -> None:
    bare = READING.model_copy(update={"humidity": None, "battery": None})
    assert " celsius=4.2,seq=42i " in temperature_line("cold1", bare)


def test_timestamp_is_exact_to_the_microsecond() -> None:
    ts = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)
    assert timestamp_ns(ts) == 9223372036854775000
    assert timestamp_ns(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_tag_escaping() -> None:
    assert escape_tag("a b,c=d") == r"a\ b\,c\=d"
    loc = "urn:epc:id:sgln:4012345.00001.a=b,c"
    line = temperature_line("cold1", READING.model_copy(update={"location": loc}))
    assert r"location=urn:epc:id:sgln:4012345.00001.a\=b\,c," in line


def test_same_reading_gives_the_same_line() -> None:
    again = TemperatureReading.model_validate_json(READING.to_json())
    assert temperature_line("cold1", again) == temperature_line("cold1", READING)
