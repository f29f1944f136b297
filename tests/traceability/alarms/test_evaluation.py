"""Evaluation scenarios: one rule over one series' readings, pure (no InfluxDB, no DB)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from traceability.alarms.evaluation import (
    Evaluation,
    Limits,
    Reading,
    SeriesState,
    Subject,
    evaluate,
    leave,
)
from traceability.alarms.model import alarm_id
from traceability.alarms.rules import (
    DoorOpenRule,
    GatewayLostRule,
    ProbeOfflineRule,
    SeriesRule,
    TemperatureRule,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ROOM = Subject(location="urn:epc:id:sgln:0614141.00001.1", device="probe-1", site="s1",
               place_name="Cold room 1")  # fmt: skip
HIGH = TemperatureRule(kind="temperature", id="high", above_c=8.0, for_min=15)
DUAL = TemperatureRule(kind="temperature", id="dual", above_c=8.0, below_c=2.0, for_min=10)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def series(values: Sequence[float], start: float = 0, every: float = 1) -> list[Reading]:
    return [Reading(time=at(start + i * every), value=v) for i, v in enumerate(values)]


def run(
    rule: SeriesRule, readings: Sequence[Reading], now: datetime, state: SeriesState | None = None
) -> Evaluation:
    return evaluate(rule, ROOM, readings, state or SeriesState(), now)


def test_sixteen_minute_excursion_with_for_min_15_raises_once_at_the_fifteenth_minute() -> None:
    # in band 0..4, out 5..20 (16 readings at 9.x °C), back in band from 21
    values = [5.0] * 5 + [9.0 + (i % 3) / 10 for i in range(16)] + [5.0] * 4
    readings = series(values)
    done = run(HIGH, readings, now=readings[-1].time)
    raised, cleared = done.alarms
    assert raised.cleared_at is None
    assert raised.kind == "temperature_high"
    assert raised.started_at == at(5)
    assert raised.raised_at == at(20)  # the first reading 15 min after the start
    assert raised.threshold_c == 8.0
    assert raised.id == alarm_id("high", ROOM.location, "probe-1", at(5))
    assert raised.summary == "Cold room 1: 9.0 °C, above 8.0 °C for 15 min (probe probe-1)"
    assert cleared.id == raised.id
    assert cleared.cleared_at == at(21)
    assert cleared.peak_c == 9.2
    assert done.state.active is None
    assert done.state.last_time == at(24)


def test_fifteen_minutes_out_is_not_enough() -> None:
    readings = series([5.0] + [9.0] * 15 + [5.0])  # out 1..15: 14 min between first and last
    assert run(HIGH, readings, now=readings[-1].time).alarms == ()


def test_reading_in_one_round_and_the_next_raise_the_same_alarm_once() -> None:
    readings = series([5.0] + [9.5] * 20)
    first = run(HIGH, readings[:10], now=at(9))
    assert first.alarms == ()
    second = run(HIGH, readings, now=at(20), state=first.state)  # re-read overlaps
    assert [a.raised_at for a in second.alarms] == [at(16)]
    third = run(HIGH, readings, now=at(21), state=second.state)
    assert third.alarms == ()
    assert third.state == second.state


def test_now_past_the_duration_raises_without_a_new_reading() -> None:
    readings = series([5.0, 9.5])  # out from minute 1, then nothing (the probe publishes rarely)
    quiet = run(HIGH, readings, now=at(15.5))
    assert quiet.alarms == ()
    late = run(HIGH, [], now=at(16), state=quiet.state)
    (alarm,) = late.alarms
    assert alarm.started_at == at(1)
    assert alarm.raised_at == at(16)


def test_flapping_probe_never_raises() -> None:
    readings = series([9.5 if i % 2 else 5.0 for i in range(61)])
    done = run(HIGH, readings, now=readings[-1].time)
    assert done.alarms == ()
    assert done.state.side is None


def test_a_flap_back_in_band_restarts_the_duration() -> None:
    values = [9.5] * 10 + [7.0] + [9.5] * 16
    done = run(HIGH, series(values), now=at(26))
    (alarm,) = done.alarms
    assert alarm.started_at == at(11)
    assert alarm.raised_at == at(26)


def test_dual_band_low_side_and_switching_sides() -> None:
    values = [1.0] * 12 + [9.0] * 12
    done = run(DUAL, series(values), now=at(23))
    low, low_cleared, high = done.alarms
    assert (low.kind, low.raised_at, low.threshold_c) == ("temperature_low", at(10), 2.0)
    assert low_cleared.cleared_at == at(12)
    assert (high.kind, high.started_at, high.raised_at) == ("temperature_high", at(12), at(22))


def test_band_limits_come_from_the_caller() -> None:
    band = TemperatureRule(kind="temperature", id="band", band="product", for_min=5)
    readings = series([3.0] * 10)  # in 2–8 °C, out of a 0–2 °C product's band
    assert evaluate(band, ROOM, readings, SeriesState(), at(9), Limits(above_c=8.0)).alarms == ()
    (alarm,) = evaluate(band, ROOM, readings, SeriesState(), at(9), Limits(above_c=2.0)).alarms
    assert alarm.raised_at == at(5)


def test_probe_offline_after_silent_min_and_cleared_by_the_next_reading() -> None:
    rule = ProbeOfflineRule(kind="probe_offline", id="offline", silent_min=10)
    readings = series([5.0] * 5)  # minutes 0..4
    assert run(rule, readings, now=at(14)).alarms == ()
    state = run(rule, readings, now=at(14)).state
    (offline,) = run(rule, [], now=at(14.1), state=state).alarms
    assert offline.kind == "probe_offline"
    assert offline.severity == "warning"
    assert offline.started_at == at(4)
    assert offline.raised_at == at(14.1)
    assert offline.summary.startswith("Cold room 1: probe probe-1 silent for 10 min")
    state = run(rule, [], now=at(14.1), state=state).state
    assert run(rule, [], now=at(30), state=state).alarms == ()  # raised once
    back = run(rule, series([5.0], start=31), now=at(31), state=state)
    (cleared,) = back.alarms
    assert (cleared.id, cleared.cleared_at) == (offline.id, at(31))


def test_probe_offline_by_intervals_of_its_own_median() -> None:
    rule = ProbeOfflineRule(kind="probe_offline", id="offline", intervals=3, silent_min=60)
    readings = series([5.0] * 6, every=0.5)  # every 30 s: window 90 s
    state = run(rule, readings, now=readings[-1].time).state
    assert run(rule, [], now=at(2.5 + 1.4), state=state).alarms == ()
    (alarm,) = run(rule, [], now=at(2.5 + 1.6), state=state).alarms
    assert alarm.started_at == at(2.5)


def test_a_gap_inside_a_backlog_is_raised_and_cleared() -> None:
    rule = GatewayLostRule(kind="gateway_lost", id="gw", silent_min=5)
    readings = series([1.0, 1.0]) + series([1.0], start=20)
    raised, cleared = run(rule, readings, now=at(20)).alarms
    assert (raised.started_at, raised.raised_at, cleared.cleared_at) == (at(1), at(6), at(20))
    assert raised.kind == "gateway_lost"


def test_door_open_longer_than_allowed() -> None:
    rule = DoorOpenRule(kind="door_open", id="door", for_min=5)
    plc = ROOM.model_copy(update={"device": "plc-1"})
    values = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # open 1..7
    raised, cleared = evaluate(rule, plc, series(values), SeriesState(), at(8)).alarms
    assert (raised.kind, raised.started_at, raised.raised_at) == ("door_open", at(1), at(6))
    assert raised.summary == "Cold room 1: door open for 5 min (PLC plc-1)"
    assert cleared.cleared_at == at(8)
    short = [0.0, 1.0, 1.0, 0.0]
    assert evaluate(rule, plc, series(short), SeriesState(), at(3)).alarms == ()


def test_probe_offline_by_intervals_alone_fires_before_the_median_is_known() -> None:
    # Review #4: three readings (two intervals, the median needs three), then the probe died.
    rule = ProbeOfflineRule(kind="probe_offline", id="offline", intervals=3)
    state = run(rule, series([5.0] * 3), now=at(2)).state
    (alarm,) = run(rule, [], now=at(2 + 2 * 24 * 60), state=state).alarms
    assert alarm.started_at == at(2)
    # The fallback is intervals × the longest interval seen, at least 60 s: 3 min here.
    assert run(rule, [], now=at(2 + 2.9), state=state).alarms == ()
    assert len(run(rule, [], now=at(2 + 3.1), state=state).alarms) == 1


def test_probe_offline_by_intervals_alone_learns_a_slow_probe() -> None:
    rule = ProbeOfflineRule(kind="probe_offline", id="offline", intervals=3)
    readings = series([5.0] * 6, every=5)  # every 5 min, slower than the 60-s fallback
    learnt = run(rule, readings, now=readings[-1].time)
    assert len(learnt.state.gaps_s) == 5  # the first gaps count as the rhythm, not outages
    assert run(rule, [], now=at(25 + 14), state=learnt.state).alarms == ()  # window 15 min
    assert len(run(rule, [], now=at(25 + 16), state=learnt.state).alarms) == 1


def test_an_alarm_out_of_scope_clears_at_its_first_reading_back_in_band() -> None:
    # Review #3: the lot left while the alarm was raised; the room cools down later.
    raised = run(HIGH, series([12.0] * 16), now=at(15))
    assert raised.state.active is not None
    hot = leave(HIGH, ROOM, series([12.0] * 5, start=16), raised.state, at(21))
    assert hot.alarms == ()
    assert hot.state.active == raised.state.active  # still out of band: still raised
    back = leave(HIGH, ROOM, series([5.0, 12.0], start=21) + series([12.0] * 20, start=23),
                 hot.state, at(45))  # fmt: skip
    (cleared,) = back.alarms
    assert (cleared.id, cleared.cleared_at) == (raised.alarms[0].id, at(21))
    assert back.state.active is None
    assert back.state.side is None  # out of scope nothing new is raised or started
    assert back.state.last_time == at(42)


def test_a_band_alarm_out_of_scope_keeps_the_threshold_it_was_raised_with() -> None:
    band = TemperatureRule(kind="temperature", id="band", band="product", for_min=5)
    raised = evaluate(band, ROOM, series([3.0] * 6), SeriesState(), at(5), Limits(above_c=2.0))
    assert raised.state.active is not None
    still = leave(band, ROOM, series([2.5], start=6), raised.state, at(6))
    assert still.alarms == ()  # 2.5 °C is still above the 2 °C it was raised at
    (cleared,) = leave(band, ROOM, series([1.5], start=7), still.state, at(7)).alarms
    assert cleared.cleared_at == at(7)


def test_out_of_scope_without_an_alarm_moves_the_watermark_and_drops_the_condition() -> None:
    started = run(HIGH, series([12.0] * 5), now=at(4))
    assert started.state.side == "above"
    left = leave(HIGH, ROOM, series([12.0] * 30, start=5), started.state, at(40))
    assert left.alarms == ()
    assert (left.state.side, left.state.since, left.state.last_time) == (None, None, at(34))
