"""Exposure: judging, and the whole join against a real influxd, compared with
the naive computation over raw points; lot_status/lot_location written and read back."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gs1.epcis.event import parse_event
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from traceability.capture import CaptureService
from traceability.coldchain.buckets import Bucket
from traceability.coldchain.exposure import Band, ExposureService, exposure_over, judge
from traceability.coldchain.mkt import mean_kinetic_temperature
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.coldchain.status import InfluxLotStatusWriter, exposure_event
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.stability import BudgetStep
from traceability.records.store import Product, RecordStore
from tracehub.services import InfluxDB

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mkt", "minutes", "status"),
    [
        (4.0, 0, "ok"),
        (4.6, 0, "at_risk"),
        (4.0, 10, "at_risk"),
        (4.0, 31, "compromised"),
        (5.5, 0, "compromised"),
    ],
)
def test_judge(mkt: float, minutes: float, status: str) -> None:
    product = Product(
        gtin=GTIN, name="x", temp_min_c=2, temp_max_c=8, excursion_budget_min=30, mkt_limit_c=5
    )
    assert judge(product, mkt, minutes)[0] == status


def _temperature(minute: int) -> float:
    # Dock: 6 °C, with a warm spell 60..80 min of 12 °C; cold room: 4 °C ± 0.5 sine.
    if minute < 120:
        return 12.0 if 60 <= minute < 80 else 6.0
    return 4.0 + 0.5 * math.sin(minute / 7)


@pytest.fixture
def loaded(influxdb: InfluxDB) -> str:
    database = "exposure_test"
    with httpx.Client() as client:
        client.post(f"{influxdb.url}/query", params={"q": f"CREATE DATABASE {database}"})
        lines = []
        for minute in range(0, 6 * 60):
            location = DOCK if minute < 120 else COLD_ROOM
            ns = int((T0 + timedelta(minutes=minute)).timestamp()) * 10**9
            loc = location.replace(":", ":")
            lines.append(
                f"temperature,site=s,location={loc},device=p celsius={_temperature(minute)} {ns}"
            )
            # A reading elsewhere that must not count.
            lines.append(f"temperature,site=s,location=urn:x,device=q celsius=30 {ns}")
        response = client.post(
            f"{influxdb.url}/write",
            params={"db": database, "precision": "ns"},
            content="\n".join(lines).encode(),
        )
        assert response.status_code == 204
    return database


@pytest.mark.integration
def test_exposure_against_influxdb_matches_naive(
    influxdb: InfluxDB, loaded: str, stocked: RecordStore
) -> None:
    stocked.add_product(
        "04012345222227", "Vaccine", 2.0, 8.0, excursion_budget_min=30, mkt_limit_c=8.0
    )
    capture = CaptureService(stocked)
    capture.capture(object_event(time="2026-11-20T00:00:00Z", read_point=DOCK))
    capture.capture(object_event(time="2026-11-20T02:00:00Z", read_point=COLD_ROOM))
    until = T0 + timedelta(hours=6)
    with InfluxTemperatureReader(influxdb.url, loaded) as reader:
        service = ExposureService(stocked, reader)
        exposure = service.exposure(GTIN, "L1", until=until)
        # Naive: every raw point into Python.
        raw = [
            p.celsius
            for location, start, end in (
                (DOCK, T0, T0 + timedelta(hours=2)),
                (COLD_ROOM, T0 + timedelta(hours=2), until),
            )
            for p in reader.points(location, start, end)
        ]
    assert exposure.readings == len(raw) == 360
    assert exposure.min_c == pytest.approx(min(raw))
    assert exposure.max_c == pytest.approx(12.0)
    assert exposure.mean_c == pytest.approx(sum(raw) / len(raw))
    assert exposure.mkt_c == pytest.approx(mean_kinetic_temperature([(c, 1) for c in raw]))
    # Salmon L1 is 0–4 °C: the whole dock stay (120 min) is out of range.
    assert exposure.minutes_out_of_range == pytest.approx(
        120 + sum(1 for m in range(120, 360) if _temperature(m) > 4.0)
    )
    assert exposure.status == "compromised"
    assert exposure.excursions[0].location == DOCK
    assert exposure.excursions[0].peak_c == pytest.approx(12.0)
    assert set(exposure.locations) == {DOCK, COLD_ROOM}
    event = exposure_event(exposure, until, read_point=COLD_ROOM)
    parsed = parse_event(event)
    assert parsed.disposition_short == "non_conformant"
    assert any(
        r.get("exception") == "ALARM_CONDITION"
        for r in event["sensorElementList"][0]["sensorReport"]
    )

    writer = InfluxLotStatusWriter(influxdb.url, loaded)
    try:
        writer.write_status(exposure, until)
        writer.write_locations(GTIN, "L1", CustodyService(stocked).lot_timeline(GTIN, "L1"))
    finally:
        writer.close()
    with httpx.Client() as client:
        body = client.get(
            f"{influxdb.url}/query",
            params={"db": loaded, "q": 'SELECT "status", "mkt_c" FROM "lot_status"'},
        ).json()
        assert body["results"][0]["series"][0]["values"][0][1] == "compromised"
        body = client.get(
            f"{influxdb.url}/query",
            params={
                "db": loaded,
                "q": 'SELECT sum("present") FROM "lot_location" GROUP BY "location"',
            },
        ).json()
        sums = {s["tags"]["location"]: s["values"][0][1] for s in body["results"][0]["series"]}
        assert sums == {DOCK: 1, COLD_ROOM: 1}


@pytest.mark.integration
def test_ten_minute_buckets_keep_mkt_and_minutes_of_the_raw_readings(
    influxdb: InfluxDB, loaded: str, stocked: RecordStore
) -> None:
    """The benchmark's setting (coarse levels, stays fetched concurrently) against every
    reading fetched raw and the naive computation: MKT within 0.01 °C, the same minutes."""
    stocked.add_product(
        "04012345222227", "Vaccine", 2.0, 8.0, excursion_budget_min=30, mkt_limit_c=8.0
    )
    capture = CaptureService(stocked)
    capture.capture(object_event(time="2026-11-20T00:00:00Z", read_point=DOCK))
    capture.capture(object_event(time="2026-11-20T02:00:00Z", read_point=COLD_ROOM))
    until = T0 + timedelta(hours=6)
    with (
        InfluxTemperatureReader(influxdb.url, loaded) as reader,
        InfluxTemperatureReader(influxdb.url, loaded, levels=()) as all_raw,
    ):
        fine = ExposureService(stocked, all_raw, workers=1)
        coarse = ExposureService(stocked, reader, workers=4)
        exact = fine.exposure(GTIN, "L1", until=until)
        ours = coarse.exposure(GTIN, "L1", until=until)
        raw = [
            p.celsius
            for location, start, end in (
                (DOCK, T0, T0 + timedelta(hours=2)),
                (COLD_ROOM, T0 + timedelta(hours=2), until),
            )
            for p in reader.points(location, start, end)
        ]
    assert ours.readings == exact.readings == len(raw)
    assert ours.mkt_c == pytest.approx(mean_kinetic_temperature([(c, 1) for c in raw]), abs=0.01)
    assert ours.minutes_out_of_range == pytest.approx(exact.minutes_out_of_range)
    assert (ours.min_c, ours.max_c) == (exact.min_c, exact.max_c)
    assert ours.status == exact.status == "compromised"
    assert [e.location for e in ours.excursions] == [e.location for e in exact.excursions]


@pytest.mark.integration
def test_an_excursion_is_dated_by_its_readings_not_by_the_bucket_grid(
    influxdb: InfluxDB, stocked: RecordStore
) -> None:
    """Salmon (0–4 °C) arrives at 10:05; 10:23–10:27 it warms to 6 °C. The excursion runs
    from the first to the last warm reading — not from the 10-minute bucket around them,
    and never from before the lot arrived."""
    database = "excursion_dating"
    t1 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    lines = []
    for minute in range(60):
        celsius = 6.0 if 23 <= minute <= 27 else 2.0
        if minute == 2:
            celsius = 9.0  # warm, but before the lot arrived: not its excursion
        ns = int((t1 + timedelta(minutes=minute)).timestamp()) * 10**9
        lines.append(f"temperature,site=s,location={DOCK},device=p celsius={celsius} {ns}")
    with httpx.Client() as client:
        client.post(f"{influxdb.url}/query", params={"q": f"CREATE DATABASE {database}"})
        client.post(
            f"{influxdb.url}/write", params={"db": database}, content="\n".join(lines)
        ).raise_for_status()
    CaptureService(stocked).capture(object_event(time="2026-11-21T10:05:00Z", read_point=DOCK))
    with InfluxTemperatureReader(influxdb.url, database) as reader:
        exposure = ExposureService(stocked, reader).exposure(
            GTIN, "L1", until=t1 + timedelta(hours=1)
        )
    assert len(exposure.excursions) == 1
    excursion = exposure.excursions[0]
    assert excursion.start == t1 + timedelta(minutes=23)
    # The 10:27 reading holds until the 10:28 one.
    assert excursion.end == t1 + timedelta(minutes=28)
    assert excursion.peak_c == pytest.approx(6.0)
    assert exposure.minutes_out_of_range == pytest.approx(5)


class _Probes:
    """An in-memory ``TemperatureSeries``: ``(device, minute, celsius)`` readings at one place."""

    def __init__(self, readings: list[tuple[str, int, float]]) -> None:
        self._points = [
            (device, int((T0 + timedelta(minutes=m)).timestamp()) * 10**9, c)
            for device, m, c in readings
        ]

    def probes(
        self,
        location: str,
        start: datetime,
        end: datetime,
        low: float | None,
        high: float | None,
        max_hold: timedelta,
    ) -> list[ProbeSeries]:
        return points_series(self._points, start, end, max_hold)

    def buckets(self, *_: object) -> list[Bucket]:
        return []


def _two_probes(a: float, a_span: range, b: float, b_span: range) -> _Probes:
    return _Probes(
        [
            reading
            for m in range(60)
            for reading in (
                ("A", m, a if m in a_span else 5.0),
                ("B", m, b if m in b_span else 5.0),
            )
        ]
    )


def _stay(band: Band) -> list[tuple[str, datetime, datetime, Band]]:
    return [(COLD_ROOM, T0, T0 + timedelta(minutes=60), band)]


STEPS_25 = Band(
    temp_min_c=2, temp_max_c=8, excursion_budget_min=None, mkt_limit_c=None,
    stability_budget=(BudgetStep(side="above", limit_c=25, minutes=60),),
)  # fmt: skip


def test_the_stays_probe_is_the_one_that_spends_the_budget_worst_not_the_longest() -> None:
    # A: 20 min at 9 °C (the ≤ 25 °C step: 20 of 60 used); B: 15 min at 31 °C, beyond
    # every step. B alone compromises the lot, so B is the stay's probe.
    series = _two_probes(9.0, range(10, 30), 31.0, range(10, 25))
    found = exposure_over(GTIN, "L1", _stay(STEPS_25), series)
    assert found.stay_probes[0].device == "B"
    assert found.status == "compromised"
    assert found.minutes_out_of_range == pytest.approx(15)
    assert found.budget is not None
    assert found.budget.beyond_min == pytest.approx(15)


def test_the_least_budget_left_outranks_more_minutes_out() -> None:
    # Steps ≤ 25 °C: 60 min, ≤ 30 °C: 10 min. A: 30 min at 9 °C (half of the 60 left);
    # B: 8 min at 28 °C (2 of the 10 left): B is the worse, though shorter.
    band = STEPS_25.model_copy(
        update={
            "stability_budget": (
                BudgetStep(side="above", limit_c=25, minutes=60),
                BudgetStep(side="above", limit_c=30, minutes=10),
            )
        }
    )
    series = _two_probes(9.0, range(10, 40), 28.0, range(10, 18))
    found = exposure_over(GTIN, "L1", _stay(band), series)
    assert found.stay_probes[0].device == "B"
    assert found.status == "at_risk"
    assert found.minutes_out_of_range == pytest.approx(8)


def test_without_a_budget_the_most_minutes_out_is_the_stays_probe() -> None:
    band = STEPS_25.model_copy(update={"stability_budget": None})
    series = _two_probes(9.0, range(10, 30), 31.0, range(10, 25))
    found = exposure_over(GTIN, "L1", _stay(band), series)
    assert found.stay_probes[0].device == "A"
    assert found.minutes_out_of_range == pytest.approx(20)
