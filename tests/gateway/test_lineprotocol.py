from __future__ import annotations

from datetime import UTC, datetime

from gateway.lineprotocol import (
    coldroom_line,
    dead_letter_line,
    escape_tag,
    health_line,
    temperature_line,
    timestamp_ns,
)
from sensors.coldroom import ColdRoomChange
from sensors.temperature import TemperatureReading

READING = TemperatureReading(
    device_id="probe-cold1-01",
    seq=42,
    ts=datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC),
    celsius=4.2,
    humidity=61.0,
    battery=87.0,
)
LOC = "urn:epc:id:sgln:4012345.00001.0"


def test_contract_line() -> None:
    assert temperature_line("cold1", READING, LOC) == (
        "temperature,device=probe-cold1-01,location=urn:epc:id:sgln:4012345.00001.0,site=cold1 "
        "celsius=4.2,humidity=61.0,battery=87.0,seq=42i 1795341600123000000"
    )


def test_optional_fields_are_left_out() -> None:
    bare = READING.model_copy(update={"humidity": None, "battery": None})
    assert " celsius=4.2,seq=42i " in temperature_line("cold1", bare, LOC)


def test_timestamp_is_exact_to_the_microsecond() -> None:
    ts = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)
    assert timestamp_ns(ts) == 9223372036854775000
    assert timestamp_ns(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_tag_escaping() -> None:
    assert escape_tag("a b,c=d") == r"a\ b\,c\=d"
    loc = "urn:epc:id:sgln:4012345.00001.a=b,c"
    line = temperature_line("cold1", READING, loc)
    assert r"location=urn:epc:id:sgln:4012345.00001.a\=b\,c," in line


def test_same_reading_gives_the_same_line() -> None:
    again = TemperatureReading.model_validate_json(READING.to_json())
    assert temperature_line("cold1", again, LOC) == temperature_line("cold1", READING, LOC)


# --- the other measurements -------------------------------------------------------------


def test_coldroom_fields_keep_their_types() -> None:
    base = {
        "site": "s1",
        "plc": "plc 1".replace(" ", "-"),
        "location": "urn:epc:id:sgln:4012345.00001.0",
        "ts": datetime(2026, 11, 22, tzinfo=UTC),
    }
    whole = coldroom_line(ColdRoomChange(**base, quantity="temperature_c", value=4))
    door = coldroom_line(ColdRoomChange(**base, quantity="door_open", value=False))
    assert " temperature_c=4.0 " in whole  # never 4i, never a bare 4
    assert " door_open=false " in door
    assert whole.startswith("coldroom,location=urn:epc:id:sgln:4012345.00001.0,plc=plc-1,site=s1 ")


def test_health_and_dead_letter_lines() -> None:
    line = health_line("gw 1", {"received": 3, "lag_ms": 1.0}, 5)
    assert line == r"gateway_health,gateway=gw\ 1 lag_ms=1.0,received=3i 5"
    assert (
        dead_letter_line("gw", "not_json", 2, 5)
        == "dead_letter,gateway=gw,reason=not_json count=2i 5"
    )
