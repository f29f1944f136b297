"""The retention rule: a raw retention shorter than the compliance minimum or than the age
of the oldest sealed window inside its period is refused, naming all three. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from traceability.retention import RetentionRule, SealedWindow, oldest_sealed, refusal

NOW = datetime(2027, 6, 1, tzinfo=UTC)
FIVE_YEARS = timedelta(days=1827)


def seal(device: str, start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "format": "tracehub.telemetry-window/1",
        "device": device,
        "window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window_end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def test_the_oldest_seal_inside_the_period_is_found() -> None:
    records = [
        seal("p2", NOW - timedelta(days=40)),
        seal("p1", NOW - timedelta(days=400)),
        seal("p0", NOW - timedelta(days=2000)),  # its period ended: may go
        {"format": "other/1", "device": "x", "window_start": "2020-01-01T00:00:00Z"},
        seal("p9", NOW)["device"],  # not a record at all
        {**seal("p8", NOW), "window_start": "yesterday"},
        {**seal("p7", NOW), "window_start": "2026-01-01T00:00:00"},  # no zone: not ours
    ]
    found = oldest_sealed(records, NOW, FIVE_YEARS)
    assert found == SealedWindow(device="p1", start=NOW - timedelta(days=400))
    assert oldest_sealed([], NOW, FIVE_YEARS) is None


def test_at_least_the_compliance_minimum_or_forever_is_kept() -> None:
    window = SealedWindow(device="p1", start=NOW - timedelta(days=400))
    assert refusal(RetentionRule(raw=FIVE_YEARS, compliance=FIVE_YEARS), window, NOW) is None
    assert refusal(RetentionRule(raw=None, compliance=FIVE_YEARS), window, NOW) is None
    assert (
        refusal(RetentionRule(raw=timedelta(days=3000), compliance=FIVE_YEARS), None, NOW) is None
    )


def test_shorter_than_the_minimum_is_refused_naming_the_setting_and_minimum() -> None:
    why = refusal(RetentionRule(raw=timedelta(days=1000), compliance=FIVE_YEARS), None, NOW)
    assert why is not None
    assert why.startswith("TRACEHUB_RETENTION_RAW_DAYS=1000 would let InfluxDB delete")
    assert "compliance minimum of 1827 days (TRACEHUB_RETENTION_COMPLIANCE_DAYS" in why
    assert "no telemetry window is sealed yet" in why
    assert why.endswith("Set TRACEHUB_RETENTION_RAW_DAYS to at least 1827 (or 0: keep forever)")


def test_shorter_than_the_oldest_sealed_window_says_its_readings_go_now() -> None:
    window = SealedWindow(device="probe-7", start=datetime(2026, 4, 27, tzinfo=UTC))
    why = refusal(RetentionRule(raw=timedelta(days=365), compliance=FIVE_YEARS), window, NOW)
    assert why is not None
    assert "probe-7 from 2026-04-27T00:00:00Z (400 days old)" in why
    assert "its readings would be deleted now" in why
    # younger than the retention: refused for the minimum, but nothing goes now
    young = SealedWindow(device="probe-7", start=NOW - timedelta(days=30))
    why = refusal(RetentionRule(raw=timedelta(days=365), compliance=FIVE_YEARS), young, NOW)
    assert why is not None
    assert "probe-7" in why
    assert "would be deleted now" not in why


@pytest.mark.parametrize("days", [1, 364, 1826])
def test_every_retention_under_the_minimum_is_refused(days: int) -> None:
    rule = RetentionRule(raw=timedelta(days=days), compliance=FIVE_YEARS)
    assert refusal(rule, None, NOW) is not None


def test_a_window_outside_its_period_does_not_raise_the_minimum() -> None:
    rule = RetentionRule(raw=timedelta(days=365), compliance=timedelta(days=365))
    old = SealedWindow(device="p", start=NOW - timedelta(days=500))
    assert refusal(rule, old, NOW) is None
