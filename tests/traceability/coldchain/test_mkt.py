"""Mean Kinetic Temperature: a constant, the warm readings' weight, a hand computation."""

from __future__ import annotations

import math

import pytest

from traceability.coldchain.mkt import mean_kinetic_temperature


def test_mkt_of_a_constant_is_that_constant() -> None:
    assert mean_kinetic_temperature([(5.0, 1.0), (5.0, 3.0)]) == pytest.approx(5.0)


def test_mkt_weights_warm_readings_more_than_the_mean() -> None:
    mkt = mean_kinetic_temperature([(2.0, 1.0), (20.0, 1.0)])
    assert mkt > 11.0
    # Hand computation with ΔH/R = 83.144 / 0.0083144598 K.
    ratio = 83.144 / 8.3144598e-3
    expected = (
        ratio / -math.log((math.exp(-ratio / 275.15) + math.exp(-ratio / 293.15)) / 2) - 273.15
    )
    assert mkt == pytest.approx(expected)


def test_mkt_needs_readings() -> None:
    with pytest.raises(ValueError, match="at least one reading"):
        mean_kinetic_temperature([])
