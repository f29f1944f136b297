"""RecordPlaces over a real records store and custody; the default band rule end to end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from influx.client import InfluxClient
from tests.support.events import COLD_ROOM, DOCK, GTIN, object_event
from tests.traceability.alarms.test_engine import Recorder
from traceability.alarms.engine import AlarmEngine
from traceability.alarms.places import RecordPlaces
from traceability.alarms.readings import InfluxReadingSource
from traceability.alarms.rules import RuleSet
from traceability.capture import CaptureService
from traceability.custody import CustodyService
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


@pytest.fixture
def room(stocked: RecordStore) -> RecordStore:
    stocked.add_location(Location(urn=COLD_ROOM, name="Cold room 2", kind="cold_room", site="s1"))
    report = CaptureService(stocked).capture_document(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-22T10:00:00Z",
            "epcisBody": {
                "eventList": [
                    object_event(time="2026-11-22T10:00:00Z", read_point=COLD_ROOM),
                    object_event(time="2026-11-22T11:00:00Z", read_point=DOCK),
                ]
            },
        }
    )
    assert report.ok, report.errors
    return stocked


def test_place_and_products_at_come_from_records_and_custody(room: RecordStore) -> None:
    clock = Clock(at(0))
    places = RecordPlaces(room, CustodyService(room), clock, ttl_s=30)
    place = places.place(COLD_ROOM)
    assert place is not None
    assert (place.name, place.kind) == ("Cold room 2", "cold_room")
    assert places.place("urn:epc:id:sgln:4012345.00099.0") is None
    assert [p.gtin for p in places.products_at(COLD_ROOM, at(10), at(20))] == [GTIN]
    assert places.products_at(DOCK, at(10), at(20)) == ()
    room.update_location(COLD_ROOM, name="Cold room 2 (north)")
    assert places.place(COLD_ROOM) == place  # cached for ttl_s
    clock.now = at(0.6)
    renamed = places.place(COLD_ROOM)
    assert renamed is not None
    assert renamed.name == "Cold room 2 (north)"


@pytest.mark.integration
def test_default_rules_alarm_on_the_band_of_the_lot_in_the_room(
    room: RecordStore, influxdb: InfluxDB
) -> None:
    influx = InfluxClient(influxdb.url, f"alarms_{uuid.uuid4().hex[:8]}")
    influx.create_database()
    ns = [int(at(m).timestamp() * 1e9) for m in range(20)]
    # 5 °C: inside a 2–8 °C band, above the salmon's 0–4 °C (the stocked product)
    influx.write(
        [f"temperature,device=p1,location={COLD_ROOM},site=s1 celsius=5.0 {t}" for t in ns]
    )
    source = InfluxReadingSource(influx.url, influx.database)
    try:
        clock = Clock(at(19))
        sink = Recorder()
        places = RecordPlaces(room, CustodyService(room), clock)
        found = AlarmEngine(RuleSet.default(), source, room, sink, places, clock).run_once()
        (alarm,) = found
        assert (alarm.rule, alarm.kind, alarm.threshold_c) == (
            "temperature-band",
            "temperature_high",
            4.0,
        )
        assert alarm.place_name == "Cold room 2"
        assert alarm.raised_at == at(15)
    finally:
        source.close()
        influx.query(f'DROP DATABASE "{influx.database}"')
        influx.close()


def test_a_backlog_window_gets_the_lots_that_were_there_then(room: RecordStore) -> None:
    # Review #11: the cache ignored start/end, so a probe's backlog after a gateway outage
    # got the current window's products (the lot left the room at 11:00).
    clock = Clock(at(150))
    places = RecordPlaces(room, CustodyService(room), clock, ttl_s=30)
    assert places.products_at(COLD_ROOM, at(140), at(150)) == ()
    assert [p.gtin for p in places.products_at(COLD_ROOM, at(10), at(20))] == [GTIN]
    assert places.lots_at(COLD_ROOM, at(140), at(150)) == ()
    assert [gtin for gtin, _lot in places.lots_at(COLD_ROOM, at(10), at(20))] == [GTIN]
    clock.now = at(150.1)  # the live window moved by seconds: still the cached answer
    assert places.products_at(COLD_ROOM, at(140) + timedelta(seconds=5), at(150.1)) == ()
    assert len(places._products) == 2
    clock.now = at(151)  # expired entries go when new ones come
    places.products_at(COLD_ROOM, at(141), at(151))
    assert len(places._products) == 1
