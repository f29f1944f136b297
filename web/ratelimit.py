"""A token bucket per client: how much work one client may ask for, and when again.

Each client (an IP address for ``/rpc``) has a bucket of ``burst`` tokens refilled at
``rate`` per second; a request costs one token per call it makes (a JSON-RPC batch of
50 costs 50). ``take`` answers 0 when the request may run, else the seconds until
it could (sent as ``Retry-After``). At most ``max_clients`` buckets are kept, the
least recently seen dropped first (a dropped bucket comes back full, as a new address's
would), so a flood of source addresses cannot grow the table without bound. Pure: the
clock is injected.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst ≥ 1")
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        # client → (tokens, when counted); least recently seen first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, cost: int = 1) -> float:
        """Spend ``cost`` tokens of ``client``'s bucket: 0.0, or seconds to wait first."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if cost > self.burst:
                wait = float("inf")  # never fits; the caller must split the request
            elif tokens >= cost:
                tokens -= cost
                wait = 0.0
            else:
                wait = (cost - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait
