"""A lot's stability budget: allowed time beyond the band, per temperature step (pure).

Practice: a product's stability data say how long it may spend outside its labelled
storage band and how warm (or cold) it may get meanwhile, e.g. "up to 60 min at
<= 25 °C, up to 10 min more at <= 30 °C". Cold-chain monitoring vendors (Controlant,
ELPRO) keep such a budget per lot and spend it across every leg and site of the
journey, and the guidance on time- and temperature-sensitive products (WHO TRS 961
Annex 9; USP <1079>) expects excursions to be judged against the product's stability
data. The steps and their minutes are per the product's stability data: this module
holds no default figures.

Charging rule (``consume``): each out-of-range span (one held reading outside the band,
``OutSpan`` of ``traceability.coldchain.exposure``) at temperature T is charged whole:

* side ``above``: to the first ``above`` step, by rising ``limit_c``, with T <= limit_c
  (a step without a limit takes any T); else to the ``any`` step; else it is
  ``beyond_min``: time at a temperature no step allows, so the lot is compromised
  whatever is left elsewhere;
* side ``below`` mirrors it: ``below`` steps by falling ``limit_c``, T >= limit_c.

A step is exhausted when more than its minutes were charged to it. The minutes of a
step are its own: time at 20 °C does not spend the 30 °C step (the warmer step is the
stricter allowance, not a share of the cooler one).

A product with only ``excursion_budget_min`` has ONE ``any`` step: today's meaning, one
allowance shared by time above and below the band.

A journey whose stays fall under different signed versions of the product is charged
against each version's budget (``spend``) and the worst result stands, so a version
loosening the budget late in the journey cannot excuse minutes spent under a stricter
one; a version without any budget allows no time out of range. ``verdict`` turns the
result into the status and reasons ``exposure.judge`` gives, naming each step spent
("32 min at ≤ 25 °C of 60 allowed").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from traceability.records.entities import Product
from traceability.records.stability import BudgetStep, canonical, steps_problem

__all__ = [
    "BudgetStep",
    "BudgetUse",
    "SpanLike",
    "StabilityBudget",
    "StepUse",
    "budget_left",
    "consume",
    "lump",
    "spend",
    "step_words",
    "verdict",
]

# Sums of many held readings in float minutes: an overrun smaller than this (about
# 0.06 ms) is rounding, not a minute spent.
_EPSILON_MIN = 1e-6


class SpanLike(Protocol):
    """What ``consume`` reads of an out-of-range span (``exposure.OutSpan``)."""

    @property
    def location(self) -> str: ...
    @property
    def device(self) -> str | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def celsius(self) -> float: ...
    @property
    def side(self) -> Literal["above", "below"]: ...
    @property
    def minutes(self) -> float: ...


class Allowances(Protocol):
    """What a budget is read from: a ``Product`` or an ``exposure.Band`` (one version)."""

    @property
    def stability_budget(self) -> tuple[BudgetStep, ...] | None: ...
    @property
    def excursion_budget_min(self) -> float | None: ...


class StabilityBudget(BaseModel):
    """The steps a product allows beyond its band (canonical order)."""

    model_config = ConfigDict(frozen=True)

    steps: tuple[BudgetStep, ...] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _unambiguous(cls, steps: tuple[BudgetStep, ...]) -> tuple[BudgetStep, ...]:
        problem = steps_problem(steps)
        if problem is not None:
            raise ValueError(problem)
        return canonical(steps)  # the charging order; equal budgets compare equal

    @classmethod
    def of_product(cls, product: Product | Allowances) -> StabilityBudget | None:
        """The product's budget: its steps; else, with only ``excursion_budget_min``,
        one ``any`` step of that many minutes; None without either."""
        if product.stability_budget:
            return cls(steps=product.stability_budget)
        if product.excursion_budget_min is not None:
            return cls(
                steps=(BudgetStep(side="any", limit_c=None, minutes=product.excursion_budget_min),)
            )
        return None


class StepUse(BaseModel):
    """One step's minutes: charged to it and what is left (never below zero)."""

    model_config = ConfigDict(frozen=True)

    step: BudgetStep
    used_min: float
    left_min: float

    @property
    def exhausted(self) -> bool:
        return self.used_min > self.step.minutes + _EPSILON_MIN


class BudgetUse(BaseModel):
    """What a lot's out-of-range time spent of its budget."""

    model_config = ConfigDict(frozen=True)

    steps: tuple[StepUse, ...]
    beyond_min: float  # at temperatures no step allows: compromised
    exhausted: bool  # a step overrun, or any minute beyond every step
    share_left: float  # min over steps of left/allowed, 0..1 (0 once beyond_min > 0)
    left_min: float  # min over steps of left_min (0 once beyond_min > 0)


def consume(budget: StabilityBudget, spans: Sequence[SpanLike]) -> BudgetUse:
    """Charge every span to its step (module docstring); spans of every stay, leg and
    site of the lot's journey together, so the budget is spent across all of them."""
    used = [0.0] * len(budget.steps)
    beyond = 0.0
    for span in spans:
        index = _step_for(budget.steps, span.side, span.celsius)
        if index is None:
            beyond += span.minutes
        else:
            used[index] += span.minutes
    uses = tuple(
        StepUse(step=step, used_min=spent, left_min=max(0.0, step.minutes - spent))
        for step, spent in zip(budget.steps, used, strict=True)
    )
    compromised = beyond > _EPSILON_MIN
    return BudgetUse(
        steps=uses,
        beyond_min=beyond,
        exhausted=compromised or any(u.exhausted for u in uses),
        share_left=0.0 if compromised else min(_share(u) for u in uses),
        left_min=0.0 if compromised else min(u.left_min for u in uses),
    )


def _step_for(
    steps: Sequence[BudgetStep], side: Literal["above", "below"], celsius: float
) -> int | None:
    """The index of the step a span at ``celsius`` on ``side`` is charged to, or None.
    ``steps`` are canonical: on each side by limit, the one without a limit last."""
    for index, step in enumerate(steps):
        if step.side != side:
            continue
        if step.limit_c is None:
            return index
        if (celsius <= step.limit_c) if side == "above" else (celsius >= step.limit_c):
            return index
    return next((i for i, s in enumerate(steps) if s.side == "any"), None)


def _share(use: StepUse) -> float:
    if use.step.minutes <= 0:
        # A zero-minute step allows nothing: whole while untouched, gone once touched.
        return 0.0 if use.used_min > _EPSILON_MIN else 1.0
    return max(0.0, min(1.0, use.left_min / use.step.minutes))


def spend(budgets: Sequence[StabilityBudget | None], spans: Sequence[SpanLike]) -> BudgetUse | None:
    """The journey's spans charged against each version's budget, the worst result
    kept (exhausted, then the most minutes beyond every step, then the least share
    left, then the fewest minutes left).
    A None among ``budgets`` (a version without a budget) allows no time out of range:
    one ``any`` step of 0 minutes. None when no version has a budget."""
    if all(b is None for b in budgets):
        return None
    nothing = StabilityBudget(steps=(BudgetStep(side="any", limit_c=None, minutes=0.0),))
    uses = [consume(b or nothing, spans) for b in dict.fromkeys(budgets)]
    return min(uses, key=lambda u: (not u.exhausted, -u.beyond_min, u.share_left, u.left_min))


def lump(allowed_min: float, minutes_out: float) -> BudgetUse:
    """``minutes_out`` charged to one shared allowance of ``allowed_min`` (a lot judged
    by its minutes alone, without spans)."""
    step = BudgetStep(side="any", limit_c=None, minutes=max(0.0, allowed_min))
    use = StepUse(step=step, used_min=minutes_out, left_min=max(0.0, step.minutes - minutes_out))
    return BudgetUse(
        steps=(use,),
        beyond_min=0.0,
        exhausted=use.exhausted,
        share_left=_share(use),
        left_min=use.left_min,
    )


def step_words(step: BudgetStep) -> str:
    """Where a step's minutes are spent, in words: "at ≤ 25 °C", "below the band"."""
    if step.side == "any":
        return "out of range"
    if step.limit_c is None:
        return f"{step.side} the band"
    return f"at {'≤' if step.side == 'above' else '≥'} {step.limit_c:g} °C"


Verdict = Literal["ok", "at_risk", "compromised"]


def verdict(use: BudgetUse) -> tuple[Verdict, tuple[str, ...]]:
    """compromised when the budget is exhausted (a step overrun, or minutes beyond every
    step), at_risk when any allowance is used, else ok; a reason per step spent."""
    reasons: list[str] = []
    for one in use.steps:
        if one.used_min <= _EPSILON_MIN:
            continue
        spent, allowed = f"{one.used_min:.0f} min {step_words(one.step)}", one.step.minutes
        if not one.exhausted:
            reasons.append(f"{spent} of {allowed:.0f} allowed")
        elif allowed <= 0:
            reasons.append(f"{spent}: no time allowed")
        else:
            reasons.append(f"{spent} exceeds the {allowed:.0f} allowed")
    if use.beyond_min > _EPSILON_MIN:
        reasons.append(f"{use.beyond_min:.0f} min at temperatures no budget step allows")
    if use.exhausted:
        return "compromised", tuple(reasons)
    return ("at_risk" if reasons else "ok"), tuple(reasons)


class Judged(Protocol):
    """What ``budget_left`` reads of an ``exposure.Exposure``."""

    @property
    def budget(self) -> BudgetUse | None: ...


def budget_left(exposure: Judged) -> float | None:
    """Minutes of the lot's stability budget left (the least over its steps; 0 once
    exhausted or beyond every step), for ``LotImpact.budget_left_min``; None when the
    product has no budget."""
    return None if exposure.budget is None else exposure.budget.left_min
