"""RecordStore.sensor_events_at: events with sensor elements at a place, narrowed by their
indexed place and event time. On SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.events import COLD_ROOM, DOCK, object_event
from tests.support.masterdata import database_url
from tests.support.sensorevents import sensor_event, stamp
from traceability.capture import CaptureService
from traceability.records.schema import events
from traceability.records.store import RecordStore

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    with database_url(request.param, tmp_path, request) as url:
        opened = RecordStore.open(url)
        yield opened
        opened.close()


def test_only_sensor_events_at_the_place_within_the_window_are_found(records: RecordStore) -> None:
    capture = CaptureService(records)
    at = [T0 + timedelta(minutes=m) for m in (0, 30, 60, 90)]
    ids = [capture.capture(sensor_event(COLD_ROOM, [(t, 3.0)])).event_id for t in at]
    as_biz = sensor_event(DOCK, [(at[1], 5.0)], bizLocation={"id": COLD_ROOM})
    biz_id = capture.capture(as_biz).event_id
    capture.capture(sensor_event(DOCK, [(at[1], 9.0)]))  # another place
    capture.capture(object_event(time=stamp(at[1]), read_point=COLD_ROOM))  # no sensors
    found = records.sensor_events_at(COLD_ROOM, at[1], at[2])
    # Both location columns, the window's ends included, ordered by event time then id.
    assert [e.id for e in found] == [*sorted([ids[1], biz_id]), ids[2]]
    assert [e.id for e in records.sensor_events_at(COLD_ROOM, T0 - timedelta(hours=1), T0)] == [
        ids[0]
    ]
    later = at[3] + timedelta(microseconds=1)
    assert records.sensor_events_at(COLD_ROOM, later, later + timedelta(days=1)) == []


def test_a_column_moved_in_sql_hides_nothing_it_did_not_narrow(records: RecordStore) -> None:
    capture = CaptureService(records)
    event_id = capture.capture(sensor_event(COLD_ROOM, [(T0, 3.0)])).event_id
    with records._engine.begin() as conn:  # an operator's SQL console
        conn.execute(sa.update(events).values(read_point=DOCK))
    # The columns narrow (the row is no longer found at the room) but what is returned
    # is the body's: found at the dock, it says the room.
    assert records.sensor_events_at(COLD_ROOM, T0, T0) == []
    (moved,) = records.sensor_events_at(DOCK, T0, T0)
    assert (moved.id, moved.read_point) == (event_id, COLD_ROOM)
    assert [m.column for m in moved.mismatches] == ["read_point"]
