"""Exact exposure on a real influxd: held intervals, hand-computed minutes and MKT.

Band 2–8 °C throughout. Each reading holds until its probe's next one, at most 15 min,
clipped to the stay; the arithmetic is written next to every expectation.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.traceability.coldchain.test_telemetry import point, write
from traceability.capture import CaptureService
from traceability.coldchain.exposure import Band, ExposureService, exposure_over
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BAND = Band(temp_min_c=2.0, temp_max_c=8.0, excursion_budget_min=30.0, mkt_limit_c=None)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ns(minutes: float) -> int:
    return int(at(minutes).timestamp() * 1_000_000) * 1000


def hand_mkt(weighted: Sequence[tuple[float, float]]) -> float:
    """USP <1079> with weights: (ΔH/R) / -ln(Σ w·e^(-ΔH/RT) / Σ w) − 273.15, ΔH 83.144."""
    ratio = 83.144 / 8.3144598e-3  # ΔH/R in kelvin
    total = sum(w for _, w in weighted)
    acc = sum(w * math.exp(-ratio / (c + 273.15)) for c, w in weighted)
    return ratio / -math.log(acc / total) - 273.15


@pytest.fixture
def database() -> str:
    return "x" + uuid.uuid4().hex[:12]


def test_irregular_sampling_and_a_gap_longer_than_max_hold(
    influxdb: InfluxDB, database: str
) -> None:
    readings = [(-2, 5.0), (5, 5.0), (7, 9.0), (20, 6.0), (21, 10.0), (50, 4.0)]
    write(influxdb.url, database, [point(COLD_ROOM, c, ns(m)) for m, c in readings])
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        found = exposure_over(GTIN, "L1", [(COLD_ROOM, at(0), at(60), BAND)], reader)
    # Stay 10:00–11:00. Held intervals, clipped to the stay:
    #   09:58 5.0 → 10:00–10:05 =  5 min (the reading before the stay holds into it)
    #   10:05 5.0 → 10:05–10:07 =  2
    #   10:07 9.0 → 10:07–10:20 = 13  out (above)
    #   10:20 6.0 → 10:20–10:21 =  1
    #   10:21 10.0 → 10:21–10:36 = 15 out (next reading 10:50: 29 min, held 15 at most)
    #   10:36–10:50 unmonitored = 14
    #   10:50 4.0 → 10:50–11:00 = 10 (would hold to 11:05, the stay ends at 11:00)
    # out = 13 + 15 = 28 (within the 30 min budget: at risk); 5+2+13+1+15+14+10 = 60.
    assert found.minutes_out_of_range == pytest.approx(28.0)
    assert found.unmonitored_min == pytest.approx(14.0)
    assert [(s.start, s.end, s.celsius, s.side) for s in found.out_spans] == [
        (at(7), at(20), 9.0, "above"),
        (at(21), at(36), 10.0, "above"),
    ]
    assert [(e.start, e.end, e.peak_c, e.minutes) for e in found.excursions] == [
        (at(7), at(20), 9.0, 13.0),
        (at(21), at(36), 10.0, 15.0),
    ]
    assert found.excursions[0].device == "probe-1"
    # MKT weights (minutes held): 5.0 × 7, 9.0 × 13, 6.0 × 1, 10.0 × 15, 4.0 × 10 ≈ 7.924 °C
    weights = [(5.0, 7), (9.0, 13), (6.0, 1), (10.0, 15), (4.0, 10)]
    assert found.mkt_c == pytest.approx(hand_mkt(weights), abs=1e-9)
    assert found.mkt_c == pytest.approx(7.924, abs=0.001)
    # Time-weighted mean: (35 + 117 + 6 + 150 + 40) / 46 = 348 / 46.
    assert found.mean_c == pytest.approx(348 / 46)
    assert found.readings == 6
    assert (found.min_c, found.max_c) == (4.0, 10.0)
    assert found.status == "at_risk"


def test_a_stay_edge_cuts_a_readings_interval_and_an_excursion_crosses_into_the_stay(
    influxdb: InfluxDB, database: str
) -> None:
    # The room reads every 10 min; it is warm 10:20–10:50. The lot is there 10:25–10:55.
    readings = [(0, 5.0), (10, 5.0), (20, 9.5), (30, 9.5), (40, 9.0), (50, 5.0), (60, 5.0)]
    write(influxdb.url, database, [point(COLD_ROOM, c, ns(m)) for m, c in readings])
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        found = exposure_over(GTIN, "L1", [(COLD_ROOM, at(25), at(55), BAND)], reader)
    # 10:20 9.5 → held 10:20–10:30, clipped to 10:25–10:30 = 5 min out (not the whole 10)
    # 10:30 9.5 → 10:30–10:40 = 10 out; 10:40 9.0 → 10:40–10:50 = 10 out
    # 10:50 5.0 → 10:50–11:00, clipped to 10:50–10:55 = 5 in.   out = 5 + 10 + 10 = 25
    assert found.minutes_out_of_range == pytest.approx(25.0)
    assert found.unmonitored_min == 0.0
    assert [(e.start, e.end, e.peak_c, e.minutes) for e in found.excursions] == [
        (at(25), at(50), 9.5, 25.0)
    ]
    # MKT weights: 9.5 × (5 + 10), 9.0 × 10, 5.0 × 5 ≈ 8.723 °C
    assert found.mkt_c == pytest.approx(hand_mkt([(9.5, 15), (9.0, 10), (5.0, 5)]), abs=1e-9)
    assert found.mkt_c == pytest.approx(8.723, abs=0.001)
    # Mean: (142.5 + 90 + 25) / 30.
    assert found.mean_c == pytest.approx(257.5 / 30)
    assert found.status == "at_risk"  # 25 min ≤ the 30 min budget, no MKT limit


def test_two_probes_in_one_room_are_judged_one_at_a_time(influxdb: InfluxDB, database: str) -> None:
    lines = []
    for minute in range(0, 60, 5):
        lines.append(point(COLD_ROOM, 5.0, ns(minute), device="probe-a"))
        warm = 9.0 if 10 <= minute < 30 else 5.0
        lines.append(point(COLD_ROOM, warm, ns(minute), device="probe-b"))
    write(influxdb.url, database, lines)
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        found = exposure_over(GTIN, "L1", [(COLD_ROOM, at(0), at(60), BAND)], reader)
    # probe-b reads 9.0 at 10:10, 10:15, 10:20, 10:25: 4 × 5 min = 20 min out. Averaged
    # with probe-a (5.0) the room would read 7.0, in band: 0 min. The worst probe counts.
    assert found.minutes_out_of_range == pytest.approx(20.0)
    assert {s.device for s in found.out_spans} == {"probe-b"}
    (stay,) = found.stay_probes
    assert stay.device == "probe-b"
    assert {p.device: p.minutes_out for p in stay.probes} == {"probe-a": 0.0, "probe-b": 20.0}
    # MKT of probe-b alone: 5.0 × 40 min, 9.0 × 20 min ≈ 6.557 °C; min/max over both.
    assert found.mkt_c == pytest.approx(hand_mkt([(5.0, 40), (9.0, 20)]), abs=1e-9)
    assert found.mkt_c == pytest.approx(6.557, abs=0.001)
    assert (found.min_c, found.max_c) == (5.0, 9.0)
    assert found.readings == 24  # 12 per probe


def test_quiet_stretches_keep_the_minutes_and_mkt_of_every_raw_reading(
    influxdb: InfluxDB, database: str
) -> None:
    """Three days of 1-min readings, quiet but for a 30-min warm spell and a 41-min gap:
    the adapter summarises the quiet days and still counts exactly what raw readings do.
    Minutes below are counted from T0 (10:00 on day 0)."""
    lines = []
    for minute in range(-60, 3 * 24 * 60):
        day2 = minute - 2 * 24 * 60
        if 18 * 60 <= day2 < 18 * 60 + 40:
            continue  # silent 17:59 → 18:40 (next day-2 reading at 18:40)
        celsius = 9.0 if 12 * 60 <= day2 < 12 * 60 + 30 else 4.0 + 0.1 * (minute % 3)
        lines.append(point(COLD_ROOM, celsius, ns(minute)))
    write(influxdb.url, database, lines)
    # From 16:17:30 on day 0 (the 16:17 reading holds 30 s into the stay) to 06:00 on
    # day 3: after the warm spell (day 2 22:00–22:30) and the gap (day 3 04:00–04:40).
    start, end = at(377.5), at(2 * 24 * 60 + 20 * 60)
    stays = [(COLD_ROOM, start, end, BAND)]
    with (
        InfluxTemperatureReader(influxdb.url, database) as reader,
        InfluxTemperatureReader(influxdb.url, database, levels=()) as all_raw,
    ):
        ours = exposure_over(GTIN, "L1", stays, reader)
        exact = exposure_over(GTIN, "L1", stays, all_raw)
        probes = reader.probes(COLD_ROOM, start, end, 2.0, 8.0, timedelta(minutes=15))
    assert probes[0].quiet  # quiet days did stay summarised
    # 30 warm readings held 1 min each; the gap: 17:59 holds to 18:14, 18:14–18:40 = 26.
    assert ours.minutes_out_of_range == pytest.approx(30.0)
    assert exact.minutes_out_of_range == pytest.approx(30.0)
    assert ours.unmonitored_min == pytest.approx(26.0)
    assert exact.unmonitored_min == pytest.approx(26.0)
    assert ours.out_spans == exact.out_spans
    assert ours.readings == exact.readings
    assert ours.mkt_c == pytest.approx(exact.mkt_c, abs=0.01)
    assert (ours.min_c, ours.max_c) == (exact.min_c, exact.max_c)


def test_a_shipped_lot_stops_accumulating_exposure_at_departure(
    influxdb: InfluxDB, database: str, stocked: RecordStore
) -> None:
    # Salmon (0–4 °C) arrives 10:00, ships at 11:00; the room warms to 12 °C from 11:00
    # and stays warm until 14:00, long after the lot left.
    lines = [point(COLD_ROOM, 3.0 if m < 60 else 12.0, ns(m)) for m in range(0, 240)]
    write(influxdb.url, database, lines)
    capture = CaptureService(stocked)
    capture.capture(object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM))
    capture.capture(
        object_event(time="2026-11-22T11:00:00Z", read_point=COLD_ROOM, bizStep="shipping")
    )
    timeline = CustodyService(stocked).lot_timeline(GTIN, "L1")
    assert timeline.current is None  # in transit
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        found = ExposureService(stocked, reader).exposure(GTIN, "L1", until=at(240))
    # The stay is 10:00–11:00; 60 readings of 3.0 °C held 1 min each: 0 min out, although
    # the room then read 12 °C for 180 min (the old open stay counted all of them).
    assert [(s.location, s.start, s.end) for s in found.stays] == [(COLD_ROOM, at(0), at(60))]
    assert found.minutes_out_of_range == 0.0
    assert found.readings == 60
    assert found.max_c == 3.0
    assert found.status == "ok"
    assert DOCK not in found.locations


def test_readings_without_a_device_tag_are_one_probe(influxdb: InfluxDB, database: str) -> None:
    lines = [f"temperature,site=s,location={COLD_ROOM} celsius=5.0 {ns(m)}" for m in range(240)]
    write(influxdb.url, database, lines)
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        (probe,) = reader.probes(COLD_ROOM, at(0), at(240), 2.0, 8.0, timedelta(minutes=15))
        found = exposure_over(GTIN, "L1", [(COLD_ROOM, at(0), at(240), BAND)], reader)
    # Four hours: the first and last read raw, the two between quiet (``"device" = ''``).
    assert probe.device is None
    assert [(q.start_ns, q.end_ns, q.count) for q in probe.quiet] == [
        (ns(60), ns(120), 60),
        (ns(120), ns(180), 60),
    ]
    assert found.readings == 240
    assert found.unmonitored_min == 0.0
    assert found.mkt_c == pytest.approx(5.0)
