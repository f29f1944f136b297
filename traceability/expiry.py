"""Expiry: first-expiry-first-out order and near-expiry warnings.

The seeds mark near-expiry lots down for sale; the warning window (days before expiry)
is theirs to choose (``TRACEHUB_RECORDS_NEAR_EXPIRY_DAYS``, default 7). Pure: the caller
passes today's date, so a page rendered at midnight and a test agree.

The product's ``shelf_life_days`` stands in for a missing expiry: a lot with a
production date but no recorded expiry is shown with ``production_date + shelf life``
(``derived``), never stored as one. A recorded expiry later than that is suspect (a
typo, or a date the product's stability data do not back): ``shelf_life_warning``
names the lot, and imports report it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from traceability.records.entities import Lot

DEFAULT_NEAR_EXPIRY_DAYS = 7
ExpiryState = Literal["expired", "near_expiry", "ok", "no_expiry"]


class ExpiryStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    expiry: date | None
    days_left: int | None  # negative once expired
    state: ExpiryState
    derived: bool = False  # expiry = production date + the product's shelf life

    @property
    def warning(self) -> str | None:
        """A sentence for a page or a report, or None when nothing needs saying."""
        basis = " by its shelf life" if self.derived else ""
        if self.state == "expired":
            return f"lot {self.lot} expired{basis} on {self.expiry}; do not sell"
        if self.state == "near_expiry":
            days = "today" if self.days_left == 0 else f"in {self.days_left} day(s)"
            return f"lot {self.lot} expires{basis} {days} ({self.expiry}); mark it down (FEFO)"
        return None


def shelf_life_end(lot: Lot, shelf_life_days: int | None) -> date | None:
    """``production_date + shelf_life_days``, or None when either is unknown."""
    if lot.production_date is None or shelf_life_days is None:
        return None
    return lot.production_date + timedelta(days=shelf_life_days)


def shelf_life_warning(lot: Lot, shelf_life_days: int | None) -> str | None:
    """A sentence naming the lot when its recorded expiry outlasts its shelf life."""
    end = shelf_life_end(lot, shelf_life_days)
    if lot.expiry is None or end is None or lot.expiry <= end:
        return None
    return (
        f"lot {lot.lot} of {lot.gtin}: expiry {lot.expiry} is later than production date "
        f"{lot.production_date} + shelf life {shelf_life_days} day(s) ({end}); check the expiry"
    )


def expiry_status(
    lot: Lot,
    today: date,
    near_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    shelf_life_days: int | None = None,
) -> ExpiryStatus:
    """Where ``lot`` stands on ``today`` with a warning window of ``near_days``; without
    a recorded expiry, by ``production_date + shelf_life_days`` when both are known."""
    if near_days < 0:
        raise ValueError(f"near_days {near_days}: must be zero or more")
    expiry, derived = lot.expiry, False
    if expiry is None:
        expiry = shelf_life_end(lot, shelf_life_days)
        derived = expiry is not None
    if expiry is None:
        return ExpiryStatus(
            gtin=lot.gtin, lot=lot.lot, expiry=None, days_left=None, state="no_expiry"
        )
    days_left = (expiry - today).days
    state: ExpiryState = (
        "expired" if days_left < 0 else "near_expiry" if days_left <= near_days else "ok"
    )
    return ExpiryStatus(
        gtin=lot.gtin,
        lot=lot.lot,
        expiry=expiry,
        days_left=days_left,
        state=state,
        derived=derived,
    )


def near_expiry(
    lots: Iterable[Lot],
    today: date,
    near_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    shelf_lives: Mapping[str, int | None] | None = None,
) -> list[ExpiryStatus]:
    """Expired and near-expiry lots, first expiry first (the order to sell or pull them);
    ``shelf_lives`` (GTIN-14 → days) dates the lots without an expiry."""
    lives = shelf_lives or {}
    found = [expiry_status(lot, today, near_days, lives.get(lot.gtin)) for lot in lots]
    flagged = [s for s in found if s.state in ("expired", "near_expiry")]
    return sorted(flagged, key=lambda s: (s.expiry or date.max, s.gtin, s.lot))
