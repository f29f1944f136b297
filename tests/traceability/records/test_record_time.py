"""Record time (``captured_at``) is commit order: a capture that read the clock before
another one committed, and committed after it, is still found by a reader paging by
record time or polling with ``GE_recordTime``. On SQLite and a real PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import traceability.records.eventlog as eventlog
from gs1.epcis.query import parse_query
from tests.support.masterdata import database_url
from traceability.records.entities import EpcLink, NewEvent, StoredEvent
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
GTIN = "04012345111118"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, request) as found:
        yield found


@pytest.fixture
def records(url: str) -> Iterator[RecordStore]:
    opened = RecordStore.open(url)
    yield opened
    opened.close()


def _new(serial: str) -> NewEvent:
    epc = f"urn:epc:id:sgtin:4012345.011111.{serial}"
    body = {
        "type": "ObjectEvent",
        "eventTime": "2026-12-01T11:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
    }
    return NewEvent(
        id=f"ni:///sha-256;{serial:0>64}?ver=CBV2.0",
        event_time=datetime(2026, 12, 1, 11, tzinfo=UTC),
        type="ObjectEvent",
        biz_step="arriving",
        read_point="urn:epc:id:sgln:4012345.00001.0",
        biz_location=None,
        body=json.dumps(body),
        epcs=(EpcLink(epc=epc, gtin=GTIN, serial=serial, lot=None),),
        action="OBSERVE",
    )


def _serials(events: tuple[StoredEvent, ...]) -> list[str]:
    return [json.loads(e.body)["epcList"][0].rsplit(".", 1)[1] for e in events]


def test_a_capture_whose_clock_reads_earlier_still_lands_after_the_cursor(
    records: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock of the third capture is behind what is stored (a capture that read the
    # clock, then waited for the lock, as before the fix; or a wall clock stepped back).
    monkeypatch.setattr(eventlog, "now_utc", lambda: T0 + timedelta(seconds=2))
    records.store_events([_new("1")])
    records.store_events([_new("2")])
    query = parse_query([])
    first = records.run_query(query, per_page=1)
    assert _serials(first.events) == ["1"]
    assert first.next_token is not None
    last_seen = first.events[0].captured_at
    monkeypatch.setattr(eventlog, "now_utc", lambda: T0 + timedelta(seconds=1))
    records.store_events([_new("3")])
    rest = records.run_query(query, per_page=10, token=first.next_token)
    assert _serials(rest.events) == ["2", "3"]
    times = [e.captured_at for e in (*first.events, *rest.events)]
    assert times == sorted(times)
    assert len(set(times)) == 3  # strictly increasing
    # A standard poller resuming from the last record time it saw finds it as well.
    since = parse_query([("GE_recordTime", last_seen.isoformat())])
    polled = records.run_query(since, per_page=10)
    assert _serials(polled.events) == ["1", "2", "3"]


def test_a_capture_reads_its_record_time_only_after_the_one_holding_the_lock_commits(
    url: str, records: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two stores on one database are two writers (processes, replicas): the second one
    # starts while the first is inside its transaction; its clock must be read after
    # the first one commits, else it could commit first with a later time.
    other = RecordStore.open(url)
    second_read = threading.Event()
    read_while_open: list[bool] = []
    clock = datetime.now

    def now_utc() -> datetime:
        if threading.current_thread().name == "second":
            second_read.set()
        return clock(UTC)

    monkeypatch.setattr(eventlog, "now_utc", now_utc)
    second = threading.Thread(
        target=lambda: other.store_events([_new("2")]), name="second", daemon=True
    )

    def inside_first(*_: object) -> None:
        second.start()
        # Nothing to await: the second writer must NOT read its clock while this
        # transaction is open; give it ample time to show that it would.
        read_while_open.append(second_read.wait(0.5))

    try:
        records.store_events([_new("1")], then=inside_first)
        second.join(timeout=30)
        assert not second.is_alive()
        assert read_while_open == [False]
        assert second_read.is_set()
        one, two = records.get_event(_new("1").id), records.get_event(_new("2").id)
        assert one is not None
        assert two is not None
        assert one.captured_at < two.captured_at
    finally:
        other.close()
