"""CPU-heavy work of a request (JSON parsing, schema validation, hashing, EVM calls) run
off the event loop, in a pool of its own with a bounded queue.

A capture of 1,000 events or an ``eth_call`` holds a thread for a while; on the event
loop it would stall every other request, ``/healthz`` included. Each kind of work gets
``workers`` threads of its own (separate from Starlette's shared pool, so a flood of
captures cannot take the threads the pages need) and at most ``queue`` requests waiting;
beyond that the request is refused at once with 503 and ``Retry-After``, rather than
holding a connection and its body in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

from web.problem import Problem

T = TypeVar("T")


class Offload:
    """``await pool.run(fn, *args)``: ``fn(*args)`` in one of ``workers`` threads."""

    def __init__(self, name: str, workers: int, queue: int) -> None:
        self.name = name
        self.workers = workers
        self.queue = queue
        # anyio binds a limiter's waiters to one event loop; the web server runs one,
        # tests run several (one per TestClient), so each loop gets its own.
        self._limiters: dict[asyncio.AbstractEventLoop, CapacityLimiter] = {}

    def _limiter(self) -> CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            self._limiters = {
                seen: held for seen, held in self._limiters.items() if not seen.is_closed()
            }
            limiter = self._limiters[loop] = CapacityLimiter(self.workers)
        return limiter

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        limiter = self._limiter()
        if limiter.statistics().tasks_waiting >= self.queue and not limiter.available_tokens:
            raise Problem(
                503,
                "busy",
                f"{self.workers} {self.name} requests are running and {self.queue} waiting; "
                "retry in a second",
                headers={"Retry-After": "1"},
            )
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=limiter)
