"""The temperatures the hub judges lots by: the gateway's probes and the rooms' sensor-only
EPCIS events, or the events alone without InfluxDB; and a running hub's lot API giving an
exposure for a room only sensor events report on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.hubs import hub_settings
from tests.support.sensorevents import LOGGER, sensor_event, stamp
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.coldchain.eventsensors import CombinedSeries, EventSensorSeries
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import WebSettings
from tracehub.temperatures import lot_exposure, lot_series

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


def test_without_influxdb_the_sensor_events_alone_judge_the_lot(stocked: RecordStore) -> None:
    capture = CaptureService(stocked)
    capture.capture(object_event(time=stamp(T0), read_point=COLD_ROOM))
    readings = [(T0 + timedelta(minutes=m), 5.0 if m == 30 else 3.0) for m in range(0, 60, 10)]
    capture.capture(sensor_event(COLD_ROOM, readings))
    assert isinstance(lot_series(stocked, None), EventSensorSeries)
    found = lot_exposure(stocked, None).exposure(GTIN, "L1", until=T0 + timedelta(hours=1))
    assert (found.readings, found.minutes_out_of_range) == (6, 10.0)
    assert found.excursions[0].device == "epcis:" + LOGGER


def test_with_influxdb_both_sources_serve(stocked: RecordStore) -> None:
    with InfluxTemperatureReader("http://127.0.0.1:9") as reader:  # never asked here
        assert isinstance(lot_series(stocked, reader), CombinedSeries)


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Hub]:
    settings = hub_settings(
        tmp_path / "state", "sensors", mosquitto, influxdb, WebSettings(port=0, public_read=True)
    )
    with Hub(settings) as running:
        demo.seed(running.master)
        yield running


@pytest.mark.integration
def test_the_hubs_lot_api_judges_a_room_only_sensor_events_report_on(hub: Hub) -> None:
    room = "urn:epc:id:sgln:4012345.00001.cold9"  # no gateway probe there
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    capture = CaptureService(hub.store, ledger=EventLeaves(hub.ledger, hub.signer))
    capture.capture(
        {**object_event(time=stamp(start), read_point=room), "epcList": [demo.unit_urn(1001)]}
    )
    warm = [(start + timedelta(minutes=m), 9.0 if m < 20 else 5.0) for m in range(0, 50, 10)]
    capture.capture(sensor_event(room, warm))
    found = httpx.get(f"{hub.web.url}/lots/{demo.GTIN}/{demo.LOT}/exposure", timeout=30).json()
    assert found["readings"] == 5
    assert found["max_c"] == 9.0
    assert found["minutes_out_of_range"] == pytest.approx(20.0)  # 2–8 °C: 20 min at 9 °C
    assert {p["device"] for s in found["stay_probes"] for p in s["probes"]} == {"epcis:" + LOGGER}
