"""One rule over one series (a place's probe, PLC or gateway): new readings in, alarms out.

Pure: the engine hands in the series' persisted state, its readings newer than the state's
watermark (time order) and ``now`` from its clock; it gets back the new state and the
alarms raised or cleared, which it stores in one transaction.

Condition rules (temperature, door open). The condition starts at the first reading past
the threshold (strictly above ``above_c`` / below ``below_c``; the door signal true) and
the alarm is raised by whichever comes first:

- a reading still past it at least ``for_min`` after the start (``raised_at`` = that
  reading's device time), or
- ``now`` at least ``for_min`` after the start with no reading back in band since
  (``raised_at`` = now): a probe that publishes rarely, or stops while out of band, must
  still alarm on time ("within 60 s of the duration being exceeded"), not at its next
  reading.

It clears at the first reading back in band (``cleared_at`` = that reading's time); the
peak (highest above, lowest below) is kept through the condition. A reading on the other
side of a dual band ends one condition and starts the other.

Silence rules (probe offline, gateway lost): raised when ``now`` - the last reading exceeds
the window (``started_at`` = the last reading, ``raised_at`` = now), cleared by the next
reading. A gap longer than the window between two readings of a backlog (the hub was down
while the probe was) is raised and cleared from those readings' times, so no outage goes
unrecorded. Device time comes from the readings only; ``now`` only from the caller.
The window is ``silent_min``, or ``intervals`` × the probe's median interval once
``MIN_GAPS`` intervals are seen. Until then a rule with ``intervals`` alone uses
``intervals`` × the longest interval seen, and never less than ``DEFAULT_INTERVAL_S`` (a
probe that published three readings and died still alarms; give ``silent_min`` too for a
probe slower than that).

Out of scope (``leave``): a series whose rule no longer applies (its ``applies_to.products``
lots left the place) is not frozen. An alarm still active goes on being evaluated under
the limits it was raised with and clears as usual, at the first reading back in band (a
silent probe: its next reading); nothing new is raised, and a condition not yet raised is
dropped. The watermark moves on, so when the scope matches again the rule starts from
then, not from readings seen while it did not apply.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from traceability.alarms.model import Alarm, AlarmKind, alarm_id
from traceability.alarms.rules import (
    DoorOpenRule,
    GatewayLostRule,
    ProbeOfflineRule,
    SeriesRule,
    TemperatureRule,
)

Side = Literal["above", "below", "open"]
MAX_GAPS = 20  # intervals kept for a probe's median
MIN_GAPS = 3  # intervals observed before the median stands for the probe
DEFAULT_INTERVAL_S = 60.0  # a probe's interval until its median is known (``intervals`` alone)


class Reading(BaseModel):
    """One value of a series at its device time (door: 1.0 open, 0.0 closed)."""

    model_config = ConfigDict(frozen=True)

    time: AwareDatetime
    value: float


class Subject(BaseModel):
    """What a series is about, as the alarm names it."""

    model_config = ConfigDict(frozen=True)

    location: str
    device: str | None = None
    site: str | None = None
    place_name: str | None = None


class Limits(BaseModel):
    """A temperature rule's thresholds at one place (``band: product`` resolved)."""

    model_config = ConfigDict(frozen=True)

    above_c: float | None = None
    below_c: float | None = None


class SeriesState(BaseModel):
    """What one rule remembers of one series between rounds (stored as JSON)."""

    model_config = ConfigDict(frozen=True)

    last_time: AwareDatetime | None = None  # the newest reading processed: the watermark
    last_value: float | None = None
    side: Side | None = None  # the condition in progress, if any
    since: AwareDatetime | None = None  # its first reading past the threshold
    peak: float | None = None
    active: Alarm | None = None  # raised and not cleared
    gaps_s: tuple[float, ...] = ()  # recent intervals between readings


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: SeriesState
    alarms: tuple[Alarm, ...] = ()  # in order; cleared ones have ``cleared_at`` set


def evaluate(
    rule: SeriesRule,
    subject: Subject,
    readings: Sequence[Reading],
    state: SeriesState,
    now: datetime,
    limits: Limits | None = None,
) -> Evaluation:
    """The new state and the alarms raised or cleared. Readings at or before the state's
    watermark were processed already and are skipped, so re-reading is idempotent.
    ``limits``: a temperature rule's thresholds here (None: the rule's own)."""
    fresh = [r for r in readings if state.last_time is None or r.time > state.last_time]
    if isinstance(rule, TemperatureRule | DoorOpenRule):
        if isinstance(rule, TemperatureRule) and limits is None:
            limits = Limits(above_c=rule.above_c, below_c=rule.below_c)
        return _condition(rule, subject, fresh, state, now, limits or Limits())
    return _silence(rule, subject, fresh, state, now)


def leave(
    rule: SeriesRule,
    subject: Subject,
    readings: Sequence[Reading],
    state: SeriesState,
    now: datetime,
) -> Evaluation:
    """The series no longer in the rule's scope: its active alarm, if any, clears as usual
    (under the limits it was raised with); nothing new is raised; the readings move the
    watermark on."""
    active = state.active
    if active is not None:
        limits = None
        if isinstance(rule, TemperatureRule) and rule.band == "product":
            # The products are gone: hold the alarm's own threshold on its side.
            above = state.side == "above"
            threshold = active.threshold_c
            limits = Limits(above_c=threshold if above else None,
                            below_c=None if above else threshold)  # fmt: skip
        result = evaluate(rule, subject, readings, state, now, limits)
        cleared = next((a for a in result.alarms if a.id == active.id and a.cleared_at), None)
        if cleared is None:
            return result  # still out of band: the alarm stays, nothing else was raised
        return Evaluation(state=_idle(result.state), alarms=(cleared,))
    fresh = [r for r in readings if state.last_time is None or r.time > state.last_time]
    for reading in fresh:
        state = _seen(state, reading)
    return Evaluation(state=_idle(state))


def _idle(state: SeriesState) -> SeriesState:
    """No condition in progress and no alarm (the watermark and intervals kept)."""
    return state.model_copy(update={"side": None, "since": None, "peak": None, "active": None})


def _condition(
    rule: TemperatureRule | DoorOpenRule,
    subject: Subject,
    readings: Sequence[Reading],
    state: SeriesState,
    now: datetime,
    limits: Limits,
) -> Evaluation:
    hold = timedelta(minutes=rule.for_min)
    out: list[Alarm] = []
    for reading in readings:
        side = _side(rule, limits, reading.value)
        if side != state.side:
            if state.active is not None:
                out.append(_cleared(state, reading.time))
            state = state.model_copy(
                update={
                    "side": side,
                    "since": reading.time if side else None,
                    "peak": reading.value if side else None,
                    "active": None,
                }
            )
        elif side is not None and state.peak is not None:
            worse = max if side == "above" else min
            state = state.model_copy(update={"peak": worse(state.peak, reading.value)})
        state = _seen(state, reading)
        if (
            state.side is not None
            and state.since is not None
            and state.active is None
            and reading.time - state.since >= hold
        ):
            state = _raise(rule, subject, state, limits, reading.time, out)
    if (
        state.side is not None
        and state.since is not None
        and state.active is None
        and now - state.since >= hold
    ):
        state = _raise(rule, subject, state, limits, now, out)
    return Evaluation(state=state, alarms=tuple(out))


def _silence(
    rule: ProbeOfflineRule | GatewayLostRule,
    subject: Subject,
    readings: Sequence[Reading],
    state: SeriesState,
    now: datetime,
) -> Evaluation:
    out: list[Alarm] = []
    for reading in readings:
        window = _window(rule, state.gaps_s)
        previous = state.last_time
        if (
            state.active is None
            and previous is not None
            and window is not None
            and reading.time - previous > window
        ):
            state = _raise_silent(rule, subject, state, previous, previous + window, out)
        if state.active is not None:
            out.append(_cleared(state, reading.time))
            state = state.model_copy(update={"active": None})
        # While a fallback window stands in for the median, every interval is the rhythm
        # being learnt (a slow probe's first gaps are past the fallback, not outages).
        state = _seen(state, reading, None if _learning(rule, state.gaps_s) else window)
    window = _window(rule, state.gaps_s)
    last = state.last_time
    if state.active is None and last is not None and window is not None and now - last > window:
        state = _raise_silent(rule, subject, state, last, now, out)
    return Evaluation(state=state, alarms=tuple(out))


def _side(rule: TemperatureRule | DoorOpenRule, limits: Limits, value: float) -> Side | None:
    if isinstance(rule, DoorOpenRule):
        return "open" if value >= 0.5 else None
    if limits.above_c is not None and value > limits.above_c:
        return "above"
    if limits.below_c is not None and value < limits.below_c:
        return "below"
    return None


def _seen(state: SeriesState, reading: Reading, window: timedelta | None = None) -> SeriesState:
    gaps = state.gaps_s
    if state.last_time is not None:
        gap = (reading.time - state.last_time).total_seconds()
        # An outage is not the probe's rhythm: keep it out of the median.
        if gap > 0 and (window is None or gap <= window.total_seconds()):
            gaps = (*gaps, gap)[-MAX_GAPS:]
    return state.model_copy(
        update={"last_time": reading.time, "last_value": reading.value, "gaps_s": gaps}
    )


def _learning(rule: ProbeOfflineRule | GatewayLostRule, gaps: Sequence[float]) -> bool:
    return (
        isinstance(rule, ProbeOfflineRule)
        and rule.intervals is not None
        and rule.silent_min is None
        and len(gaps) < MIN_GAPS
    )


def _window(rule: ProbeOfflineRule | GatewayLostRule, gaps: Sequence[float]) -> timedelta | None:
    if isinstance(rule, ProbeOfflineRule) and rule.intervals is not None:
        if len(gaps) >= MIN_GAPS:
            return timedelta(seconds=rule.intervals * statistics.median(gaps))
        if _learning(rule, gaps):  # the median is not known yet: a fallback, never none
            return timedelta(seconds=rule.intervals * max((DEFAULT_INTERVAL_S, *gaps)))
    return None if rule.silent_min is None else timedelta(minutes=rule.silent_min)


def _raise(
    rule: TemperatureRule | DoorOpenRule,
    subject: Subject,
    state: SeriesState,
    limits: Limits,
    at: datetime,
    out: list[Alarm],
) -> SeriesState:
    assert state.since is not None  # callers checked
    assert state.side is not None
    name = subject.place_name or subject.location
    held = _duration(at - state.since)
    if isinstance(rule, DoorOpenRule):
        kind: AlarmKind = "door_open"
        threshold = None
        peak = None
        plc = f" (PLC {subject.device})" if subject.device else ""
        summary = f"{name}: door open for {held}{plc}"
    else:
        above = state.side == "above"
        kind = "temperature_high" if above else "temperature_low"
        threshold = limits.above_c if above else limits.below_c
        peak = state.peak
        value = state.last_value if state.last_value is not None else state.peak
        probe = f" (probe {subject.device})" if subject.device else ""
        summary = (
            f"{name}: {value:.1f} °C, {'above' if above else 'below'} {threshold:.1f} °C "
            f"for {held}{probe}"
        )
    alarm = _alarm(rule.id, kind, rule.severity, subject, state.since, at, summary)
    alarm = alarm.model_copy(update={"peak_c": peak, "threshold_c": threshold})
    out.append(alarm)
    return state.model_copy(update={"active": alarm})


def _raise_silent(
    rule: ProbeOfflineRule | GatewayLostRule,
    subject: Subject,
    state: SeriesState,
    last: datetime,
    at: datetime,
    out: list[Alarm],
) -> SeriesState:
    held = _duration(at - last)
    stamp = last.strftime("%H:%M UTC")
    if isinstance(rule, GatewayLostRule):
        kind: AlarmKind = "gateway_lost"
        summary = f"Gateway {subject.device or subject.location}: no heartbeat for {held} "
        summary += f"(last {stamp})"
    else:
        kind = "probe_offline"
        name = subject.place_name or subject.location
        summary = f"{name}: probe {subject.device} silent for {held} (last reading {stamp})"
    alarm = _alarm(rule.id, kind, rule.severity, subject, last, at, summary)
    out.append(alarm)
    return state.model_copy(update={"active": alarm})


def _alarm(
    rule: str,
    kind: AlarmKind,
    severity: Literal["warning", "critical"],
    subject: Subject,
    started: datetime,
    raised: datetime,
    summary: str,
) -> Alarm:
    return Alarm(
        id=alarm_id(rule, subject.location, subject.device, started),
        rule=rule,
        kind=kind,
        severity=severity,
        site=subject.site,
        location=subject.location,
        place_name=subject.place_name,
        device=subject.device,
        started_at=started,
        raised_at=raised,
        summary=summary,
    )


def _cleared(state: SeriesState, at: datetime) -> Alarm:
    assert state.active is not None  # callers checked
    update: dict[str, object] = {"cleared_at": at}
    if state.active.peak_c is not None:
        update["peak_c"] = state.peak
    return state.active.model_copy(update=update)


def _duration(span: timedelta) -> str:
    """Whole minutes, or seconds under one: "for 16 min", "for 12 s" (a short test
    rule must not read "for 0 min")."""
    seconds = max(0.0, span.total_seconds())
    return f"{round(seconds / 60)} min" if seconds >= 60 else f"{round(seconds)} s"
