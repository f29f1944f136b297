"""Token buckets per client, on an injected clock."""

from __future__ import annotations

import math

import pytest

from web.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock)
    assert [limiter.take("a") for _ in range(4)] == [0.0] * 4
    assert limiter.take("a") == pytest.approx(0.5)  # one token comes back in 0.5 s
    assert limiter.take("b") == 0.0  # another client has its own bucket
    clock.now = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a", cost=3) == pytest.approx(1.5)
    clock.now = 100.0
    assert limiter.take("a", cost=4) == 0.0  # refilled to the burst, not beyond
    assert limiter.take("a") > 0


def test_a_request_larger_than_the_burst_never_fits() -> None:
    assert math.isinf(RateLimiter(rate=1.0, burst=2).take("a", cost=3))


def test_the_table_of_clients_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=2, clock=clock)
    for client in ("a", "b", "c"):
        assert limiter.take(client) == 0.0
    assert limiter.take("a") == 0.0  # "a" was dropped (least recently seen): full again
    assert limiter.take("c") > 0  # "c" was kept


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, burst=1)
