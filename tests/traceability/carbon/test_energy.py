"""Step-hold integration of a compressor power series, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traceability.carbon.energy import PowerSample, integrate_kwh

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def at(minutes: float, kw: float) -> PowerSample:
    return PowerSample(time=T0 + timedelta(minutes=minutes), kw=kw)


def test_constant_power_for_a_day() -> None:
    samples = [at(m, 10.0) for m in range(0, 24 * 60, 10)]
    reading = integrate_kwh(samples, T0, T0 + timedelta(days=1))
    assert reading.kwh == pytest.approx(240.0)  # 10 kW × 24 h
    assert reading.coverage == pytest.approx(1.0)


def test_value_before_the_window_holds_into_it() -> None:
    # 10 kW from -5 min, 20 kW from 30 min; window [10, 60) min:
    # 10 kW × 20 min + 20 kW × 30 min = 3.3333 + 10 = 13.3333 kWh
    reading = integrate_kwh(
        [at(-5, 10.0), at(30, 20.0)],
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=60),
        max_gap=timedelta(hours=1),
    )
    assert reading.kwh == pytest.approx(10 * 20 / 60 + 20 * 30 / 60)
    assert reading.coverage == pytest.approx(1.0)


def test_step_not_trapezoid() -> None:
    # 0 kW then 60 kW after 30 min: step-hold gives 0 × 0.5 h + 60 × 0.5 h = 30 kWh,
    # a trapezoid between the points would give 15 + 30 = 45 kWh.
    reading = integrate_kwh(
        [at(0, 0.0), at(30, 60.0)], T0, T0 + timedelta(hours=1), max_gap=timedelta(hours=1)
    )
    assert reading.kwh == pytest.approx(30.0)


def test_gaps_longer_than_max_gap_are_uncovered_not_zero_filled() -> None:
    # 10 kW at 0 holds 15 min (2.5 kWh), 5 kW at 60 holds 15 min (1.25 kWh);
    # covered 30 of 90 minutes.
    reading = integrate_kwh(
        [at(0, 10.0), at(60, 5.0)], T0, T0 + timedelta(minutes=90), timedelta(minutes=15)
    )
    assert reading.kwh == pytest.approx(3.75)
    assert reading.coverage == pytest.approx(30 / 90)


def test_no_samples_covers_nothing() -> None:
    reading = integrate_kwh([], T0, T0 + timedelta(hours=1))
    assert (reading.kwh, reading.coverage, reading.samples) == (0.0, 0.0, 0)


def test_samples_after_the_window_are_ignored_and_order_does_not_matter() -> None:
    reading = integrate_kwh(
        [at(120, 99.0), at(30, 4.0), at(0, 2.0)],
        T0,
        T0 + timedelta(hours=1),
        timedelta(hours=1),
    )
    assert reading.kwh == pytest.approx(2 * 0.5 + 4 * 0.5)
    assert reading.samples == 2


def test_negative_power_is_rejected() -> None:
    with pytest.raises(ValueError, match="kw"):
        at(0, -1.0)
