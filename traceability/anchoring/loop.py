"""The anchoring loop: feed captured events to the ledger and run the worker, in a thread.

Each round: submit new events (``EventFeeder.sync``), let the worker cut and advance
batches by its policy (N leaves or T seconds; ``wake()`` cuts whatever is pending at
once), then mirror confirmed batches onto the records. A chain or database outage
only delays anchoring: nothing is lost, the next round continues where this one
stopped. The loop knows its collaborators only by the ports below, so the hub wires
the real feeder and ``ledger.worker.AnchorWorker`` and a test can wire anything.

The thread is supervised (``supervision.Supervisor``, component ``anchoring``): an
outage is reported as the component's last error and waited out; any other error
(a bug, a record nothing here expected) is logged with its traceback and the loop is
restarted with backoff, so one bad round never ends anchoring for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from ledger.errors import LedgerError
from ledger.worker import StepResult
from supervision.supervisor import Component, Supervisor
from traceability.anchoring.feeder import FeedResult
from traceability.errors import TraceabilityError

log = logging.getLogger(__name__)
COMPONENT = "anchoring"  # its name in the supervisor's report


class Feeder(Protocol):
    """Hands captured events to the ledger and mirrors confirmed batches back."""

    def sync(self) -> FeedResult: ...


class Worker(Protocol):
    """Cuts batches and drives them to confirmed anchors (``ledger.worker.AnchorWorker``)."""

    def step(self, flush: bool = False) -> StepResult: ...

    def seconds_until_due(self) -> float | None: ...

    def release(self) -> None: ...


class BatchSummary(BaseModel):
    """A batch the loop saw confirmed, as the demo and the logs tell it."""

    model_config = ConfigDict(frozen=True)

    batch_id: int
    root: bytes
    size: int
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    recovered: bool  # True: found already on chain (crash recovery), not sent now


class AnchorLoop:
    """Runs anchoring rounds in a thread; ``anchored`` is set after a round that
    mirrored or confirmed something, so callers can await it."""

    def __init__(
        self,
        feeder: Feeder,
        worker: Worker,
        poll_s: float = 1.0,
        on_anchored: Callable[[], None] | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        """``on_anchored`` runs after a round that mirrored or confirmed something;
        ``supervisor`` runs the thread (the hub's, so ``/readyz`` shows it)."""
        self.feeder = feeder
        self.worker = worker
        self._on_anchored = on_anchored
        self._poll_s = poll_s
        self._supervisor = supervisor or Supervisor()
        self._wake = threading.Event()
        self._flush = False
        self.anchored = threading.Event()
        self.last: BatchSummary | None = None
        self._component: Component | None = None

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(
                COMPONENT, self._run, thread_name="anchor-loop"
            )

    def run_once(self, flush: bool = False) -> list[BatchSummary]:
        """One round; ``flush`` anchors everything pending now. Capture signed the events
        already, so the worker goes first and the feeder then mirrors what it confirmed."""
        result = self.worker.step(flush=flush)
        fed = self.feeder.sync()
        done = [
            BatchSummary(
                batch_id=b.id,
                root=b.root,
                size=b.size,
                chain_id=b.chain_id or 0,
                contract=b.contract or "",
                tx_hash=b.tx_hash or "",
                block_number=b.block_number or 0,
                recovered=b.recovered,
            )
            for b in result.confirmed
        ]
        if done:
            self.last = done[-1]
        if done or fed.mirrored:
            if self._on_anchored is not None:
                self._on_anchored()
            self.anchored.set()
        return done

    def wake(self) -> None:
        """Anchor what is pending now, whatever the policy says."""
        self._flush = True
        self._wake.set()

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            flush, self._flush = self._flush, False
            try:
                for summary in self.run_once(flush):
                    log.info(
                        "anchored batch %s: %s leaves, root %s, block %s",
                        summary.batch_id,
                        summary.size,
                        summary.root.hex(),
                        summary.block_number,
                    )
                due = self.worker.seconds_until_due()
            except (LedgerError, TraceabilityError) as exc:
                log.warning("anchoring postponed: %s", exc)
                component.failed(exc)
                due = None
            except BaseException:
                self._flush = self._flush or flush  # the restarted loop still owes it
                raise
            else:
                component.succeeded()
            wait = self._poll_s if due is None else min(self._poll_s, max(due, 0.01))
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self) -> None:
        if self._component is not None:
            self._component.stopping.set()
            self._wake.set()
            self._component.stop(timeout=30)
        try:
            self.worker.release()
        except LedgerError as exc:
            log.warning("could not release the anchoring lease: %s", exc)
