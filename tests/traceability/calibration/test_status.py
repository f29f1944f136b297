"""A probe's calibration status from its history: the newest record calibrated on or
before t is valid; calibrated before its due date, overdue on and after it, unknown
before any; a stay is flagged from the first moment its probe was out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from traceability.calibration.record import Calibration
from traceability.calibration.status import (
    describe,
    due_within,
    status_at,
    stay_calibration,
    valid_at,
)

P = "wh1/temperature/probe-7"


def cal(on: date, due: date, number: str, probe: str = P) -> Calibration:
    return Calibration(
        probe=probe, calibrated_on=on, due_on=due, lab="Lab Nord",
        certificate_number=number, uncertainty_c=0.15,
    )  # fmt: skip


FIRST = cal(date(2025, 1, 10), date(2026, 1, 10), "C-1")
SECOND = cal(date(2026, 2, 1), date(2027, 2, 1), "C-2")


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def test_the_newest_record_on_or_before_t_is_valid() -> None:
    assert valid_at([SECOND, FIRST], at(2025, 1, 9, 23)) is None
    assert valid_at([SECOND, FIRST], at(2025, 1, 10)) == FIRST
    assert valid_at([SECOND, FIRST], at(2026, 1, 20)) == FIRST
    assert valid_at([FIRST, SECOND], at(2026, 2, 1)) == SECOND


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (at(2024, 12, 1), "unknown"),
        (at(2025, 6, 1), "calibrated"),
        (at(2026, 1, 9, 23), "calibrated"),
        (at(2026, 1, 10), "overdue"),  # due date itself: overdue
        (at(2026, 1, 31, 23), "overdue"),
        (at(2026, 2, 1), "calibrated"),  # recalibrated
    ],
)
def test_status_at(moment: datetime, status: str) -> None:
    found = status_at(P, [FIRST, SECOND], moment)
    assert found.status == status
    assert (found.since == FIRST.due_at) is (status == "overdue")


def test_another_probes_records_do_not_count() -> None:
    other = cal(date(2025, 1, 1), date(2030, 1, 1), "X", probe="wh1/temperature/probe-8")
    assert status_at(P, [other], at(2025, 6, 1)).status == "unknown"


def test_a_stay_inside_a_valid_period_is_calibrated() -> None:
    found = stay_calibration(P, [FIRST], at(2025, 3, 1), at(2025, 3, 5))
    assert (found.status, found.out, found.out_since) == ("calibrated", False, None)
    assert found.certificate_number == "C-1"


def test_a_stay_across_the_due_date_is_out_from_the_due_date() -> None:
    found = stay_calibration(P, [FIRST, SECOND], at(2026, 1, 8), at(2026, 1, 12))
    assert (found.status, found.out_since) == ("overdue", at(2026, 1, 10))
    assert found.due_on == "2026-01-10"
    assert describe(found) == f"probe {P} out of calibration since 2026-01-10"


def test_a_stay_begun_overdue_says_since_the_due_date() -> None:
    found = stay_calibration(P, [FIRST], at(2026, 1, 20), at(2026, 1, 21))
    assert (found.status, found.out_since) == ("overdue", at(2026, 1, 10))


def test_a_stay_before_any_calibration_is_unknown() -> None:
    found = stay_calibration(P, [FIRST], at(2024, 12, 30), at(2025, 1, 12))
    assert (found.status, found.out_since) == ("unknown", at(2024, 12, 30))
    assert "no calibration on record" in describe(found)


def test_due_within_takes_each_probes_newest_record() -> None:
    other = cal(date(2025, 3, 1), date(2026, 3, 1), "Y", probe="p8")
    now = at(2026, 2, 10)
    # FIRST is overdue but superseded by SECOND (due 2027): only p8 is due within 30 days.
    assert due_within([FIRST, SECOND, other], now, timedelta(days=30)) == [other]
    assert due_within([FIRST, other], now, timedelta(days=30)) == [FIRST, other]
    assert due_within([other], now, timedelta(days=10)) == []


def test_a_due_date_must_follow_the_calibration() -> None:
    with pytest.raises(ValidationError, match="due_on: must be after calibrated_on"):
        cal(date(2026, 1, 1), date(2026, 1, 1), "C")
    with pytest.raises(ValidationError, match="certificate_sha256"):
        Calibration.model_validate({**FIRST.model_dump(), "certificate_sha256": "abc"})
