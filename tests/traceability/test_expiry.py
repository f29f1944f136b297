"""Expiry status and near-expiry warnings (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from traceability.expiry import expiry_status, near_expiry, shelf_life_warning
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


def made(name: str, produced: date | None, expiry: date | None = None) -> Lot:
    return Lot(gtin=GTIN, lot=name, production_date=produced, expiry=expiry)


def test_a_lot_without_expiry_is_dated_by_its_shelf_life() -> None:
    status = expiry_status(made("L", date(2026, 11, 1)), date(2026, 12, 1), 7, 33)
    assert (status.expiry, status.days_left, status.state, status.derived) == (
        date(2026, 12, 4), 3, "near_expiry", True,
    )  # fmt: skip
    assert status.warning == (
        "lot L expires by its shelf life in 3 day(s) (2026-12-04); mark it down (FEFO)"
    )
    # A recorded expiry wins; no production date or no shelf life: nothing to derive.
    recorded = expiry_status(
        made("L", date(2026, 11, 1), date(2027, 1, 1)), date(2026, 12, 1), 7, 33
    )
    assert (recorded.expiry, recorded.derived) == (date(2027, 1, 1), False)
    assert expiry_status(made("L", None), date(2026, 12, 1), 7, 33).state == "no_expiry"
    assert expiry_status(made("L", date(2026, 11, 1)), date(2026, 12, 1), 7).state == "no_expiry"
    flagged = near_expiry(
        [made("old", date(2026, 1, 1)), made("new", date(2026, 11, 30))],
        date(2026, 12, 1), 7, {GTIN: 300},
    )  # fmt: skip
    assert [(s.lot, s.state, s.expiry) for s in flagged] == [("old", "expired", date(2026, 10, 28))]


def test_an_expiry_beyond_the_shelf_life_is_named() -> None:
    produced = date(2026, 11, 1)
    assert shelf_life_warning(made("L9", produced, date(2027, 11, 1)), 365) is None  # the last day
    assert shelf_life_warning(made("L9", produced, date(2027, 11, 2)), 365) == (
        f"lot L9 of {GTIN}: expiry 2027-11-02 is later than production date 2026-11-01 + "
        "shelf life 365 day(s) (2027-11-01); check the expiry"
    )
    assert shelf_life_warning(made("L9", produced, date(2030, 1, 1)), None) is None
    assert shelf_life_warning(made("L9", None, date(2030, 1, 1)), 365) is None
