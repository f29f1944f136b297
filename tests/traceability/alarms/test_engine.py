"""AlarmEngine against a real InfluxDB and a real SQLite records store, with a recording sink.

The clock is injected (fixed times), the readings are written at those times, so every
round is deterministic. The places are a plain in-memory ``Places`` (master data is not
what is under test here; ``test_places.py`` tests the adapter against the records).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from influx.client import InfluxClient
from supervision.status import ComponentState
from supervision.supervisor import Supervisor
from traceability.alarms.engine import COMPONENT, AlarmEngine, AlarmLoop
from traceability.alarms.evaluation import Reading
from traceability.alarms.model import Alarm
from traceability.alarms.readings import InfluxReadingSource, Series, SeriesKey
from traceability.alarms.rules import (
    DoorOpenRule,
    GatewayLostRule,
    ProbeOfflineRule,
    RuleSet,
    Scope,
    TemperatureRule,
)
from traceability.errors import TelemetryUnavailable
from traceability.records.entities import Product
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB, free_port

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ROOM = "urn:epc:id:sgln:4012345.00001.0"
REEFER = "urn:epc:id:sgln:4012345.00009.0"
HIGH = TemperatureRule(kind="temperature", id="high", above_c=8.0, for_min=15)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def ns(minute: float) -> int:
    return int(at(minute).timestamp() * 1_000_000_000)


@dataclass
class Recorder:
    """An ``AlarmSink`` that records calls; ``fail`` makes the next N calls raise."""

    calls: list[tuple[str, Alarm]] = field(default_factory=list)
    fail: int = 0
    delivered: threading.Event = field(default_factory=threading.Event)

    def raised(self, alarm: Alarm) -> None:
        self._call("raised", alarm)

    def cleared(self, alarm: Alarm) -> None:
        self._call("cleared", alarm)

    def _call(self, what: str, alarm: Alarm) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the process dies between commit and report")
        self.calls.append((what, alarm))
        self.delivered.set()

    def seen(self) -> list[tuple[str, str]]:
        return [(what, alarm.id) for what, alarm in self.calls]


@dataclass
class FixedPlaces:
    places: dict[str, Location]
    products: dict[str, list[Product]] = field(default_factory=dict)

    def place(self, urn: str) -> Location | None:
        return self.places.get(urn)

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        return self.products.get(urn, [])


PLACES = FixedPlaces(
    {
        ROOM: Location(urn=ROOM, name="Cold room 1", kind="cold_room", site="s1"),
        REEFER: Location(urn=REEFER, name="Reefer 7", kind="reefer", site="s1"),
    }
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def influx(influxdb: InfluxDB) -> Iterator[InfluxClient]:
    client = InfluxClient(influxdb.url, f"alarms_{uuid.uuid4().hex[:8]}")
    client.create_database()
    yield client
    client.query(f'DROP DATABASE "{client.database}"')
    client.close()


@pytest.fixture
def source(influx: InfluxClient) -> Iterator[InfluxReadingSource]:
    reader = InfluxReadingSource(influx.url, influx.database)
    yield reader
    reader.close()


def temperatures(influx: InfluxClient, values: dict[float, float], probe: str = "probe-1",
                 location: str = ROOM) -> None:  # fmt: skip
    influx.write(
        [
            f"temperature,device={probe},location={location},site=s1 celsius={c} {ns(m)}"
            for m, c in values.items()
        ]
    )


def engine(
    rules: RuleSet, source: InfluxReadingSource, store: RecordStore, sink: Recorder, clock: Clock,
    places: FixedPlaces = PLACES,
) -> AlarmEngine:  # fmt: skip
    return AlarmEngine(rules, source, store, sink, places, clock)


def test_excursion_raises_once_clears_and_a_re_read_adds_nothing(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    sink, clock = Recorder(), Clock(at(12))
    alarms = engine(RuleSet(rules=(HIGH,)), source, store, sink, clock)
    # in band 0..4, 9.4 °C from minute 5 to 20 (16 minutes), back in band from 21
    temperatures(influx, {m: (9.4 if 5 <= m <= 20 else 5.0) for m in range(0, 13)})
    assert alarms.run_once() == []
    temperatures(influx, {m: (9.4 if 5 <= m <= 20 else 5.0) for m in range(13, 26)})
    clock.now = at(26)
    raised, cleared = alarms.run_once()
    assert (raised.started_at, raised.raised_at, cleared.cleared_at) == (at(5), at(20), at(21))
    assert raised.place_name == "Cold room 1"
    assert raised.site == "s1"
    assert raised.summary == "Cold room 1: 9.4 °C, above 8.0 °C for 15 min (probe probe-1)"
    assert sink.seen() == [("raised", raised.id), ("cleared", raised.id)]
    assert sink.calls[0][1].cleared_at is None
    clock.now = at(26.5)
    assert alarms.run_once() == []  # the same readings, read again through the overlap
    again = engine(RuleSet(rules=(HIGH,)), source, store, sink, clock)
    assert again.run_once() == []  # a restarted engine too
    assert len(sink.calls) == 2
    (stored,) = store.stored_alarms()
    assert stored.id == raised.id
    assert stored.cleared_at == at(21)


def test_crash_between_commit_and_report_is_re_reported_exactly_once(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore, tmp_path: Path
) -> None:
    temperatures(influx, {m: (9.4 if m >= 2 else 5.0) for m in range(0, 20)})
    dying, clock = Recorder(fail=1), Clock(at(19))
    first = engine(RuleSet(rules=(HIGH,)), source, store, dying, clock)
    with pytest.raises(RuntimeError, match="dies"):
        first.run_once()
    assert dying.calls == []
    assert [(p.transition) for p in store.unreported_alarms()] == ["raised"]
    # a new process on the same database
    reopened = RecordStore.open(str(store._engine.url))
    try:
        sink = Recorder()
        second = engine(RuleSet(rules=(HIGH,)), source, reopened, sink, clock)
        assert second.run_once() == []  # nothing new was evaluated ...
        assert [what for what, _ in sink.calls] == ["raised"]  # ... the committed one reported
        assert sink.calls[0][1].started_at == at(2)
        clock.now = at(19.5)
        assert second.run_once() == []
        assert len(sink.calls) == 1
        assert reopened.unreported_alarms() == []
    finally:
        reopened.close()


def test_probe_offline_within_its_window_and_back(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    rule = ProbeOfflineRule(kind="probe_offline", id="offline", silent_min=10)
    temperatures(influx, {m: 5.0 for m in range(0, 5)})
    temperatures(influx, {m: 5.0 for m in range(0, 20)}, probe="probe-2")
    sink, clock = Recorder(), Clock(at(5))
    alarms = engine(RuleSet(rules=(rule,)), source, store, sink, clock)
    assert alarms.run_once() == []
    clock.now = at(14)
    assert alarms.run_once() == []
    clock.now = at(14.2)  # 10.2 min since probe-1's last reading at minute 4
    (offline,) = alarms.run_once()
    assert (offline.kind, offline.device, offline.started_at) == ("probe_offline", "probe-1", at(4))
    assert offline.raised_at == at(14.2)
    clock.now = at(19)
    assert alarms.run_once() == []  # raised once; probe-2 keeps publishing
    temperatures(influx, {29: 5.0})
    clock.now = at(29)  # probe-2 silent exactly 10 min: not yet
    (back,) = alarms.run_once()
    assert (back.id, back.cleared_at) == (offline.id, at(29))


def test_band_of_the_products_at_the_place_and_scope_by_kind(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    salmon = Product(gtin="04012345111118", name="Salmon", temp_min_c=0.0, temp_max_c=4.0)
    chilled = Product(gtin="04012345222224", name="Salad", temp_min_c=1.0, temp_max_c=8.0)
    places = FixedPlaces(PLACES.places, {ROOM: [salmon, chilled], REEFER: [chilled]})
    dock = "urn:epc:id:sgln:4012345.00005.0"
    places.places[dock] = Location(urn=dock, name="Dock 5", kind="dock_door", site="s1")
    (band,) = RuleSet.default().rules[:1]
    for place in (ROOM, REEFER, dock):
        temperatures(influx, {m: 6.0 for m in range(0, 17)}, location=place)
    places.products[dock] = [salmon]
    sink = Recorder()
    (alarm,) = engine(RuleSet(rules=(band,)), source, store, sink, Clock(at(16)), places).run_once()
    # strictest band in the room is 1–4 °C; 6 °C is fine for the reefer's 1–8 °C;
    # the dock is not a kind the default rule covers
    assert (alarm.location, alarm.threshold_c, alarm.raised_at) == (ROOM, 4.0, at(15))
    salad_only = TemperatureRule(
        kind="temperature", id="salad", above_c=5.0, for_min=15,
        applies_to=Scope(products=(chilled.gtin,), kinds=("reefer",)),
    )  # fmt: skip
    (scoped,) = engine(
        RuleSet(rules=(salad_only,)), source, store, Recorder(), Clock(at(16)), places
    ).run_once()
    assert (scoped.rule, scoped.location) == ("salad", REEFER)  # the room holds salad too


def test_door_open_and_gateway_lost(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    doors = [
        f"coldroom,location={ROOM},plc=plc-1,site=s1 "
        f"door_open={'true' if 2 <= m <= 9 else 'false'},temperature_c=4.0 {ns(m)}"
        for m in range(0, 12)
    ]
    beats = [f"gateway_health,gateway=gw-1 received={i}i {ns(i / 6)}" for i in range(12)]
    influx.write(doors + beats)
    rules = RuleSet(
        rules=(
            DoorOpenRule(kind="door_open", id="door", for_min=5),
            GatewayLostRule(
                kind="gateway_lost", id="gw", silent_min=5, applies_to=Scope(locations=("gw-1",))
            ),
        )
    )
    sink = Recorder()
    found = engine(rules, source, store, sink, Clock(at(11))).run_once()
    door, closed, lost = found
    assert (door.kind, door.started_at, door.raised_at, door.device) == (
        "door_open",
        at(2),
        at(7),
        "plc-1",
    )
    assert closed.cleared_at == at(10)
    assert (lost.kind, lost.location, lost.started_at) == ("gateway_lost", "gw-1", at(11 / 6))
    assert lost.raised_at == at(11)
    assert [what for what, _ in sink.calls] == ["raised", "cleared", "raised"]


def test_a_database_not_written_yet_has_no_readings(influxdb: InfluxDB, store: RecordStore) -> None:
    # The gateway creates the database with its first write: until then, nothing to alarm
    # about (and a hub that started before its first reading is not "not ready").
    reader = InfluxReadingSource(influxdb.url, "no_such_database")
    try:
        alarms = AlarmEngine(RuleSet(rules=(HIGH,)), reader, store, Recorder(), PLACES, Clock(T0))
        assert alarms.run_once() == []
    finally:
        reader.close()


def test_an_unreachable_influxdb_is_telemetry_unavailable(store: RecordStore) -> None:
    reader = InfluxReadingSource(f"http://127.0.0.1:{free_port()}", "tracehub", timeout=1)
    try:
        alarms = AlarmEngine(RuleSet(rules=(HIGH,)), reader, store, Recorder(), PLACES, Clock(T0))
        with pytest.raises(TelemetryUnavailable):
            alarms.run_once()
    finally:
        reader.close()


def test_loop_is_supervised_and_reports_while_running(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    temperatures(influx, {m: 9.4 for m in range(0, 16)})
    sink = Recorder()
    supervisor = Supervisor()
    loop = AlarmLoop(
        engine(RuleSet(rules=(HIGH,)), source, store, sink, Clock(at(16))),
        interval_s=0.05,
        supervisor=supervisor,
    )
    loop.start()
    try:
        assert sink.delivered.wait(10)
        assert supervisor.wait_until(
            lambda s: s.get(COMPONENT) is not None and s[COMPONENT].state == ComponentState.RUNNING,
            10,
        )
    finally:
        loop.stop()
    assert [what for what, _ in sink.calls] == ["raised"]


_DIES_IN_THE_SINK = """
import os, signal, sys
from datetime import datetime
from traceability.alarms.engine import AlarmEngine
from traceability.alarms.readings import InfluxReadingSource
from traceability.alarms.rules import RuleSet, TemperatureRule
from traceability.records.store import RecordStore

class Killed:
    def raised(self, alarm):
        os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before the report
    cleared = raised

class Nowhere:
    def place(self, urn):
        return None
    def products_at(self, urn, start, end):
        return ()

url, influx, database, now = sys.argv[1:5]
rule = TemperatureRule(kind="temperature", id="high", above_c=8.0, for_min=15)
AlarmEngine(
    RuleSet(rules=(rule,)), InfluxReadingSource(influx, database), RecordStore.open(url),
    Killed(), Nowhere(), lambda: datetime.fromisoformat(now),
).run_once()
"""


def test_sigkill_between_commit_and_report_loses_no_alarm(
    influx: InfluxClient, source: InfluxReadingSource, tmp_path: Path
) -> None:
    temperatures(influx, {m: (9.4 if m >= 2 else 5.0) for m in range(0, 20)})
    url = f"sqlite:///{tmp_path / 'records.db'}"
    RecordStore.open(url).close()  # migrated before the child starts
    child = subprocess.run(
        [sys.executable, "-c", _DIES_IN_THE_SINK, url, influx.url, influx.database,
         at(19).isoformat()],
        cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    store = RecordStore.open(url)
    try:
        assert [p.transition for p in store.unreported_alarms()] == ["raised"]
        sink, clock = Recorder(), Clock(at(19.5))
        restarted = engine(RuleSet(rules=(HIGH,)), source, store, sink, clock)
        assert restarted.run_once() == []
        clock.now = at(20)
        assert restarted.run_once() == []
        (raised,) = sink.calls
        assert raised[0] == "raised"
        assert (raised[1].started_at, raised[1].raised_at) == (at(2), at(17))
    finally:
        store.close()


def test_a_silent_probes_late_backlog_is_read_from_its_own_watermark(
    influx: InfluxClient, source: InfluxReadingSource, store: RecordStore
) -> None:
    offline = ProbeOfflineRule(kind="probe_offline", id="offline", silent_min=10)
    temperatures(influx, {m: 5.0 for m in range(0, 6)})
    temperatures(influx, {m: 5.0 for m in range(0, 31)}, probe="probe-2")
    sink, clock = Recorder(), Clock(at(5))
    alarms = engine(RuleSet(rules=(HIGH, offline)), source, store, sink, clock)
    assert alarms.run_once() == []
    clock.now = at(30)
    (silent,) = alarms.run_once()
    assert (silent.kind, silent.device) == ("probe_offline", "probe-1")
    # probe-1's readings of minutes 6..30 arrive late (its gateway's spool drains): far
    # behind probe-2's, they are still read, from probe-1's own watermark
    temperatures(influx, {m: (9.5 if 8 <= m <= 26 else 5.0) for m in range(6, 31)})
    clock.now = at(30.1)
    found = alarms.run_once()
    assert [(a.kind, a.cleared_at is not None) for a in found] == [
        ("temperature_high", False),
        ("temperature_high", True),
        ("probe_offline", True),
    ]
    assert (found[0].started_at, found[0].raised_at, found[1].cleared_at) == (at(8), at(23), at(27))


@dataclass
class MemorySource:
    """A ``ReadingSource`` over a list of one probe's readings up to the clock."""

    clock: Clock
    values: list[tuple[datetime, float]] = field(default_factory=list)

    def readings(
        self, measure: str, since: datetime, behind: Mapping[SeriesKey, datetime] | None = None
    ) -> Mapping[SeriesKey, Series]:
        start = min([since, *(behind or {}).values()])
        found = tuple(
            Reading(time=t, value=v) for t, v in self.values if start < t <= self.clock.now
        )
        return {SeriesKey(location=ROOM, device="probe-1"): Series(readings=found)} if found else {}


@dataclass
class MovingLot(FixedPlaces):
    """The product is at the room while ``here(start, end)`` says so."""

    here: Callable[[datetime, datetime], bool] = lambda start, end: True

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        return self.products.get(urn, []) if self.here(start, end) else []


def test_a_product_scoped_alarm_clears_after_the_lot_left(store: RecordStore) -> None:
    # Review #3 (stuck_alarm.py): 12 °C from 10:00, the lot leaves at 10:40, 5 °C from 11:00.
    vaccine = Product(gtin="09506000134352", name="Vaccine", temp_min_c=2.0, temp_max_c=8.0)
    present = [(at(0), at(40)), (at(90), at(200))]
    places = MovingLot(PLACES.places, {ROOM: [vaccine]},
                       here=lambda s, e: any(s < b and e >= a for a, b in present))  # fmt: skip
    rule = TemperatureRule(kind="temperature", id="hot", above_c=8.0, for_min=15,
                           applies_to=Scope(products=(vaccine.gtin,)))  # fmt: skip
    clock, sink = Clock(at(0)), Recorder()
    source = MemorySource(clock)
    alarms = AlarmEngine(RuleSet(rules=(rule,)), source, store, sink, places, clock)

    def run_until(last: int) -> None:
        for minute in range(len(source.values), last + 1):
            hot = minute < 60 or minute >= 100  # and hot again from 11:40, the lot back
            source.values.append((at(minute), 12.0 if hot else 5.0))
            clock.now = at(minute) + timedelta(seconds=1)
            alarms.run_once()

    run_until(61)
    (stored,) = store.stored_alarms()
    assert (stored.raised_at, stored.cleared_at) == (at(15), at(60))  # when it cooled down
    assert [what for what, _alarm in sink.calls] == ["raised", "cleared"]
    run_until(120)  # the lot is back from 11:30: a new excursion counts from its own start
    second = next(a for a in store.stored_alarms() if a.id != stored.id)
    assert (second.started_at, second.raised_at, second.cleared_at) == (at(100), at(115), None)
