"""Keeps a web replica's page cache true to what other processes write.

Within one process every write drops the pages it changes (``PageCache.invalidate``).
With several processes (web replicas, gateways, the anchoring and alarm workers, a
`tracehub records import`) a page cached here would not hear of a capture, an anchor or
an incident step made elsewhere until its time ran out. ``PageFreshness`` asks every
``interval_s``: lots captured since the last look (with ``overlap_s`` of slack, since
another process's clock and commit may lag; dropping a page twice only costs a render)
lose their pages; a newly confirmed batch, a new audit entry or incident step drops
every page. A supervised loop (component ``pages.freshness``); a records outage only
leaves the pages to their time-to-live.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ledger.batch import BatchRecord
from ledger.errors import LedgerError
from supervision.supervisor import Component, Supervisor
from traceability.errors import TraceabilityError
from traceability.records.freshness import Mark
from web.pagecache import PageCache

log = logging.getLogger(__name__)
COMPONENT = "pages.freshness"
MAX_LOTS = 500  # more lots changed than this in one look: forget every page


class RecordChanges(Protocol):
    def freshness_mark(self) -> Mark: ...

    def lots_captured_since(self, since: datetime, limit: int) -> set[tuple[str, str]] | None: ...


class Anchors(Protocol):
    def confirmed_batches(self, after_id: int = 0, limit: int = 100) -> Sequence[BatchRecord]: ...


class PageFreshness:
    def __init__(
        self,
        records: RecordChanges,
        anchors: Anchors,
        pages: PageCache,
        supervisor: Supervisor,
        interval_s: float = 2.0,
        overlap_s: float = 15.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._records, self._anchors, self._pages = records, anchors, pages
        self._supervisor = supervisor
        self._interval = interval_s
        self._overlap = timedelta(seconds=overlap_s)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._since: datetime | None = None
        self._mark: Mark | None = None
        self._batch = 0
        self._component: Component | None = None

    def look(self) -> None:
        """One look: drop what changed since the last one (the first only takes marks)."""
        now = self._clock()
        mark = self._records.freshness_mark()
        newest = self._anchors.confirmed_batches(after_id=self._batch, limit=1000)
        if self._since is not None:
            lots = self._records.lots_captured_since(self._since - self._overlap, MAX_LOTS)
            if lots is None or mark != self._mark or newest:
                self._pages.invalidate_all()
            else:
                for gtin, lot in lots:
                    self._pages.invalidate(gtin, lot)
        self._since, self._mark = now, mark
        if newest:
            self._batch = max(b.id for b in newest)

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(COMPONENT, self._run)

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            try:
                self.look()
            except (TraceabilityError, LedgerError) as exc:
                component.failed(exc)  # the pages keep their time-to-live meanwhile
                log.warning("cannot look for changes made elsewhere: %s", exc)
            else:
                component.succeeded()
            component.stopping.wait(self._interval)

    def stop(self) -> None:
        if self._component is not None:
            self._component.stop(timeout=10)
            self._component = None
