"""InfluxColdRoomPower against the real influxd spawned by the fixtures, kWh by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from traceability.carbon.chain import ColdStorageStay
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.carbon.energy import ColdRoomPower, measure_stays
from traceability.carbon.errors import EnergyUnavailable
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

ROOM = "urn:epc:id:sgln:4012345.00002.0"
OTHER = "urn:epc:id:sgln:4012345.00003.0"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def ns(minutes: float) -> int:
    return int((T0 + timedelta(minutes=minutes)).timestamp() * 1e9)


def line(location: str, kw: float, minutes: float, site: str = "wh1") -> str:
    return f"coldroom,site={site},location={location},plc=plc-1 compressor_kw={kw} {ns(minutes)}"


@pytest.fixture
def database(influxdb: InfluxDB) -> str:
    name = "c" + uuid.uuid4().hex[:12]
    lines = [
        line(ROOM, 8.0, -30),  # holds at the stay's start (00:00)
        line(ROOM, 12.0, 15),
        line(ROOM, 6.0, 45),
        line(ROOM, 50.0, 60),  # at the stay's end: excluded
        line(OTHER, 99.0, 10),  # another room
        line(ROOM, 77.0, 20, site="wh2"),  # same room URN at another site
    ]
    with httpx.Client(timeout=5) as client:
        client.post(f"{influxdb.url}/query", params={"q": f'CREATE DATABASE "{name}"'})
        response = client.post(
            f"{influxdb.url}/write",
            params={"db": name, "precision": "ns"},
            content="\n".join(lines),
        )
        assert response.status_code == 204, response.text
    return name


def stay() -> ColdStorageStay:
    return ColdStorageStay.model_validate(
        {
            "id": "stay-1",
            "site": "wh1",
            "location": ROOM,
            "country": "DE",
            "start": T0,
            "end": T0 + timedelta(hours=1),
            "share": {"basis": "pallet_positions", "part": 1, "room": 10},
            "max_gap_s": 3600,
        }
    )


def test_samples_hold_value_and_window(influxdb: InfluxDB, database: str) -> None:
    with InfluxColdRoomPower(influxdb.url, database) as influx:
        power: ColdRoomPower = influx
        samples = power.samples("wh1", ROOM, T0, T0 + timedelta(hours=1))
    assert [(s.time, s.kw) for s in samples] == [
        (T0 - timedelta(minutes=30), 8.0),
        (T0 + timedelta(minutes=15), 12.0),
        (T0 + timedelta(minutes=45), 6.0),
    ]


def test_kwh_over_a_stay_by_hand(influxdb: InfluxDB, database: str) -> None:
    # 8 kW × 15 min + 12 kW × 30 min + 6 kW × 15 min = 2 + 6 + 1.5 = 9.5 kWh
    with InfluxColdRoomPower(influxdb.url, database) as influx:
        reading = measure_stays([stay()], influx)["stay-1"]
    assert reading.kwh == pytest.approx(9.5)
    assert reading.coverage == pytest.approx(1.0)


def test_no_data_for_an_unknown_room(influxdb: InfluxDB, database: str) -> None:
    with InfluxColdRoomPower(influxdb.url, database) as influx:
        assert influx.samples("wh1", "urn:epc:id:sgln:4012345.09999.0", T0, T0 + timedelta(1)) == []


def test_a_quote_in_a_tag_cannot_break_the_query(influxdb: InfluxDB, database: str) -> None:
    with InfluxColdRoomPower(influxdb.url, database) as influx:
        assert influx.samples("wh1' OR 'a'='a", ROOM, T0, T0 + timedelta(hours=1)) == []


def test_unknown_database_is_unavailable_naming_it(influxdb: InfluxDB) -> None:
    with (
        InfluxColdRoomPower(influxdb.url, "nope_db") as influx,
        pytest.raises(EnergyUnavailable, match="nope_db"),
    ):
        influx.samples("wh1", ROOM, T0, T0 + timedelta(hours=1))


def test_unreachable_influx_is_unavailable() -> None:
    with (
        InfluxColdRoomPower("http://127.0.0.1:9", timeout=0.5) as influx,
        pytest.raises(EnergyUnavailable, match="did not answer"),
    ):
        influx.samples("wh1", ROOM, T0, T0 + timedelta(hours=1))
