"""lot_status points: the stability budget fields Grafana's lot board shows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from traceability.coldchain.budget import BudgetStep, StabilityBudget, consume
from traceability.coldchain.exposure import Exposure, OutSpan
from traceability.coldchain.status import status_line

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
GTIN = "04012345111118"


def exposure(budget: StabilityBudget | None) -> Exposure:
    # 15 min at 9 °C above a 2–8 °C band.
    spans = (
        OutSpan(location="room", device="p1", start=datetime(2026, 11, 22, 10, tzinfo=UTC),
                end=datetime(2026, 11, 22, 10, 15, tzinfo=UTC), celsius=9.0, side="above"),
    )  # fmt: skip
    return Exposure(
        gtin=GTIN, lot="L 1", readings=4, min_c=3.0, max_c=9.0, mean_c=5.0, mkt_c=5.5,
        minutes_out_of_range=15.0, excursions=(), status="at_risk", reasons=(),
        locations=("room",), out_spans=spans,
        budget=None if budget is None else consume(budget, spans),
    )  # fmt: skip


def test_a_budgeted_lot_writes_what_is_left() -> None:
    budget = StabilityBudget(steps=(BudgetStep(side="above", limit_c=25.0, minutes=60),))
    line = status_line(exposure(budget), AT)
    assert line == (
        f'lot_status,gtin={GTIN},lot=L\\ 1 status="at_risk",excursion_minutes=15.0,mkt_c=5.5,'
        "min_c=3.0,max_c=9.0,budget_left_min=45.0,share_left=0.75,beyond_min=0.0 "
        f"{int(AT.timestamp()) * 10**9}"
    )


def test_a_lot_without_a_budget_writes_no_budget_fields() -> None:
    line = status_line(exposure(None), AT)
    assert "budget_left_min" not in line
    assert "share_left" not in line
    assert "beyond_min" not in line
