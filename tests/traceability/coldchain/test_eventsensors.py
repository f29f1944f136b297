"""The records' sensor-only EPCIS events as a ``TemperatureSeries``: probes and buckets
over a real SQLite store, a lot's exposure in a room only sensor events report on
(minutes out of range exact), and the series joined with the gateway's probes in a
real InfluxDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.support.sensorevents import LOGGER, sensor_event
from traceability.capture import CaptureService
from traceability.coldchain.buckets import Bucket
from traceability.coldchain.eventsensors import CombinedSeries, EventSensorSeries, merge_buckets
from traceability.coldchain.exposure import DEFAULT_MAX_HOLD, ExposureService
from traceability.coldchain.status import exposure_event
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
UNTIL = T0 + timedelta(hours=2)
SECOND = "urn:epc:id:giai:4012345.78"
A, B = "epcis:" + LOGGER, "epcis:" + SECOND


def logger_a() -> list[tuple[datetime, float]]:
    """09:57 at 5 °C (it holds into the stay: 2 min out), then every 5 min from 10:02 at
    3 °C but 10:42 and 10:47 at 6 °C (10 min out): 12 min above the 0–4 °C band."""
    readings = [(T0 - timedelta(minutes=3), 5.0)]
    for m in range(2, 120, 5):
        readings.append((T0 + timedelta(minutes=m), 6.0 if m in (42, 47) else 3.0))
    return readings


@pytest.fixture
def room(stocked: RecordStore) -> RecordStore:
    """Lot L1 arrives in the cold room at 10:00; only sensor events report on the room."""
    capture = CaptureService(stocked)
    capture.capture(object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM))
    readings = logger_a()
    for start in range(0, len(readings), 6):  # one event per half hour, as a logger uploads
        capture.capture(sensor_event(COLD_ROOM, readings[start : start + 6]))
    # A second logger, in Fahrenheit: 35.6 °F = 2 °C every 10 min, in the band.
    second = [(T0 + timedelta(minutes=m), 35.6) for m in range(0, 120, 10)]
    capture.capture(sensor_event(COLD_ROOM, second, SECOND, uom="FAH"))
    # Readings that are not the room's: another place; an event naming the lot's unit.
    capture.capture(sensor_event(DOCK, [(T0 + timedelta(minutes=5), 30.0)]))
    capture.capture(
        sensor_event(COLD_ROOM, [(T0 + timedelta(minutes=6), 30.0)], "urn:epc:id:giai:4012345.9",
                     epcList=["urn:epc:id:sgtin:4012345.011111.9999"])
    )  # fmt: skip
    return stocked


def test_one_raw_probe_per_device_with_the_reading_that_holds_into_the_stay(
    room: RecordStore,
) -> None:
    series = EventSensorSeries(room)
    probes = series.probes(COLD_ROOM, T0, UNTIL, 0.0, 4.0, DEFAULT_MAX_HOLD)
    assert [p.device for p in probes] == [A, B]
    (run,) = probes[0].runs
    assert run.before == (int((T0 - timedelta(minutes=3)).timestamp()) * 10**9, 5.0)
    assert (len(run.readings), probes[0].quiet) == (24, ())
    assert [round(c, 9) for _, c in probes[1].runs[0].readings] == [2.0] * 12
    # Nothing at a place no event reports on; a reading older than max_hold holds nothing.
    assert series.probes("urn:epc:id:sgln:4012345.00009.0", T0, UNTIL, 0, 4, DEFAULT_MAX_HOLD) == []
    late = series.probes(COLD_ROOM, UNTIL + timedelta(minutes=20), UNTIL + timedelta(hours=1),
                         0, 4, DEFAULT_MAX_HOLD)  # fmt: skip
    assert late == []


def test_a_lot_in_a_room_only_sensor_events_report_on_gets_its_exposure(
    room: RecordStore,
) -> None:
    found = ExposureService(room, EventSensorSeries(room)).exposure(GTIN, "L1", until=UNTIL)
    assert found.minutes_out_of_range == pytest.approx(12.0, abs=1e-9)
    assert found.readings == 25 + 12
    assert found.min_c == pytest.approx(2.0)
    assert found.max_c == 6.0
    (stay,) = found.stay_probes
    assert stay.device == A  # the worst probe, named by its source
    assert [(e.device, e.start, e.end) for e in found.excursions] == [
        (A, T0, T0 + timedelta(minutes=2)),
        (A, T0 + timedelta(minutes=42), T0 + timedelta(minutes=52)),
    ]
    assert found.status == "compromised"  # no excursion budget on record
    assert found.unmonitored_min == 0.0


def test_the_hubs_own_exposure_event_is_never_read_back_as_a_reading(room: RecordStore) -> None:
    service = ExposureService(room, EventSensorSeries(room))
    before = service.exposure(GTIN, "L1", until=UNTIL)
    # The verdict as an EPCIS event names the lot's class and carries Temperature reports.
    CaptureService(room).capture(exposure_event(before, UNTIL, read_point=COLD_ROOM))
    assert service.exposure(GTIN, "L1", until=UNTIL) == before


def test_buckets_carry_every_reading_of_the_place(room: RecordStore) -> None:
    buckets = EventSensorSeries(room).buckets(COLD_ROOM, T0, UNTIL, 0.0, 4.0, timedelta(hours=1))
    assert [(b.start, b.count, b.out_of_range) for b in buckets] == [
        (T0, 12 + 6, 2),
        (T0 + timedelta(hours=1), 12 + 6, 0),
    ]
    assert buckets[0].first_out == T0 + timedelta(minutes=42)


def test_merge_buckets_joins_only_the_same_span() -> None:
    def bucket(start: datetime, width: timedelta, values: list[float]) -> Bucket:
        return Bucket(
            start=start,
            width=width,
            count=len(values),
            mean_c=sum(values) / len(values),
            min_c=min(values),
            max_c=max(values),
            out_of_range=sum(1 for v in values if v > 4),
            samples=tuple(values),
        )

    hour, day = timedelta(hours=1), timedelta(days=1)
    merged = merge_buckets(
        [bucket(T0, hour, [1.0, 3.0]), bucket(T0, hour, [8.0]), bucket(T0, day, [2.0])]
    )
    assert [(b.width, b.count, b.mean_c, b.min_c, b.max_c, b.out_of_range) for b in merged] == [
        (hour, 3, 4.0, 1.0, 8.0, 1),
        (day, 1, 2.0, 2.0, 2.0, 0),
    ]
    assert merged[0].samples == (1.0, 3.0, 8.0)


@pytest.fixture
def gateway(influxdb: InfluxDB) -> Iterator[InfluxTemperatureReader]:
    """Probe p at the cold room every 10 min, alternating 1 and 3 °C (in the band, but too
    spread for a quiet summary)."""
    database = "db_" + uuid.uuid4().hex[:10]
    lines = [
        f"temperature,location={COLD_ROOM},device=p celsius={1.0 if m % 20 else 3.0} "
        f"{int((T0 + timedelta(minutes=m)).timestamp()) * 10**9}"
        for m in range(0, 120, 10)
    ]
    with httpx.Client() as client:
        client.post(f"{influxdb.url}/query", params={"q": f"CREATE DATABASE {database}"})
        written = client.post(
            f"{influxdb.url}/write",
            params={"db": database},
            content="\n".join(lines).encode(),
        )
        assert written.status_code == 204
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        yield reader


@pytest.mark.integration
def test_the_combined_series_judges_gateway_and_event_probes_side_by_side(
    room: RecordStore, gateway: InfluxTemperatureReader
) -> None:
    series = CombinedSeries(gateway, EventSensorSeries(room))
    probes = series.probes(COLD_ROOM, T0, UNTIL, 0.0, 4.0, DEFAULT_MAX_HOLD)
    assert [p.device for p in probes] == ["p", A, B]
    found = ExposureService(room, series).exposure(GTIN, "L1", until=UNTIL)
    assert found.minutes_out_of_range == pytest.approx(12.0, abs=1e-9)  # logger A, the worst
    assert found.readings == 12 + 25 + 12
    assert found.min_c == pytest.approx(1.0)  # the gateway's, over every probe
    assert sorted(p.device or "" for p in found.stay_probes[0].probes) == [A, B, "p"]
    buckets = series.buckets(COLD_ROOM, T0, UNTIL, 0.0, 4.0, timedelta(hours=1))
    assert [(b.start, b.count) for b in buckets] == [
        (T0, 6 + 12 + 6),
        (T0 + timedelta(hours=1), 6 + 12 + 6),
    ]
    assert (buckets[0].min_c, buckets[0].max_c) == (1.0, 6.0)
    # What the lot page holds the sealed windows against is InfluxDB's.
    assert series.window_totals(["p"], T0, UNTIL, timedelta(hours=1)) == gateway.window_totals(
        ["p"], T0, UNTIL, timedelta(hours=1)
    )
    assert series.window_totals(["p"], T0, UNTIL, timedelta(hours=1))[("p", T0)] == (6, 12.0)
