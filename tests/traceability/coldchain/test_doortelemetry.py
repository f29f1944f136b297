"""InfluxDoorReader against the real influxd spawned by the fixtures: the newest door
signal per place (the PLC writes changes only), None where no door reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.traceability.coldchain.test_telemetry import T0_NS, line_tag, write
from traceability.coldchain.doors import DoorState
from traceability.coldchain.doortelemetry import InfluxDoorReader
from traceability.errors import TelemetryUnavailable
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

ROOM = "urn:epc:id:sgln:4012345.00002.0"
DOCK = "urn:epc:id:sgln:4012345.00001.0"


def door(location: str, is_open: bool, ns: int) -> str:
    value = "true" if is_open else "false"
    return f"coldroom,site=wh1,location={line_tag(location)},plc=plc-1 door_open={value} {ns}"


def test_the_newest_door_signal_per_place(influxdb: InfluxDB) -> None:
    database = "d" + uuid.uuid4().hex[:12]
    write(
        influxdb.url,
        database,
        [
            door(ROOM, False, T0_NS),
            door(ROOM, True, T0_NS + 120_000_000_000),
            # the same PLC's other quantities share the measurement
            f"coldroom,site=wh1,location={line_tag(ROOM)},plc=plc-1 setpoint_c=2.0 "
            f"{T0_NS + 180_000_000_000}",
            door(DOCK, False, T0_NS + 60_000_000_000),
        ],
    )
    with InfluxDoorReader(influxdb.url, database) as reader:
        assert reader.door(ROOM) == DoorState(
            open=True, since=datetime(2026, 11, 22, 10, 2, tzinfo=UTC)
        )
        assert reader.door(DOCK) == DoorState(
            open=False, since=datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
        )
        assert reader.door("urn:epc:id:sgln:4012345.00009.0") is None


def test_a_missing_database_is_unavailable(influxdb: InfluxDB) -> None:
    with (
        InfluxDoorReader(influxdb.url, "nope" + uuid.uuid4().hex[:8]) as reader,
        pytest.raises(TelemetryUnavailable, match="check that the database exists"),
    ):
        reader.door(ROOM)
