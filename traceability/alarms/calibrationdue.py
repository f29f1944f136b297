"""The ``calibration_due`` alarm (issue #20): a probe whose current calibration is due
within ``within`` (default 30 days) or overdue (pure, plus the round's small state).

EVENT-LIKE, as the lot alarms (``lotalarms``): raised and cleared at once, since nothing
later "ends" a due date (a new certificate makes a new due date, and a new alarm when
that one comes near). At most two alarms per probe per due date: a warning while it is
due soon (id ``event_alarm_id(rule, probe, due date)``) and a critical one once it is
overdue (the same with ``"overdue"``), so a warning raised before the due date escalates
to a new critical alarm when the date passes. The records store an alarm once by id, so
a re-evaluation or a restart adds nothing. A probe first seen already overdue raises the
critical one only.

The records judged are the signed ones (``records()``: the composition root passes the
ledger's, ``traceability.masterdata.calibration``), never the editable rows: deleting a
row from the database does not silence the alarm.

The alarm's ``location`` and ``device`` are the probe's id: the alarm is about the
probe, not about the lots at its place (an incident of it names no lot), and each probe
gets its own incident. ``CalibrationWatch`` is what the engine runs after the series and
lot rules, at most every ``every`` (default one hour): the due dates move by days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from traceability.alarms.model import Alarm, event_alarm_id
from traceability.calibration.record import Calibration
from traceability.calibration.status import DEFAULT_DUE_WITHIN, due_within

RULE = "calibration_due"


def calibration_alarms(
    records: Iterable[Calibration],
    now: datetime,
    within: timedelta = DEFAULT_DUE_WITHIN,
    rule: str = RULE,
) -> list[Alarm]:
    """One alarm per probe whose newest record is due before ``now + within``."""
    found = []
    for record in due_within(records, now, within):
        overdue = now >= record.due_at
        state = f"overdue since {record.due_on}" if overdue else f"due on {record.due_on}"
        about = (record.probe, record.due_on.isoformat(), *(("overdue",) if overdue else ()))
        found.append(
            Alarm(
                id=event_alarm_id(rule, *about),
                rule=rule,
                kind="calibration_due",
                severity="critical" if overdue else "warning",
                site=None,
                location=record.probe,
                place_name=None,
                device=record.probe,
                started_at=now,
                raised_at=now,
                cleared_at=now,
                summary=(
                    f"Probe {record.probe}: calibration {state} (certificate "
                    f"{record.certificate_number}, {record.lab})"
                ),
            )
        )
    return found


class CalibrationWatch:
    """The engine's calibration round: ``records()`` (the signed calibrations) judged
    at most every ``every``; alarms already handed on are not handed again."""

    def __init__(
        self,
        records: Callable[[], Sequence[Calibration]],
        within: timedelta = DEFAULT_DUE_WITHIN,
        every: timedelta = timedelta(hours=1),
        rule: str = RULE,
    ) -> None:
        self._records = records
        self._within = within
        self._every = every
        self._rule = rule
        self._last: datetime | None = None
        self._saved: set[str] = set()

    def run(self, now: datetime) -> list[Alarm]:
        """The alarms to store this round (none between evaluations)."""
        if self._last is not None and now - self._last < self._every:
            return []
        found = calibration_alarms(self._records(), now, self._within, self._rule)
        self._last = now
        return [alarm for alarm in found if alarm.id not in self._saved]

    def saved(self, alarms: Iterable[Alarm]) -> None:
        """The engine committed these: not handed on again by this process."""
        self._saved.update(alarm.id for alarm in alarms)
