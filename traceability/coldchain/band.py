"""The profile a stay is judged against (``Band``: one signed version of the product's
band, budget and MKT limit) and the journey's ``strictest`` limits (pure).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, field_validator

from traceability.records.entities import Product
from traceability.records.stability import BudgetStep, checked_steps, steps_input


class Band(BaseModel):
    """The profile a stay is judged against: the product's allowed band, budget (its
    stability steps, else one shared allowance) and MKT limit, as one master-data
    version states them (``version`` None: the records' row)."""

    model_config = ConfigDict(frozen=True)

    temp_min_c: float | None
    temp_max_c: float | None
    excursion_budget_min: float | None
    mkt_limit_c: float | None
    version: int | None = None
    # Text, a signed version's list of objects or steps; kept canonical (equal budgets
    # compare equal). None: a version signed before the field, or no steps.
    stability_budget: tuple[BudgetStep, ...] | None = None

    _steps_in = field_validator("stability_budget", mode="before")(lambda cls, v: steps_input(v))
    _steps = field_validator("stability_budget")(lambda cls, v: checked_steps(v))

    @classmethod
    def of(cls, product: Product, version: int | None = None) -> Band:
        return cls(
            temp_min_c=product.temp_min_c,
            temp_max_c=product.temp_max_c,
            excursion_budget_min=product.excursion_budget_min,
            mkt_limit_c=product.mkt_limit_c,
            version=version,
            stability_budget=product.stability_budget,
        )


def strictest(bands: Sequence[Band]) -> Band:
    """The budget and MKT limit a whole journey is judged against when its stays fall
    under different versions: the strictest of them, so a version loosening the
    budget late in the journey cannot excuse minutes spent under a stricter one."""
    budgets = [b.excursion_budget_min or 0.0 for b in bands]
    limits = [b.mkt_limit_c for b in bands if b.mkt_limit_c is not None]
    first = bands[0] if bands else None
    steps = {b.stability_budget for b in bands}
    return Band(
        temp_min_c=first.temp_min_c if first else None,
        temp_max_c=first.temp_max_c if first else None,
        excursion_budget_min=min(budgets) if budgets else None,
        mkt_limit_c=min(limits) if limits else None,
        version=first.version if first and len({b.version for b in bands}) == 1 else None,
        # One step set only when every version has it (else ``spend`` picks the worst).
        stability_budget=steps.pop() if len(steps) == 1 else None,
    )


__all__ = ["Band", "strictest"]
