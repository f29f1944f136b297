"""Expiry: first-expiry-first-out order and near-expiry warnings.

The seeds mark near-expiry lots down for sale; the warning window (days before expiry)
is theirs to choose (``TRACEHUB_RECORDS_NEAR_EXPIRY_DAYS``, default 7). Pure: the caller
passes today's date, so a page rendered at midnight and a test agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
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

    @property
    def warning(self) -> str | None:
        """A sentence for a page or a report, or None when nothing needs saying."""
        if self.state == "expired":
            return f"lot {self.lot} expired on {self.expiry}; do not sell"
        if self.state == "near_expiry":
            days = "today" if self.days_left == 0 else f"in {self.days_left} day(s)"
            return f"lot {self.lot} expires {days} ({self.expiry}); mark it down (FEFO)"
        return None


def expiry_status(lot: Lot, today: date, near_days: int = DEFAULT_NEAR_EXPIRY_DAYS) -> ExpiryStatus:
    """Where ``lot`` stands on ``today`` with a warning window of ``near_days``."""
    if near_days < 0:
        raise ValueError(f"near_days {near_days}: must be zero or more")
    if lot.expiry is None:
        return ExpiryStatus(
            gtin=lot.gtin, lot=lot.lot, expiry=None, days_left=None, state="no_expiry"
        )
    days_left = (lot.expiry - today).days
    state: ExpiryState = (
        "expired" if days_left < 0 else "near_expiry" if days_left <= near_days else "ok"
    )
    return ExpiryStatus(
        gtin=lot.gtin, lot=lot.lot, expiry=lot.expiry, days_left=days_left, state=state
    )


def near_expiry(
    lots: Iterable[Lot], today: date, near_days: int = DEFAULT_NEAR_EXPIRY_DAYS
) -> list[ExpiryStatus]:
    """Expired and near-expiry lots, first expiry first (the order to sell or pull them)."""
    found = [expiry_status(lot, today, near_days) for lot in lots]
    flagged = [s for s in found if s.state in ("expired", "near_expiry")]
    return sorted(flagged, key=lambda s: (s.expiry or date.max, s.gtin, s.lot))
