"""The drain loop: spool → pipeline, in order, in batches, retrying transient failures.

An InfluxDB or capture outage only makes the loop wait (capped exponential backoff)
while the MQTT side keeps spooling; nothing is lost and nothing is skipped.
"""

from __future__ import annotations

import logging
import threading

from gateway.errors import TransientError
from gateway.pipeline import Gateway
from gateway.spool import Spool

log = logging.getLogger(__name__)


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
    ) -> None:
        self._spool = spool
        self._gateway = gateway
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing = threading.Event()  # set while a transient failure holds the drain

    def drain_once(self) -> int:
        """Process one batch (if any); return its size. Transient errors propagate."""
        entries = self._spool.peek(self._batch_size)
        if entries:
            self._gateway.process(entries)
        return len(entries)

    def _run(self) -> None:
        delay = self._retry_initial_s
        while not self._stop.is_set():
            if not self._spool.wait_for_entries(0.5):
                continue
            if self._spool.depth < self._batch_size and self._linger_s > 0:
                # Let a trickle gather into one InfluxDB request (bounded latency cost).
                self._stop.wait(self._linger_s)
            try:
                self.drain_once()
            except TransientError as exc:
                self.failing.set()
                log.warning(
                    "drain held (spool depth %d), retry in %.2fs: %s", self._spool.depth, delay, exc
                )
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self._retry_max_s)
                continue
            except Exception:
                # A pipeline bug must not stop ingestion silently: log, back off, retry.
                log.exception("drain failed; the batch stays spooled")
                if self._stop.wait(self._retry_max_s):
                    return
                continue
            self.failing.clear()
            delay = self._retry_initial_s

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gateway-drain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
