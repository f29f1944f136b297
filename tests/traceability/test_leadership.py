"""One holder for a duty several replicas could do (traceability.leadership), over a real
records store; the clock is the test's, so a take-over is shown without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from traceability.errors import StoreUnavailable
from traceability.leadership import Leadership
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_one_leads_the_other_takes_over_when_it_goes_silent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    one, two = RecordStore.open(url), RecordStore.open(url)
    clock = Clock()
    first = Leadership(one, "alarms", "first", ttl_s=30, clock=clock)
    second = Leadership(two, "alarms", "second", ttl_s=30, clock=clock)
    assert first.hold()
    assert first.leading
    assert not second.hold()
    assert not second.leading
    clock.now += timedelta(seconds=20)
    assert first.hold()  # renewed: good for 30 s from now
    clock.now += timedelta(seconds=25)
    assert not second.hold()
    clock.now += timedelta(seconds=10)  # first silent for 35 s: killed or frozen
    assert second.hold()
    assert not first.hold()
    assert not first.leading
    second.release()  # a clean stop hands over at once
    assert first.hold()
    one.close()
    two.close()


class Down:
    def hold_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        raise StoreUnavailable("records database down")

    def drop_lease(self, name: str, holder: str) -> None:
        raise StoreUnavailable("records database down")


def test_a_holder_cut_off_from_the_records_stops_leading() -> None:
    cut = Leadership(Down(), "alarms", "cut", ttl_s=30)
    cut.leading = True  # it led before the outage
    assert not cut.hold()
    assert not cut.leading
    cut.release()  # nothing to release, nothing raised
