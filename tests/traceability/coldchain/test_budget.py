"""Stability budget: spans charged to their temperature step, hand-computed (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from pydantic import ValidationError

from traceability.coldchain.band import Band
from traceability.coldchain.budget import (
    BudgetStep,
    BudgetUse,
    StabilityBudget,
    budget_left,
    consume,
    lump,
    spend,
    verdict,
)
from traceability.records.entities import Product

T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
GTIN = "04012345111118"


@dataclass(frozen=True)
class Span:
    """An out-of-range span as ``exposure.OutSpan`` gives it (the attributes consumed)."""

    celsius: float
    side: Literal["above", "below"]
    start: datetime
    end: datetime
    location: str = "urn:epc:id:sgln:4012345.00001.cold1"
    device: str | None = "probe-1"

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def span(celsius: float, minutes: float, side: Literal["above", "below"] = "above") -> Span:
    return Span(celsius, side, T0, T0 + timedelta(minutes=minutes))


# A product kept at 2-8 °C: 60 min up to 25 °C, 10 min more up to 30 °C, 30 min down to 0 °C.
STEPPED = StabilityBudget(
    steps=(
        BudgetStep(side="above", limit_c=30.0, minutes=10),  # given out of order on purpose
        BudgetStep(side="above", limit_c=25.0, minutes=60),
        BudgetStep(side="below", limit_c=0.0, minutes=30),
    )
)


def test_spans_at_9_20_and_27_degrees_go_to_their_steps() -> None:
    use = consume(STEPPED, [span(9.0, 20), span(20.0, 30), span(27.0, 5)])
    by_limit = {(u.step.side, u.step.limit_c): u for u in use.steps}
    assert (by_limit["above", 25.0].used_min, by_limit["above", 25.0].left_min) == (50, 10)
    assert (by_limit["above", 30.0].used_min, by_limit["above", 30.0].left_min) == (5, 5)
    assert (by_limit["below", 0.0].used_min, by_limit["below", 0.0].left_min) == (0, 30)
    assert use.beyond_min == 0
    assert not use.exhausted
    assert use.left_min == 5  # the 30 °C step
    assert use.share_left == pytest.approx(10 / 60)  # the 25 °C step: 10 of 60 left
    # The steps are charged in rising order whatever order they were given in.
    assert [s.limit_c for s in STEPPED.steps] == [25.0, 30.0, 0.0]


def test_the_limit_itself_belongs_to_its_step() -> None:
    use = consume(STEPPED, [span(25.0, 60), span(0.0, 30, "below")])
    assert [u.used_min for u in use.steps] == [60, 0, 30]
    assert not use.exhausted
    assert use.share_left == 0.0


def test_both_sides_and_an_overrun_exhaust_the_budget() -> None:
    use = consume(
        STEPPED, [span(1.5, 20, "below"), span(-0.5, 10, "below"), span(0.5, 15, "below")]
    )
    below = use.steps[2]
    # -0.5 °C is colder than the 0 °C step: beyond every step.
    assert (below.used_min, below.left_min, below.exhausted) == (35, 0, True)
    assert use.beyond_min == 10
    assert use.exhausted


def test_beyond_every_step_compromises_whatever_is_left() -> None:
    use = consume(STEPPED, [span(31.0, 2)])
    assert use.beyond_min == 2
    assert [u.used_min for u in use.steps] == [0, 0, 0]
    assert use.exhausted
    assert (use.share_left, use.left_min) == (0.0, 0.0)


def test_nothing_used_leaves_the_whole_budget() -> None:
    use = consume(STEPPED, [])
    assert (use.share_left, use.left_min, use.exhausted) == (1.0, 10, False)


def test_a_step_without_a_limit_and_the_any_step_take_what_the_steps_leave() -> None:
    budget = StabilityBudget(
        steps=(
            BudgetStep(side="above", limit_c=25.0, minutes=60),
            BudgetStep(side="any", limit_c=None, minutes=15),
        )
    )
    use = consume(budget, [span(40.0, 10), span(-5.0, 4, "below"), span(12.0, 1)])
    assert [u.used_min for u in use.steps] == [1, 14]
    assert not use.exhausted
    unlimited = StabilityBudget(steps=(BudgetStep(side="above", limit_c=None, minutes=5),))
    assert consume(unlimited, [span(60.0, 6)]).steps[0].exhausted


def test_a_product_with_only_an_excursion_budget_shares_one_allowance() -> None:
    product = Product(
        gtin=GTIN, name="Vaccine", temp_min_c=2, temp_max_c=8, excursion_budget_min=60
    )
    budget = StabilityBudget.of_product(product)
    assert budget is not None
    assert budget == StabilityBudget(steps=(BudgetStep(side="any", limit_c=None, minutes=60),))
    use = consume(budget, [span(12.0, 40), span(-3.0, 25, "below")])
    assert (use.steps[0].used_min, use.left_min, use.exhausted) == (65, 0, True)
    assert consume(budget, [span(12.0, 40), span(-3.0, 20, "below")]).left_min == 0
    assert not consume(budget, [span(12.0, 40), span(-3.0, 20, "below")]).exhausted


def test_of_product_prefers_the_steps_and_is_none_without_any_budget() -> None:
    stepped = Product(
        gtin=GTIN, name="Vaccine", temp_min_c=2, temp_max_c=8, excursion_budget_min=60,
        stability_budget="above:30:10;above:25:60;below:0:30",
    )  # fmt: skip
    assert StabilityBudget.of_product(stepped) == STEPPED
    assert StabilityBudget.of_product(Product(gtin=GTIN, name="Salt")) is None


def test_a_zero_minute_step_allows_nothing() -> None:
    budget = StabilityBudget(steps=(BudgetStep(side="above", limit_c=15.0, minutes=0),))
    assert consume(budget, []).share_left == 1.0
    touched = consume(budget, [span(10.0, 0.5)])
    assert (touched.exhausted, touched.share_left) == (True, 0.0)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "at least 1 item"),
        (
            (
                BudgetStep(side="any", limit_c=None, minutes=1),
                BudgetStep(side="any", limit_c=None, minutes=2),
            ),
            "at most one 'any' step",
        ),
        (
            (
                BudgetStep(side="below", limit_c=0, minutes=1),
                BudgetStep(side="below", limit_c=0.0, minutes=2),
            ),
            "same limit_c",
        ),
    ],
)
def test_an_ambiguous_budget_is_refused(steps: tuple[BudgetStep, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StabilityBudget(steps=steps)


def test_a_step_is_validated() -> None:
    with pytest.raises(ValidationError, match="has no limit_c"):
        BudgetStep(side="any", limit_c=5.0, minutes=10)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        BudgetStep(side="above", limit_c=25.0, minutes=-1)


def test_the_exposure_out_spans_are_what_consume_reads() -> None:
    from traceability.coldchain.probes import OutSpan  # exposure.py imports it from here

    spans = [
        OutSpan(location="urn:x", device="p1", start=T0, end=T0 + timedelta(minutes=50),
                celsius=20.0, side="above"),
        OutSpan(location="urn:y", device=None, start=T0, end=T0 + timedelta(minutes=12),
                celsius=27.0, side="above"),
    ]  # fmt: skip
    use = consume(STEPPED, spans)
    assert [u.used_min for u in use.steps] == [50, 12, 0]
    assert use.exhausted  # 12 min at 27 °C: the 30 °C step allows 10


# --- the verdict, several versions, the shared allowance (round 2) --------------------


def test_the_verdict_names_each_step_spent() -> None:
    status, reasons = verdict(consume(STEPPED, [span(20.0, 32), span(1.0, 5, "below")]))
    assert status == "at_risk"
    assert reasons == ("32 min at ≤ 25 °C of 60 allowed", "5 min at ≥ 0 °C of 30 allowed")
    assert verdict(consume(STEPPED, [])) == ("ok", ())


def test_an_overrun_step_or_time_beyond_every_step_is_compromised() -> None:
    status, reasons = verdict(consume(STEPPED, [span(28.0, 12), span(-1.0, 3, "below")]))
    assert status == "compromised"
    assert reasons == (
        "12 min at ≤ 30 °C exceeds the 10 allowed",
        "3 min at temperatures no budget step allows",
    )
    unlimited = StabilityBudget(steps=(BudgetStep(side="above", limit_c=None, minutes=0),))
    assert verdict(consume(unlimited, [span(9.0, 1)])) == (
        "compromised",
        ("1 min above the band: no time allowed",),
    )


def test_spend_keeps_the_worst_version_and_a_version_without_a_budget_allows_nothing() -> None:
    loose = StabilityBudget(steps=(BudgetStep(side="above", limit_c=25.0, minutes=90),))
    spans = [span(20.0, 60)]
    worst = spend([loose, STEPPED, loose], spans)  # the 60 min step: nothing left
    assert worst is not None
    assert (worst.left_min, worst.share_left) == (0.0, 0.0)
    assert [u.step.minutes for u in worst.steps] == [60, 10, 30]
    bare = spend([loose, None], spans)
    assert bare is not None
    assert bare.exhausted
    assert [(u.step.side, u.step.minutes, u.used_min) for u in bare.steps] == [("any", 0, 60)]
    assert spend([None, None], spans) is None
    assert spend([], spans) is None


def test_lump_charges_minutes_to_one_shared_allowance() -> None:
    assert (lump(60, 45).left_min, lump(60, 45).share_left, lump(60, 45).exhausted) == (
        15,
        0.25,
        False,
    )
    assert lump(0, 1).exhausted
    assert verdict(lump(30, 31))[1] == ("31 min out of range exceeds the 30 allowed",)


@dataclass(frozen=True)
class Judged:
    budget: BudgetUse | None


def test_budget_left_is_the_least_left_or_none_without_a_budget() -> None:
    assert budget_left(Judged(consume(STEPPED, [span(20.0, 20), span(27.0, 8)]))) == 2
    assert budget_left(Judged(consume(STEPPED, [span(40.0, 1)]))) == 0  # beyond every step
    assert budget_left(Judged(None)) is None


def test_a_band_reads_its_steps_from_a_signed_version_in_canonical_order() -> None:
    signed = [
        {"side": "below", "limit_c": 0, "minutes": 30},
        {"side": "above", "limit_c": 25, "minutes": 60},
    ]
    band = Band(temp_min_c=2, temp_max_c=8, excursion_budget_min=None, mkt_limit_c=None,
                stability_budget=signed)  # fmt: skip
    assert band == Band(temp_min_c=2, temp_max_c=8, excursion_budget_min=None,
                        mkt_limit_c=None, stability_budget="above:25:60;below:0:30")  # fmt: skip
    assert StabilityBudget.of_product(band) == StabilityBudget(steps=band.stability_budget or ())
    older = Band(temp_min_c=2, temp_max_c=8, excursion_budget_min=60, mkt_limit_c=None)
    assert older.stability_budget is None  # a version signed before the field
    assert StabilityBudget.of_product(older) == StabilityBudget(
        steps=(BudgetStep(side="any", minutes=60),)
    )
