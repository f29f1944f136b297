"""Grafana's InfluxQL expansion: macros, interval rounding, variable escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from grafana.errors import TemplateError
from grafana.macros import TimeRange, Variable, escape_regex, expand, interval_text, round_interval

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
HOUR = TimeRange(start=START, end=START + timedelta(hours=1))
START_MS = 1_795_341_600_000


def test_time_filter_is_milliseconds_inclusive() -> None:
    assert HOUR.start_ms == START_MS
    assert expand("WHERE $timeFilter", HOUR) == (
        f"WHERE time >= {START_MS}ms and time <= {START_MS + 3_600_000}ms"
    )
    assert expand("$__timeFilter", HOUR) == expand("$timeFilter", HOUR)


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [
        (1, 10),
        (3_600, 5_000),
        (60_000, 60_000),
        (100_000, 120_000),
        (600_000, 600_000),
        (4_000_000, 3_600_000),
        (10**12, 31_536_000_000),
    ],
)
def test_round_interval_matches_grafana(raw: int, rounded: int) -> None:
    assert round_interval(raw) == rounded


def test_interval_from_width_with_minimum() -> None:
    assert HOUR.interval_ms(max_data_points=6) == 600_000
    assert HOUR.interval_ms(max_data_points=1000) == 10_000  # 5 s rounded, raised to the 10 s floor
    assert expand("time($__interval) $__interval_ms", HOUR, interval_ms=60_000) == "time(1m) 60000"
    assert [interval_text(ms) for ms in (10_000, 60_000, 7_200_000, 86_400_000, 1_500)] == [
        "10s",
        "1m",
        "2h",
        "1d",
        "1500ms",
    ]


def test_multi_value_variable_is_escaped_and_ored_in_any_syntax() -> None:
    rooms = Variable(name="location", values=("urn:a.1", "urn:b/2"), multi=True, include_all=True)
    expected = r"/^(urn:a\.1|urn:b\/2)$/"
    for form in ("$location", "${location}", "[[location]]"):
        assert expand(f'"location" =~ /^{form}$/', HOUR, [rooms]) == f'"location" =~ {expected}'


def test_all_uses_the_custom_all_value_verbatim() -> None:
    site = Variable(
        name="site",
        values=("a", "b"),
        multi=True,
        include_all=True,
        all_value=".*",
        all_selected=True,
    )
    assert expand("=~ /^$site$/", HOUR, [site]) == "=~ /^.*$/"


def test_single_value_escaped_only_inside_a_regex() -> None:
    lot = Variable(name="lot", values=("L1.a",))
    assert expand("\"lot\" = '$lot'", HOUR, [lot]) == "\"lot\" = 'L1.a'"
    assert expand('"lot" =~ /^$lot$/', HOUR, [lot]) == r'"lot" =~ /^L1\.a$/'
    assert escape_regex("a+b(c)") == r"a\+b\(c\)"


def test_unknown_variable_names_itself() -> None:
    with pytest.raises(TemplateError, match=r"\$gtin"):
        expand("WHERE gtin = '$gtin'", HOUR)


def test_bad_ranges_and_variables_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="end"):
        TimeRange(start=START, end=START)
    with pytest.raises(ValidationError, match="timezone-aware"):
        TimeRange(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(ValidationError, match="multi=True"):
        Variable(name="site", values=("a", "b"))
    with pytest.raises(ValidationError, match="values must not be empty"):
        Variable(name="site", values=())
    with pytest.raises(ValidationError, match="variable name"):
        Variable(name="bad-name", values=("a",))
    with pytest.raises(TemplateError, match="max_data_points"):
        HOUR.interval_ms(max_data_points=0)
