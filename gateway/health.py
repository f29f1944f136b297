"""Gateway health: the ``gateway_health`` and ``dead_letter`` measurements, every 10 s.

Written straight to InfluxDB (not through the spool: a health point that cannot be
written is stale by the next one anyway). ``lag_ms`` is the median, over the last
interval, of (time the point was written − the device's timestamp): how far
behind the devices InfluxDB is.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.errors import GatewayError
from gateway.lineprotocol import dead_letter_line, health_line
from gateway.pipeline import Gateway
from supervision.supervisor import Component, Supervisor

log = logging.getLogger(__name__)
COMPONENT = "gateway.health"  # its name in the supervisor's report


class LineWriter(Protocol):
    def write(self, lines: Sequence[str]) -> None: ...


class SpoolGauge(Protocol):
    @property
    def depth(self) -> int: ...

    @property
    def bytes(self) -> int: ...

    @property
    def fill_ratio(self) -> float: ...


class HealthReporter:
    """Builds and writes health points; ``snapshot()`` is also what ``status`` shows."""

    def __init__(
        self,
        gateway_id: str,
        gateway: Gateway,
        spool: SpoolGauge,
        writer: LineWriter,
        dead_letter_counts: Callable[[], dict[str, int]],
        *,
        interval_s: float = 10.0,
        clock_ns: Callable[[], int] = time.time_ns,
        certs_expiring: Callable[[], int] | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self._supervisor = supervisor or Supervisor()
        self.gateway_id = gateway_id
        # Certificates and CRL of the device registry lapsing soon (-1: unreadable).
        self._certs_expiring = certs_expiring
        self._gateway = gateway
        self._spool = spool
        self._writer = writer
        self._dead_letter_counts = dead_letter_counts
        self._interval_s = interval_s
        self._clock_ns = clock_ns
        self._last_ns = clock_ns()
        self._last_received = 0
        self._lag_seen = 0
        self._component: Component | None = None

    def snapshot(self) -> dict[str, int | float]:
        now = self._clock_ns()
        counters = self._gateway.counters
        lags = list(self._gateway.lags_ms)
        fresh = self._gateway.lag_count - self._lag_seen
        self._lag_seen = self._gateway.lag_count
        recent = lags[len(lags) - min(len(lags), fresh) :]
        elapsed = max((now - self._last_ns) / 1e9, 1e-9)
        rate = (counters.received - self._last_received) / elapsed
        self._last_ns, self._last_received = now, counters.received
        certs = {} if self._certs_expiring is None else {"certs_expiring": self._certs_expiring()}
        return certs | {
            "received": counters.received,
            "written": counters.written,
            "captured": counters.captured,
            "dead_lettered": counters.dead_lettered,
            "spool_depth": self._spool.depth,
            "spool_bytes": self._spool.bytes,
            "spool_full_pct": round(100.0 * self._spool.fill_ratio, 3),
            "lag_ms": float(statistics.median(recent)) if recent else 0.0,
            "rate_msgs_s": float(rate),
        }

    def report(self) -> dict[str, int | float]:
        values = self.snapshot()
        now = self._clock_ns()
        lines = [health_line(self.gateway_id, values, now)]
        lines += [
            dead_letter_line(self.gateway_id, code, count, now)
            for code, count in sorted(self._dead_letter_counts().items())
        ]
        try:
            self._writer.write(lines)
        except GatewayError as exc:
            log.info("health not written (InfluxDB unavailable): %s", exc)
        return values

    def _run(self, component: Component) -> None:
        # A failed report is not handled here: the supervisor (component
        # ``gateway.health``) logs it with its traceback and restarts the loop.
        while not component.stopping.wait(self._interval_s):
            self.report()
            component.succeeded()

    def start(self) -> None:
        if self._certs_expiring is not None and (soon := self._certs_expiring()) > 0:
            log.warning(
                "%d certificate(s) or CRL of the device registry expire soon: renew with "
                "`tracehub devices rotate --expiring 30` (docs/security.md, Renewal)",
                soon,
            )
        self._component = self._supervisor.spawn(COMPONENT, self._run, thread_name="gateway-health")

    def stop(self) -> None:
        if self._component is not None:
            self._component.stop(timeout=10)
