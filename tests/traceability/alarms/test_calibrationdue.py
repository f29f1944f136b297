"""The calibration_due alarm: a probe due within 30 days or overdue raises one event-like
alarm per due date, through the real engine and SQLite records (its store of alarms by
id): not again next round, after a restart or when the due date passes; a new
certificate's due date is a new alarm; a probe recalibrated in time raises none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from tests.traceability.alarms.test_engine import Recorder
from traceability.alarms.calibrationdue import CalibrationWatch, calibration_alarms
from traceability.alarms.engine import AlarmEngine
from traceability.alarms.model import Alarm
from traceability.alarms.places import RecordPlaces
from traceability.alarms.readings import Measure, Series, SeriesKey
from traceability.alarms.rules import RuleSet
from traceability.calibration.record import Calibration
from traceability.custody import CustodyService
from traceability.records.store import RecordStore

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
P7, P8 = "wh1/temperature/probe-7", "wh1/temperature/probe-8"


def cal(probe: str, on: date, due: date, number: str) -> Calibration:
    return Calibration(
        probe=probe, calibrated_on=on, due_on=due, lab="Lab Nord",
        certificate_number=number, uncertainty_c=0.15,
    )  # fmt: skip


class NoReadings:
    """No series rule runs: the engine must not read InfluxDB at all."""

    def readings(
        self, measure: Measure, since: datetime, behind: dict[SeriesKey, datetime] | None = None
    ) -> dict[SeriesKey, Series]:
        raise AssertionError("no series rule: nothing to read")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _engine(store: RecordStore, sink: Recorder, clock: Clock) -> AlarmEngine:
    places = RecordPlaces(store, CustodyService(store), clock)
    watch = CalibrationWatch(store.calibrations)
    return AlarmEngine(RuleSet(), NoReadings(), store, sink, places, clock, calibrations=watch)  # type: ignore[arg-type]


def _raised(sink: Recorder) -> list[Alarm]:
    return [alarm for what, alarm in sink.calls if what == "raised"]


def test_one_alarm_per_probe_and_due_date(store: RecordStore) -> None:
    store.add_calibrations([
        cal(P7, date(2025, 12, 20), date(2026, 12, 20), "KN-1"),  # due in 19 days
        cal(P8, date(2025, 12, 1), date(2026, 12, 1) + timedelta(days=60), "KN-2"),  # not yet
    ])  # fmt: skip
    sink, clock = Recorder(), Clock()
    engine = _engine(store, sink, clock)
    (alarm,) = engine.run_once()
    assert (alarm.kind, alarm.severity, alarm.device, alarm.location) == (
        "calibration_due", "warning", P7, P7,
    )  # fmt: skip
    assert (
        alarm.summary == f"Probe {P7}: calibration due on 2026-12-20 (certificate KN-1, Lab Nord)"
    )
    assert [what for what, _ in sink.calls] == ["raised", "cleared"]  # event-like
    clock.now += timedelta(hours=2)
    assert engine.run_once() == []
    # A restart (a new engine and watch) before the due date: the same alarm, kept once.
    clock.now = datetime(2026, 12, 19, tzinfo=UTC)
    _engine(store, sink, clock).run_once()
    assert len(_raised(sink)) == 1
    # The due date passing: the warning escalates to a new, critical alarm (once).
    clock.now = datetime(2026, 12, 21, tzinfo=UTC)
    restarted = _engine(store, sink, clock)
    restarted.run_once()
    clock.now += timedelta(hours=2)
    restarted.run_once()
    _engine(store, sink, clock).run_once()
    assert [a.severity for a in _raised(sink)] == ["warning", "critical"]
    assert "overdue since 2026-12-20" in _raised(sink)[1].summary
    assert len(store.stored_alarms()) == 2
    # Recalibrated, due again within 30 days next year: a new due date, a new alarm.
    store.add_calibrations([cal(P7, date(2026, 12, 22), date(2027, 1, 10), "KN-9")])
    clock.now = datetime(2026, 12, 23, tzinfo=UTC)
    _engine(store, sink, clock).run_once()
    assert [a.summary.split(": ", 1)[1][:30] for a in _raised(sink)] == [
        "calibration due on 2026-12-20 ",
        "calibration overdue since 2026",
        "calibration due on 2027-01-10 ",
    ]


def test_an_overdue_probe_is_critical_and_a_recalibrated_one_is_quiet() -> None:
    records: Sequence[Calibration] = [
        cal(P7, date(2025, 1, 1), date(2026, 1, 1), "OLD"),
        cal(P7, date(2026, 1, 2), date(2027, 1, 2), "NEW"),
        cal(P8, date(2025, 1, 1), date(2026, 11, 1), "LATE"),
    ]
    (alarm,) = calibration_alarms(records, NOW)
    assert (alarm.device, alarm.severity) == (P8, "critical")
    assert "overdue since 2026-11-01" in alarm.summary
    assert calibration_alarms(records, NOW) == [alarm]  # the same id whenever judged
    assert calibration_alarms(records, NOW, within=timedelta(days=0)) == [alarm]
