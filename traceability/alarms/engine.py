"""The alarm engine: every round, read what arrived, evaluate every rule, store, report.

A round (``run_once``):

1. read each measurement the rules need: everything since the newest reading seen minus
   ``overlap_s`` (late writes), and each series whose own watermark is older from its
   watermark (``readings``) — never more than ``lookback_s`` back. Readings at or before a
   series' watermark were processed already and are skipped (``evaluation``), so a re-read
   raises nothing new; a series' readings are expected in time order (the gateway's spool
   drains in order), and one older than its series' watermark is not evaluated;
2. evaluate every rule over every series it applies to (those read now and those known
   from the stored state, so a silent probe is still looked at); a known series that left
   a rule's product scope (its lots moved out) is handed to ``evaluation.leave``, so an
   alarm it had raised still clears at its first reading back in band;
3. write the changed states and the alarms in ONE transaction;
4. call the sink for every transition not yet reported — this round's and any an earlier
   round or process committed but could not mark — oldest first, marking each reported
   after its call. A crash (SIGKILL) after the commit leaves it unreported and the next
   round (of this process or the next) delivers it; the sinks are idempotent by alarm id,
   so a crash after the call and before the mark is harmless. A failing sink delays
   reports but never evaluation: the state and alarms are committed first.

The lot rules (``stability_budget``, ``wrong_place``) run after the series rules in the
same round (``lotwatch.LotWatch``, given as ``lots``): their rows and event-like alarms
are committed in a second transaction and reported the same way, so an outage of their
sources (an exposure, the tag reads) postpones only them.
The ``calibration_due`` alarms (``calibrationdue.CalibrationWatch``, given as
``calibrations``) come last, in a third transaction, the same way.

``AlarmLoop`` runs rounds in a thread supervised like the anchoring loop (component
``alarms``): an outage (InfluxDB, the records, a sink's ``TraceabilityError``) is reported
and waited out; anything else crashes the round and the supervisor restarts it with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from supervision.supervisor import Component, Supervisor
from traceability.alarms.calibrationdue import CalibrationWatch
from traceability.alarms.evaluation import Limits, SeriesState, Subject, evaluate, leave
from traceability.alarms.lotwatch import LotWatch, lot_rules
from traceability.alarms.model import Alarm, AlarmSink
from traceability.alarms.places import Places
from traceability.alarms.readings import Measure, ReadingSource, Series, SeriesKey
from traceability.alarms.rules import (
    RuleSet,
    SeriesRule,
    StabilityBudgetRule,
    TemperatureRule,
    WrongPlaceRule,
)
from traceability.errors import TraceabilityError
from traceability.leadership import Leadership
from traceability.records.alarmstate import (
    AlarmRow,
    AlarmSeriesRow,
    PendingReport,
    Transition,
)
from traceability.records.database import now_utc

log = logging.getLogger(__name__)
COMPONENT = "alarms"  # its name in the supervisor's report

MEASURE: dict[str, Measure] = {
    "temperature": "temperature",
    "probe_offline": "temperature",
    "door_open": "door",
    "gateway_lost": "heartbeat",
}


class AlarmStore(Protocol):
    """The records the engine keeps (``traceability.records.alarmstate.AlarmStateRecords``)."""

    def alarm_series(self) -> list[AlarmSeriesRow]: ...

    def save_alarm_round(
        self, series: Sequence[AlarmSeriesRow], raised: Sequence[AlarmRow]
    ) -> None: ...

    def unreported_alarms(self) -> list[PendingReport]: ...

    def mark_alarm_reported(self, alarm_id: str, transition: Transition) -> None: ...


class _Stored(BaseModel):
    """A series' stored JSON: the evaluation state and the site (a silent series' alarm
    still names it)."""

    model_config = ConfigDict(frozen=True)

    site: str | None = None
    state: SeriesState = SeriesState()


class AlarmEngine:
    """Evaluates ``rules`` over the readings of ``source``; keeps state in ``records``;
    reports every raised and cleared alarm to ``sink``."""

    def __init__(
        self,
        rules: RuleSet,
        source: ReadingSource,
        records: AlarmStore,
        sink: AlarmSink,
        places: Places,
        clock: Callable[[], datetime] = now_utc,
        *,
        lookback_s: float = 3600.0,
        overlap_s: float = 120.0,
        lots: LotWatch | None = None,
        calibrations: CalibrationWatch | None = None,
    ) -> None:
        """``lots``: runs the lot rules (None: they are not evaluated); ``calibrations``:
        the calibration_due alarms (None: not evaluated); ``lookback_s``: how
        far back anything is read (a fresh database, an outage of the hub); ``overlap_s``:
        how far behind the newest reading the shared read starts (late writes); a series
        whose watermark is older is read on its own from there."""
        self.rules = rules
        self._lot_rules = {rule.id for rule in lot_rules(rules)}
        self._series_rules: tuple[SeriesRule, ...] = tuple(
            r for r in rules.rules if not isinstance(r, StabilityBudgetRule | WrongPlaceRule)
        )
        self._lots = lots
        self._calibrations = calibrations
        self._source = source
        self._records = records
        self._sink = sink
        self._places = places
        self._clock = clock
        self._lookback = timedelta(seconds=lookback_s)
        self._overlap = timedelta(seconds=overlap_s)
        # Newest reading read per measure, so a measure no kept series follows (none
        # matches a rule) is not re-read ``lookback_s`` back every round.
        self._newest: dict[Measure, datetime] = {}

    def run_once(self) -> list[Alarm]:
        """One round; the alarms raised or cleared in it (cleared ones have
        ``cleared_at``), each already delivered to the sink."""
        now = self._clock()
        rows = self._records.alarm_series()
        stored: dict[tuple[str, str, str | None], _Stored] = {
            (row.rule, row.location, row.device): _Stored.model_validate_json(row.state)
            for row in rows
            if row.rule not in self._lot_rules
        }
        data = {
            measure: self._read(measure, stored, now)
            for measure in sorted({MEASURE[rule.kind] for rule in self._series_rules})
        }
        changed: list[AlarmSeriesRow] = []
        transitions: list[Alarm] = []
        for rule in self._series_rules:
            found = data[MEASURE[rule.kind]]
            keys = dict.fromkeys(found)
            for rule_id, location, device in stored:
                if rule_id == rule.id:
                    keys.setdefault(SeriesKey(location=location, device=device))
            for key in keys:
                before = stored.get((rule.id, key.location, key.device))
                series = found.get(key) or Series()
                after = self._evaluate(rule, key, series, before, now)
                if after is None or after[0] == before:
                    continue
                changed.append(
                    AlarmSeriesRow(
                        rule=rule.id,
                        location=key.location,
                        device=key.device,
                        state=after[0].model_dump_json(),
                        watermark=after[0].state.last_time,
                    )
                )
                transitions.extend(after[1])
        latest = {alarm.id: alarm for alarm in transitions}  # raised and cleared: the cleared
        if changed or latest:
            self._records.save_alarm_round(changed, [_row(a) for a in latest.values()])
        self.report_pending()
        if self._lots is not None and self._lots.rules:
            lot_stored = {(r.rule, r.location): r.state for r in rows if r.rule in self._lot_rules}
            lot_rows, events = self._lots.run(lot_stored, now)
            if lot_rows or events:
                self._records.save_alarm_round(lot_rows, [_row(a) for a in events])
                self.report_pending()
            transitions.extend(events)
        if self._calibrations is not None:
            due = self._calibrations.run(now)
            if due:
                self._records.save_alarm_round([], [_row(a) for a in due])
                self._calibrations.saved(due)
                self.report_pending()
            transitions.extend(due)
        return transitions

    def report_pending(self) -> int:
        """Deliver every committed, unreported transition (oldest first); how many."""
        pending = self._records.unreported_alarms()
        for report in pending:
            alarm = Alarm.model_validate_json(report.body)
            if report.transition == "raised":
                self._sink.raised(alarm.model_copy(update={"cleared_at": None}))
            else:
                self._sink.cleared(alarm)
            self._records.mark_alarm_reported(report.alarm_id, report.transition)
        return len(pending)

    def _read(
        self, measure: Measure, stored: Mapping[tuple[str, str, str | None], _Stored], now: datetime
    ) -> Mapping[SeriesKey, Series]:
        oldest = now - self._lookback
        marks: dict[SeriesKey, datetime] = {}
        for (rule_id, location, device), one in stored.items():
            last = one.state.last_time
            if last is None or self._measure_of(rule_id) != measure:
                continue
            key = SeriesKey(location=location, device=device)
            marks[key] = min(last, marks.get(key, last))
        known = [*marks.values(), *([self._newest[measure]] if measure in self._newest else [])]
        if not known:
            found = self._source.readings(measure, oldest)
        else:
            # A device clock ahead of the hub must not push everyone else "behind".
            since = max(oldest, min(max(known), now) - self._overlap)
            behind = {key: max(mark, oldest) for key, mark in marks.items() if mark < since}
            found = self._source.readings(measure, since, behind)
        newest = [series.readings[-1].time for series in found.values() if series.readings]
        if newest:
            self._newest[measure] = max([*newest, *known])
        return found

    def _measure_of(self, rule_id: str) -> Measure | None:
        for rule in self._series_rules:
            if rule.id == rule_id:
                return MEASURE[rule.kind]
        return None

    def _evaluate(
        self,
        rule: SeriesRule,
        key: SeriesKey,
        series: Series,
        before: _Stored | None,
        now: datetime,
    ) -> tuple[_Stored, tuple[Alarm, ...]] | None:
        """The series' new stored state and its transitions; None: the rule does not apply."""
        readings = series.readings
        place = None if rule.kind == "gateway_lost" else self._places.place(key.location)
        site = series.site or (place.site if place is not None else None)
        if site is None and before is not None:
            site = before.site
        scope = rule.applies_to
        if not scope.matches_place(key.location, place.kind if place else None, site):
            return None  # before asking for the products: that is the costly question
        subject = Subject(
            location=key.location,
            device=key.device,
            site=site,
            place_name=place.name if place is not None else None,
        )
        state = before.state if before is not None else SeriesState()
        limits: Limits | None = None
        needs_band = isinstance(rule, TemperatureRule) and rule.band == "product"
        if scope.products or needs_band:
            start = readings[0].time if readings else now
            products = self._places.products_at(key.location, min(start, now), now)
            if not scope.matches_products(p.gtin for p in products):
                if before is None:
                    return None  # never in scope: nothing to remember
                # Left the scope (the lots went): never freeze an active alarm.
                left = leave(rule, subject, readings, state, now)
                return _Stored(site=site, state=left.state), left.alarms
            if needs_band:
                limits = Limits(
                    above_c=_bound(min, (p.temp_max_c for p in products)),
                    below_c=_bound(max, (p.temp_min_c for p in products)),
                )
        result = evaluate(rule, subject, readings, state, now, limits)
        return _Stored(site=site, state=result.state), result.alarms


class AlarmLoop:
    """Runs engine rounds every ``interval_s`` in a supervised thread."""

    def __init__(
        self,
        engine: AlarmEngine,
        interval_s: float = 5.0,
        supervisor: Supervisor | None = None,
        *,
        leadership: Leadership | None = None,
        on_lead: Callable[[], object] | None = None,
    ) -> None:
        """``leadership``: replicas share the rules' evaluation, one round at a time by
        one of them (the others stand by); ``on_lead`` runs each time this one takes the
        lead, before its first round (finishing what a killed leader left half done)."""
        if interval_s <= 0:
            raise ValueError(f"interval_s {interval_s}: must be more than 0")
        self.engine = engine
        self._interval = interval_s
        self._leadership = leadership
        self._on_lead = on_lead
        self._supervisor = supervisor or Supervisor()
        self._wake = threading.Event()
        self._component: Component | None = None

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(COMPONENT, self._run, thread_name="alarms")

    def run_once(self) -> list[Alarm]:
        return self.engine.run_once()

    def wake(self) -> None:
        """Run a round now (e.g. after a rule file reload)."""
        self._wake.set()

    def _leads(self) -> bool:
        if self._leadership is None:
            return True
        was = self._leadership.leading
        if not self._leadership.hold():
            return False
        if not was and self._on_lead is not None:
            self._on_lead()
        return True

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            try:
                if not self._leads():
                    component.succeeded()  # standing by is healthy
                    self._wake.wait(self._interval)
                    self._wake.clear()
                    continue
                for alarm in self.run_once():
                    verb = "cleared" if alarm.cleared_at is not None else "raised"
                    log.info("alarm %s %s: %s", alarm.id, verb, alarm.summary)
            except TraceabilityError as exc:
                log.warning("alarm round postponed: %s", exc)
                component.failed(exc)
            else:
                component.succeeded()
            self._wake.wait(self._interval)
            self._wake.clear()

    def stop(self) -> None:
        if self._component is not None:
            self._component.stopping.set()
            self._wake.set()
            self._component.stop(timeout=30)
            self._component = None
        if self._leadership is not None:
            self._leadership.release()


def _row(alarm: Alarm) -> AlarmRow:
    return AlarmRow(
        id=alarm.id,
        rule=alarm.rule,
        kind=alarm.kind,
        severity=alarm.severity,
        location=alarm.location,
        device=alarm.device,
        started_at=alarm.started_at,
        raised_at=alarm.raised_at,
        cleared_at=alarm.cleared_at,
        body=alarm.model_dump_json(),
    )


def _bound(pick: Callable[[list[float]], float], values: Iterable[float | None]) -> float | None:
    """The tightest of the known limits (``min`` of the maxima, ``max`` of the minima)."""
    known = [v for v in values if v is not None]
    return pick(known) if known else None
