"""The drain loop: spool → pipeline, in order, in batches, retrying transient failures.

An InfluxDB or capture outage only makes the loop wait (capped exponential backoff)
while the MQTT side keeps spooling; nothing is lost and nothing is skipped. Any other
error (a pipeline bug) ends the round: the supervisor (component ``gateway.drain``)
logs it with its traceback and restarts the loop with backoff; the batch stays
spooled, so the restarted loop takes it up again.
"""

from __future__ import annotations

import logging
import threading

from gateway.errors import TransientError
from gateway.pipeline import Gateway
from gateway.spool import Spool
from supervision.supervisor import Component, Supervisor

log = logging.getLogger(__name__)
COMPONENT = "gateway.drain"  # its name in the supervisor's report


class Drainer:
    """Moves spooled batches through the pipeline in a thread of its own."""

    def __init__(
        self,
        spool: Spool,
        gateway: Gateway,
        *,
        batch_size: int = 5_000,
        linger_s: float = 0.02,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 2.0,
        supervisor: Supervisor | None = None,
    ) -> None:
        self._supervisor = supervisor or Supervisor(max_backoff_s=max(retry_max_s, 0.5))
        self._spool = spool
        self._gateway = gateway
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._component: Component | None = None
        self.failing = threading.Event()  # set while a transient failure holds the drain

    def drain_once(self) -> int:
        """Process one batch (if any); return its size. Transient errors propagate."""
        entries = self._spool.peek(self._batch_size)
        if entries:
            self._gateway.process(entries)
        return len(entries)

    def _run(self, component: Component) -> None:
        delay = self._retry_initial_s
        stop = component.stopping
        while not stop.is_set():
            if not self._spool.wait_for_entries(0.5):
                component.succeeded()  # idle is healthy: nothing waits to be drained
                continue
            if self._spool.depth < self._batch_size and self._linger_s > 0:
                # Let a trickle gather into one InfluxDB request (bounded latency cost).
                stop.wait(self._linger_s)
            try:
                self.drain_once()
            except TransientError as exc:
                self.failing.set()
                component.failed(exc)
                log.warning(
                    "drain held (spool depth %d), retry in %.2fs: %s", self._spool.depth, delay, exc
                )
                if stop.wait(delay):
                    return
                delay = min(delay * 2, self._retry_max_s)
                continue
            except BaseException:
                # Not handled here (a pipeline bug): the supervisor logs it and restarts
                # the loop with backoff; the batch stays spooled. Held until then.
                self.failing.set()
                raise
            self.failing.clear()
            component.succeeded()
            delay = self._retry_initial_s

    def start(self) -> None:
        self._component = self._supervisor.spawn(COMPONENT, self._run, thread_name="gateway-drain")

    def stop(self, timeout: float = 30.0) -> None:
        if self._component is not None:
            self._component.stop(timeout)
