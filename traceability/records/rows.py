"""Rows of the master-data import kinds: products, and lots with their serials.

Each row is validated at construction, before anything is stored; a blank cell (CSV)
is a missing value. The other kinds need no row model of their own: their records
(``locations``, ``shipments``, ``stays``, ``packaging``) are validated values already.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin, LotNumber
from traceability.records.stability import BudgetStep, band_problem, checked_steps, steps_input


def blank_none(value: Any) -> Any:
    """A blank cell is no value."""
    return None if isinstance(value, str) and not value.strip() else value


def serial_list(text: str) -> list[str]:
    """``1001-1003`` → 1001, 1002, 1003; ``A1;A2`` → A1, A2."""
    serials: list[str] = []
    for part in text.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        if dash and low.isdigit() and high.isdigit():
            if int(high) < int(low) or int(high) - int(low) > 1_000_000:
                raise ValueError(f"serial range {part!r} must go up, by at most a million")
            serials.extend(str(n) for n in range(int(low), int(high) + 1))
        else:
            serials.append(part)
    return serials


def _valid_gtin(value: str) -> str:
    try:
        return Gtin.parse(str(value).strip()).value
    except InvalidIdentifier as exc:
        raise ValueError(exc.reason) from exc


class ProductRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    name: str = Field(min_length=1, max_length=200)
    temp_min_c: float | None = None
    temp_max_c: float | None = None
    excursion_budget_min: float | None = Field(default=None, ge=0)
    mkt_limit_c: float | None = None
    shelf_life_days: int | None = Field(default=None, ge=0)
    # CSV: ``above:25:60;below:0:30``; JSON: a list of {side, limit_c, minutes}
    stability_budget: tuple[BudgetStep, ...] | None = None

    _blank = field_validator("*", mode="before")(lambda cls, v: blank_none(v))
    _steps_in = field_validator("stability_budget", mode="before")(lambda cls, v: steps_input(v))
    _steps = field_validator("stability_budget")(lambda cls, v: checked_steps(v))

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        return _valid_gtin(value)

    @model_validator(mode="after")
    def _steps_beyond_band(self) -> ProductRow:
        problem = band_problem(self.stability_budget or (), self.temp_min_c, self.temp_max_c)
        if problem is not None:
            # Named column first: the import reports it as this row's stability_budget.
            raise ValueError(f"stability_budget: {problem}")
        return self


class LotRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gtin: str
    lot: str
    production_date: date | None = None
    expiry: date | None = None
    origin: str | None = None
    quantity: int | None = Field(default=None, ge=0)
    gross_kg: float | None = Field(default=None, gt=0)
    serials: str | None = None  # ``1001-1100`` or ``1001;1002`` (``serial_list``)

    _blank = field_validator("*", mode="before")(lambda cls, v: blank_none(v))

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        return _valid_gtin(value)

    @field_validator("lot")
    @classmethod
    def _lot(cls, value: str) -> str:
        try:
            return LotNumber.parse(value).value
        except InvalidIdentifier as exc:
            raise ValueError(exc.reason) from exc

    @field_validator("serials")
    @classmethod
    def _serials(cls, value: str | None) -> str | None:
        if value is not None:
            serial_list(value)
        return value
