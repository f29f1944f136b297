"""AlarmStateRecords on SQLite and a real PostgreSQL: a round's states and alarms, the
pending reports (raise before clear), marking them reported, a clearing as an update."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.masterdata import database_url
from traceability.records.alarmstate import AlarmRow, AlarmSeriesRow
from traceability.records.store import RecordStore

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
ROOM = "urn:epc:id:sgln:4012345.00001.0"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    with database_url(request.param, tmp_path, request) as url:
        opened = RecordStore.open(url)
        yield opened
        opened.close()


def series(device: str | None, state: str, minute: int) -> AlarmSeriesRow:
    return AlarmSeriesRow(
        rule="high", location=ROOM, device=device, state=state,
        watermark=T0 + timedelta(minutes=minute),
    )  # fmt: skip


def alarm(cleared: datetime | None = None, body: str = "{}") -> AlarmRow:
    return AlarmRow(
        id="alm-1", rule="high", kind="temperature_high", severity="critical", location=ROOM,
        device="p1", started_at=T0, raised_at=T0 + timedelta(minutes=15), cleared_at=cleared,
        body=body,
    )  # fmt: skip


def test_round_states_are_inserted_then_updated(records: RecordStore) -> None:
    records.save_alarm_round([series("p1", '{"a":1}', 1), series(None, '{"b":1}', 1)], [])
    records.save_alarm_round([series("p1", '{"a":2}', 2)], [])
    stored = {(r.device, r.state, r.watermark) for r in records.alarm_series()}
    assert stored == {
        ("p1", '{"a":2}', T0 + timedelta(minutes=2)),
        (None, '{"b":1}', T0 + timedelta(minutes=1)),
    }


def test_reports_are_pending_until_marked_and_a_clearing_is_one_more(
    records: RecordStore,
) -> None:
    records.save_alarm_round([], [alarm(body='{"v":"raised"}')])
    records.save_alarm_round([], [alarm(body='{"v":"raised again"}')])  # a re-delivery: no-op
    (pending,) = records.unreported_alarms()
    assert (pending.alarm_id, pending.transition, pending.body) == (
        "alm-1", "raised", '{"v":"raised"}',
    )  # fmt: skip
    records.mark_alarm_reported("alm-1", "raised")
    assert records.unreported_alarms() == []
    cleared_at = T0 + timedelta(minutes=20)
    records.save_alarm_round([], [alarm(cleared_at, '{"v":"cleared"}')])
    assert [(p.transition, p.body) for p in records.unreported_alarms()] == [
        ("cleared", '{"v":"cleared"}')
    ]
    records.mark_alarm_reported("alm-1", "cleared")
    assert records.unreported_alarms() == []
    (row,) = records.stored_alarms()
    assert row.cleared_at == cleared_at
    assert records.stored_alarms(active_only=True) == []


def test_raised_and_cleared_in_one_round_report_both_in_order(records: RecordStore) -> None:
    records.save_alarm_round([], [alarm(T0 + timedelta(minutes=16))])
    assert [p.transition for p in records.unreported_alarms()] == ["raised", "cleared"]
