"""A web replica's cached pages hear of what other processes wrote (web.pagefreshness):
the records and the anchors are stand-ins here (their queries are tested against a real
store in tests/traceability/records/test_freshness.py); the cache is the real one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

from ledger.batch import BatchRecord
from supervision.supervisor import Supervisor
from traceability.records.freshness import Mark
from web.pagecache import CachedPage, PageCache
from web.pagefreshness import PageFreshness

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
A, B = ("04012345111118", "L1"), ("04012345111118", "L2")


class Elsewhere:
    """What other processes wrote: lots captured (with when), marks, confirmed batches."""

    def __init__(self) -> None:
        self.captured: list[tuple[datetime, tuple[str, str]]] = []
        self.mark = Mark(audit=3, steps=1)
        self.batches: list[int] = [1, 2]
        self.asked_since: list[datetime] = []

    def freshness_mark(self) -> Mark:
        return self.mark

    def lots_captured_since(self, since: datetime, limit: int) -> set[tuple[str, str]] | None:
        self.asked_since.append(since)
        found = {lot for at, lot in self.captured if at > since}
        return None if len(found) > limit else found

    def confirmed_batches(self, after_id: int = 0, limit: int = 100) -> Sequence[BatchRecord]:
        return [_batch(i) for i in self.batches if i > after_id][:limit]


def _batch(i: int) -> BatchRecord:
    return cast(BatchRecord, SimpleNamespace(id=i))  # only the id matters here


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def cached(pages: PageCache) -> set[tuple[str, str]]:
    for lot in (A, B):
        pages.get(("page", *lot), lot, lambda: CachedPage.of(b"<p>lot</p>", 200, "text/html"))
    return {lot for lot in (A, B) if pages.peek(("page", *lot)) is not None}


def test_changes_made_elsewhere_drop_the_pages_they_touch() -> None:
    elsewhere, clock = Elsewhere(), Clock()
    pages = PageCache(ttl_s=3600)
    fresh = PageFreshness(elsewhere, elsewhere, pages, Supervisor(), overlap_s=15, clock=clock)
    assert cached(pages) == {A, B}
    fresh.look()  # the first look takes the marks: batches 1 and 2 were there already
    assert cached(pages) == {A, B}
    # another process captured an event of lot A, committed a little late
    clock.now = T0 + timedelta(seconds=2)
    elsewhere.captured.append((T0 - timedelta(seconds=5), A))
    fresh.look()
    assert elsewhere.asked_since[-1] == T0 - timedelta(seconds=15)  # the slack
    assert pages.peek(("page", *A)) is None
    assert pages.peek(("page", *B)) is not None
    # another process's batch is confirmed: every page's proof status may have changed
    assert cached(pages) == {A, B}
    elsewhere.batches.append(3)
    clock.now += timedelta(seconds=2)
    fresh.look()
    assert pages.peek(("page", *A)) is None
    assert pages.peek(("page", *B)) is None
    # nothing new: nothing dropped (batch 3 is not news twice)
    assert cached(pages) == {A, B}
    clock.now += timedelta(seconds=30)
    fresh.look()
    assert cached(pages) == {A, B}
    assert pages.builds == 6
    # an incident step or a master-data change elsewhere: every page
    elsewhere.mark = Mark(audit=4, steps=1)
    fresh.look()
    assert pages.peek(("page", *A)) is None
    assert pages.peek(("page", *B)) is None
