"""Expiry status and near-expiry warnings (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from traceability.expiry import expiry_status, near_expiry
from traceability.records.entities import Lot

GTIN = "04012345111118"


def lot(name: str, expiry: date | None) -> Lot:
    return Lot(gtin=GTIN, lot=name, expiry=expiry)


@pytest.mark.parametrize(
    ("expiry", "state", "days"),
    [
        (date(2026, 12, 10), "ok", 9),
        (date(2026, 12, 8), "near_expiry", 7),  # the window includes its last day
        (date(2026, 12, 1), "near_expiry", 0),
        (date(2026, 11, 30), "expired", -1),
        (None, "no_expiry", None),
    ],
)
def test_states(expiry: date | None, state: str, days: int | None) -> None:
    status = expiry_status(lot("L", expiry), date(2026, 12, 1), near_days=7)
    assert (status.state, status.days_left) == (state, days)


def test_near_expiry_lists_flagged_lots_first_expiry_first() -> None:
    lots = [
        lot("late", date(2027, 1, 1)),
        lot("soon", date(2026, 12, 5)),
        lot("gone", date(2026, 11, 2)),
        lot("none", None),
    ]
    flagged = near_expiry(lots, date(2026, 12, 1), near_days=7)
    assert [s.lot for s in flagged] == ["gone", "soon"]
    assert flagged[1].warning == "lot soon expires in 4 day(s) (2026-12-05); mark it down (FEFO)"
    assert expiry_status(lot("x", date(2026, 12, 1)), date(2026, 12, 1)).warning == (
        "lot x expires today (2026-12-01); mark it down (FEFO)"
    )


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="near_days -1"):
        expiry_status(lot("L", None), date(2026, 12, 1), near_days=-1)
