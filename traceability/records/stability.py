"""A product's stability budget as master data: its steps, their text form, their rules.

A step allows cumulative minutes outside the product's band at temperatures up to a
limit: ``above`` a step covers readings above the band up to and including ``limit_c``,
``below`` one readings below the band down to and including ``limit_c``; a step without
a limit covers every temperature on its side, and the one ``any`` step (never a limit)
is an allowance shared by both sides. The numbers come from the product's stability
data; ``traceability.coldchain.budget`` charges a lot's time out of range to them.

The text form (a CSV cell, the records column, the CLI option) is
``side:limit_c:minutes`` joined by ``;``, e.g. ``above:25:60;above:30:10;below:0:30``;
a blank limit is no limit (``any::60``). Steps are kept in one canonical order (above
by rising limit, below by falling limit, a step without a limit last on its side, then
``any``), so the same budget is the same value, the same text and the same signature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

StepSide = Literal["above", "below", "any"]
_FORM = "write side:limit_c:minutes joined by ';', e.g. above:25:60;below:0:30"


class BudgetStep(BaseModel):
    """Allowed cumulative minutes at temperatures beyond the band up to ``limit_c``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    side: StepSide
    # above: readings up to and including limit_c; below: down to it; None: no limit
    limit_c: float | None = Field(default=None, allow_inf_nan=False)
    minutes: float = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _any_has_no_limit(self) -> BudgetStep:
        if self.side == "any" and self.limit_c is not None:
            raise ValueError(
                "an 'any' step is one allowance for both sides and has no limit_c; "
                "give the limit on an 'above' or 'below' step"
            )
        return self


def _order(step: BudgetStep) -> tuple[int, int, float]:
    side = {"above": 0, "below": 1, "any": 2}[step.side]
    if step.limit_c is None:
        return (side, 1, 0.0)
    return (side, 0, step.limit_c if step.side == "above" else -step.limit_c)


def canonical(steps: Iterable[BudgetStep]) -> tuple[BudgetStep, ...]:
    """The steps in the canonical order (see the module docstring)."""
    return tuple(sorted(steps, key=_order))


def steps_problem(steps: Sequence[BudgetStep]) -> str | None:
    """What makes the steps ambiguous (one temperature charged to two steps), or None."""
    if sum(s.side == "any" for s in steps) > 1:
        return "give at most one 'any' step"
    for side in ("above", "below"):
        limits = [s.limit_c for s in steps if s.side == side]
        if limits.count(None) > 1:
            return f"give at most one {side!r} step without a limit"
        given = [x for x in limits if x is not None]
        if len(set(given)) != len(given):
            return f"two {side!r} steps have the same limit_c; give each limit once"
    return None


def band_problem(
    steps: Sequence[BudgetStep], temp_min_c: float | None, temp_max_c: float | None
) -> str | None:
    """Why the steps do not fit the band (a step is a temperature beyond it), or None."""
    for step in steps:
        if step.side == "above":
            if temp_max_c is None:
                return "an 'above' step needs the product's temp_max_c"
            if step.limit_c is not None and step.limit_c <= temp_max_c:
                return (
                    f"above step {_number(step.limit_c)} °C is not above temp_max_c "
                    f"{_number(temp_max_c)}; a step's limit lies beyond the band"
                )
        if step.side == "below":
            if temp_min_c is None:
                return "a 'below' step needs the product's temp_min_c"
            if step.limit_c is not None and step.limit_c >= temp_min_c:
                return (
                    f"below step {_number(step.limit_c)} °C is not below temp_min_c "
                    f"{_number(temp_min_c)}; a step's limit lies beyond the band"
                )
    return None


def parse_steps(text: str) -> tuple[BudgetStep, ...]:
    """``above:25:60;below:0:30`` → the steps, canonical; ``ValueError`` naming the step."""
    steps: list[BudgetStep] = []
    for number, part in enumerate((p.strip() for p in text.split(";")), start=1):
        if not part:
            continue
        pieces = [p.strip() for p in part.split(":")]
        if len(pieces) != 3:
            raise ValueError(f"step {number} {part!r}: {_FORM}")
        side, limit, minutes = pieces
        try:
            steps.append(
                BudgetStep.model_validate(
                    {"side": side, "limit_c": limit or None, "minutes": minutes}
                )
            )
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            reason = str(problem["msg"]).removeprefix("Value error, ")
            named = f"{where}: " if where else ""
            raise ValueError(f"step {number} {part!r}: {named}{reason}; {_FORM}") from exc
    return canonical(steps)


def steps_text(steps: Sequence[BudgetStep] | None) -> str | None:
    """The steps as text (canonical order); None for no steps."""
    if not steps:
        return None
    return ";".join(
        f"{s.side}:{'' if s.limit_c is None else _number(s.limit_c)}:{_number(s.minutes)}"
        for s in canonical(steps)
    )


def steps_input(value: Any) -> Any:
    """A field's raw value as steps: text parsed, a blank or empty value None, a list
    (JSON) passed on for validation."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_steps(value) if value.strip() else None
    if isinstance(value, list | tuple) and not value:
        return None
    return value


def checked_steps(value: tuple[BudgetStep, ...] | None) -> tuple[BudgetStep, ...] | None:
    """Validated steps in canonical order (an ambiguous set raises ``ValueError``)."""
    if not value:
        return None
    problem = steps_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return canonical(value)


def _number(value: float) -> str:
    # 25.0 → "25" and 2.5 → "2.5": the text a person typed reads back unchanged.
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value)
