"""Held intervals over raw runs and quiet stretches, pure (no InfluxDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traceability.coldchain.mkt import mean_kinetic_temperature
from traceability.coldchain.probes import ProbeSeries, Quiet, RawRun, points_series, probe_exposure

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
HOLD = timedelta(minutes=15)


def ns(minutes: float) -> int:
    return int((T0 + timedelta(minutes=minutes)).timestamp()) * 10**9


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_quiet_stretch_is_stitched_exactly_between_raw_runs() -> None:
    series = ProbeSeries(
        device="p",
        runs=(
            # 10:00–11:00 raw, 5.0 every 10 min; the next reading (the quiet hour's first)
            # is at 11:02.
            RawRun(
                start_ns=ns(0),
                end_ns=ns(60),
                next_ns=ns(62),
                readings=tuple((ns(m), 5.0) for m in range(0, 60, 10)),
            ),
            # 12:00–13:00 raw; the quiet hour's last reading was at 11:52.
            RawRun(
                start_ns=ns(120),
                end_ns=ns(180),
                before=(ns(112), 4.0),
                readings=((ns(125), 9.0), *((ns(m), 5.0) for m in range(135, 180, 10))),
            ),
        ),
        quiet=(Quiet(start_ns=ns(60), end_ns=ns(120), count=6, mean_c=4.0, min_c=3.9, max_c=4.1),),
    )
    found = probe_exposure("room", series, at(0), at(180), 2.0, 8.0, HOLD)
    # 10:00–10:50 five readings × 10 min; 10:50 holds to 11:02 (the quiet's first) = 12;
    # the quiet hour 11:02 → its last reading 11:52 + 15 min, cut by 12:05 = 63 min;
    # 12:05 9.0 → 12:15 = 10 out; 12:15–12:55 4 × 10; 12:55 → 13:00 (stay end) = 5.
    assert found.minutes_out == pytest.approx(10.0)
    assert [(s.start, s.end) for s in found.out_spans] == [(at(125), at(135))]
    assert found.unmonitored_min == pytest.approx(0.0)  # 50 + 12 + 63 + 10 + 40 + 5 = 180
    weights = [(5.0, 50 + 12 + 40 + 5), (4.0, 63), (9.0, 10)]
    assert found.mkt_c == pytest.approx(mean_kinetic_temperature(weights))
    assert found.readings == 6 + 6 + 6
    assert (found.min_c, found.max_c) == (3.9, 9.0)


def test_a_thin_quiet_stretch_holds_at_most_count_times_max_hold() -> None:
    series = ProbeSeries(
        device=None,
        runs=(
            RawRun(start_ns=ns(0), end_ns=ns(60), next_ns=ns(60), readings=((ns(50), 5.0),)),
            RawRun(start_ns=ns(120), end_ns=ns(180), before=(ns(119), 5.0), readings=()),
        ),
        quiet=(Quiet(start_ns=ns(60), end_ns=ns(120), count=2, mean_c=5.0, min_c=5.0, max_c=5.0),),
    )
    found = probe_exposure("room", series, at(50), at(180), 2.0, 8.0, HOLD)
    # 10:50 → 11:00 (the quiet hour's first reading) = 10; the quiet hour's readings
    # would hold 11:00 → 11:59 + 15 min = 74 min, but 2 readings hold at most 2 × 15 = 30:
    # of the 130-min stay, 130 − 10 − 30 = 90 are unmonitored.
    assert found.unmonitored_min == pytest.approx(90.0)


def test_points_series_keeps_the_reading_before_the_stay_within_max_hold() -> None:
    points = [("a", ns(-20), 1.0), ("a", ns(-10), 9.5), ("a", ns(5), 5.0), ("b", ns(-16), 9.0)]
    found = points_series(points, at(0), at(30), HOLD)
    assert [(s.device, s.runs[0].before) for s in found] == [("a", (ns(-10), 9.5))]
    exposure = probe_exposure("room", found[0], at(0), at(30), 2.0, 8.0, HOLD)
    # 09:50 9.5 holds to 10:05 (the next reading), 5 min of it inside the stay: out.
    assert exposure.minutes_out == pytest.approx(5.0)
    # 10:05 5.0 holds 15 min to 10:20; 10:20–10:30 unmonitored.
    assert exposure.unmonitored_min == pytest.approx(10.0)
