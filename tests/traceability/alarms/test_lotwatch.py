"""The lot rules in the engine, against a real InfluxDB and a real SQLite records store:
the lot's budget judged by the real ``ExposureService`` over the real custody, the units'
lots from the records, and the tag reads from ``rfid_read``. The clock is injected."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from gs1.epc import encode_epc
from influx.client import InfluxClient
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.alarms.test_engine import Recorder
from traceability.alarms.engine import AlarmEngine
from traceability.alarms.lotwatch import LotWatch
from traceability.alarms.places import RecordPlaces
from traceability.alarms.readings import InfluxReadingSource
from traceability.alarms.rules import RuleSet, Scope, StabilityBudgetRule, WrongPlaceRule
from traceability.alarms.tagreads import InfluxTagReadSource
from traceability.capture import CaptureService
from traceability.coldchain.budget import BudgetUse
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
AMBIENT = "urn:epc:id:sgln:4012345.00007.0"
BUDGET = StabilityBudgetRule(kind="stability_budget", id="budget")
WRONG = WrongPlaceRule(
    kind="wrong_place", id="places", allowed_kinds=("cold_room", "reefer", "dock_door")
)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def ns(minute: float) -> int:
    return int(at(minute).timestamp() * 1_000_000_000)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def influx(influxdb: InfluxDB) -> Iterator[InfluxClient]:
    client = InfluxClient(influxdb.url, f"lots_{uuid.uuid4().hex[:8]}")
    client.create_database()
    yield client
    client.query(f'DROP DATABASE "{client.database}"')
    client.close()


@pytest.fixture
def site(store: RecordStore) -> RecordStore:
    """Salmon (0–4 °C, 20 min out of range allowed), lot L1 (units 1001–1010) in Cold room
    2 since T0, and an ambient store."""
    store.add_product(GTIN, "Chilled salmon", 0.0, 4.0, excursion_budget_min=20)
    store.add_lot(GTIN, "L1", expiry=date(2026, 12, 5), quantity=10, serials=range(1001, 1011))
    store.add_location(Location(urn=COLD_ROOM, name="Cold room 2", kind="cold_room", site="s1"))
    store.add_location(Location(urn=AMBIENT, name="Ambient store", kind="ambient", site="s1"))
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T10:00:00Z",
        "epcisBody": {
            "eventList": [object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM)]
        },
    }
    report = CaptureService(store).capture_document(document)
    assert report.ok, report.errors
    return store


class Hub:
    """The engine as ``tracehub.alerting.wire_alerting`` builds it; ``build`` again: a restart."""

    def __init__(self, store: RecordStore, influx: InfluxClient, rules: RuleSet, clock: Clock):
        self.store, self.rules, self.clock = store, rules, clock
        self.source = InfluxReadingSource(influx.url, influx.database)
        self.series = InfluxTemperatureReader(influx.url, influx.database)
        self.tags = InfluxTagReadSource(influx.url, influx.database)
        self.judged = 0

    def judge(self, gtin: str, lot: str) -> BudgetUse | None:
        self.judged += 1
        exposure = ExposureService(self.store, self.series).exposure(gtin, lot, until=self.clock())
        return exposure.budget

    def build(self, sink: Recorder) -> AlarmEngine:
        places = RecordPlaces(self.store, CustodyService(self.store), self.clock, ttl_s=0)
        lots = LotWatch(self.rules, places, self.store, self.judge, self.tags)
        return AlarmEngine(self.rules, self.source, self.store, sink, places, self.clock, lots=lots)

    def close(self) -> None:
        self.source.close()
        self.series.close()
        self.tags.close()


@pytest.fixture
def hub(site: RecordStore, influx: InfluxClient) -> Iterator[Hub]:
    one = Hub(site, influx, RuleSet(rules=(BUDGET, WRONG)), Clock(at(0)))
    yield one
    one.close()


def temperatures(influx: InfluxClient, minutes: range, celsius: float) -> None:
    influx.write(
        [
            f"temperature,device=p1,location={COLD_ROOM},site=s1 celsius={celsius} {ns(m)}"
            for m in minutes
        ]
    )


def test_a_lot_crossing_the_warn_share_raises_once_across_rounds_crashes_and_restarts(
    hub: Hub, influx: InfluxClient
) -> None:
    temperatures(influx, range(0, 10), 2.0)
    hub.clock.now = at(9.5)
    first = hub.build(Recorder())
    assert first.run_once() == []  # in band: the whole budget left
    assert hub.judged == 1
    temperatures(influx, range(10, 22), 6.0)  # 12 of 20 min out of range by minute 22
    hub.clock.now = at(22)
    dying = Recorder(fail=1)
    with pytest.raises(RuntimeError):
        hub.build(dying).run_once()  # committed, then the report fails (a crash)
    sink = Recorder()
    hub.clock.now = at(22.5)
    restarted = hub.build(sink)
    assert restarted.run_once() == []  # judged again (due at start): nothing new
    assert hub.judged == 3
    ((raised, warning), (cleared, _)) = sink.calls
    assert (raised, cleared) == ("raised", "cleared")
    assert (warning.kind, warning.severity, warning.location) == (
        "stability_budget",
        "warning",
        COLD_ROOM,
    )
    assert warning.summary == (
        "Lot L1 at Cold room 2: 8 of 20 min of its stability budget left (out of range)"
    )
    assert warning.raised_at == at(22)
    hub.clock.now = at(23)
    assert restarted.run_once() == []
    assert hub.judged == 3  # not due before every_min
    temperatures(influx, range(22, 41), 6.0)  # 31 min out: spent
    hub.clock.now = at(41)
    (spent,) = restarted.run_once()
    assert (spent.severity, spent.cleared_at) == ("critical", at(41))
    assert spent.summary == (
        "Lot L1 at Cold room 2: stability budget exhausted, 31 of 20 min used out of range"
    )
    hub.clock.now = at(50)
    assert restarted.run_once() == []
    assert hub.judged == 4  # both thresholds raised: the lot is not judged any more
    assert sink.seen() == [
        ("raised", warning.id),
        ("cleared", warning.id),
        ("raised", spent.id),
        ("cleared", spent.id),
    ]
    stored = hub.store.stored_alarms()
    assert sorted(a.id for a in stored) == sorted([warning.id, spent.id])
    assert all(a.cleared_at == a.raised_at for a in stored)


def rfid(influx: InfluxClient, read_point: str, serial: int, minute: float) -> None:
    epc = encode_epc(f"urn:epc:id:sgtin:4012345.011111.{serial}")
    influx.write(
        [
            f"rfid_read,read_point={read_point},reader=r1,site=s1 "
            f'epc="{epc}",antenna=1i,rssi=-50.0,seq=1i {ns(minute)}'
        ]
    )


def test_a_read_at_an_ambient_place_raises_once_a_cold_room_read_none(
    hub: Hub, influx: InfluxClient
) -> None:
    hub.clock.now = at(4)
    sink = Recorder()
    engine = hub.build(sink)
    assert engine.run_once() == []  # no database content yet: nothing read
    rfid(influx, COLD_ROOM, 1003, 2)
    rfid(influx, AMBIENT, 1002, 3)
    rfid(influx, AMBIENT, 1999, 3.2)  # no lot knows this unit
    (alarm,) = engine.run_once()
    assert (alarm.kind, alarm.severity, alarm.location, alarm.device, alarm.site) == (
        "wrong_place",
        "critical",
        AMBIENT,
        "r1",
        "s1",
    )
    assert alarm.summary == (
        "Unit 4012345.011111.1002 of lot L1 read at Ambient store (kind ambient), "
        "outside its allowed places"
    )
    assert alarm.raised_at == alarm.cleared_at == at(3)
    hub.clock.now = at(5)
    assert engine.run_once() == []  # read again through the overlap: nothing new
    hub.clock.now = at(6)
    assert hub.build(sink).run_once() == []  # a restart neither
    rfid(influx, AMBIENT, 1004, 1.5)  # late (spooled), inside the overlap: raised
    (late,) = hub.build(sink).run_once()
    assert late.started_at == at(1.5)
    assert sink.seen() == [
        ("raised", alarm.id),
        ("cleared", alarm.id),
        ("raised", late.id),
        ("cleared", late.id),
    ]


def test_the_source_leaves_out_the_skipped_read_points(hub: Hub, influx: InfluxClient) -> None:
    rfid(influx, COLD_ROOM, 1003, 2)
    rfid(influx, AMBIENT, 1002, 3)
    everything = hub.tags.tag_reads(at(0))
    assert [r.read_point for r in everything] == [COLD_ROOM, AMBIENT]
    assert (everything[0].reader, everything[0].site) == ("r1", "s1")
    assert [r.read_point for r in hub.tags.tag_reads(at(0), [COLD_ROOM])] == [AMBIENT]
    assert hub.tags.tag_reads(at(3)) == []  # strictly after ``since``


def test_budget_scope_and_cadence_decide_which_lots_are_judged(hub: Hub) -> None:
    places = RecordPlaces(hub.store, CustodyService(hub.store), hub.clock, ttl_s=0)
    asked: list[tuple[str, str]] = []

    def judge(gtin: str, lot: str) -> BudgetUse | None:
        asked.append((gtin, lot))
        return None  # as for a product without a budget: nothing raised

    reefers = BUDGET.model_copy(update={"applies_to": Scope(kinds=("reefer",))})
    other = BUDGET.model_copy(update={"applies_to": Scope(products=("04012345222227",))})
    hub.clock.now = at(10)
    assert LotWatch(RuleSet(rules=(reefers,)), places, hub.store, judge).run({}, at(10)) == ([], [])
    assert LotWatch(RuleSet(rules=(other,)), places, hub.store, judge).run({}, at(10)) == ([], [])
    assert asked == []  # the lot is in a cold room, and of another product
    watch = LotWatch(RuleSet(rules=(BUDGET,)), places, hub.store, judge)
    for minute in (10, 12, 14.9, 15):
        hub.clock.now = at(minute)
        assert watch.run({}, at(minute)) == ([], [])
    assert asked == [(GTIN, "L1"), (GTIN, "L1")]  # at 10 and 15: every 5 min


class ManyLots:
    """``LotPlaces`` with three lots in one cold room."""

    room = Location(urn=COLD_ROOM, name="Cold room 2", kind="cold_room")

    def place(self, urn: str) -> Location | None:
        return self.room if urn == COLD_ROOM else None

    def located(self) -> list[Location]:
        return [self.room]

    def lots_at(self, urn: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        return [(GTIN, "A"), (GTIN, "B"), (GTIN, "C")]


def test_lots_are_judged_a_few_per_round_within_max_judge_s(store: RecordStore) -> None:
    asked: list[str] = []

    def judge(gtin: str, lot: str) -> BudgetUse | None:
        asked.append(lot)
        return None

    watch = LotWatch(RuleSet(rules=(BUDGET,)), ManyLots(), store, judge, max_judge_s=0)
    for minute in (0, 0.1, 0.2, 0.3, 5):
        watch.run({}, at(minute))
    assert asked == ["A", "B", "C", "A"]  # one a round (0 s allowed); the next scan at 5
    both = {(BUDGET.id, f"{GTIN}/B"): '{"crossed": ["warn", "exhausted"]}'}
    asked.clear()
    fresh = LotWatch(RuleSet(rules=(BUDGET,)), ManyLots(), store, judge)
    fresh.run(both, at(0))
    assert asked == ["A", "C"]  # all within the default second; B has nothing left to raise
