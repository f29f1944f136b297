"""A device's readings come from one source (gateway/loggerdevice.py), against the real
InfluxDB: a logger file never overwrites a stored MQTT reading, even one the redelivery
index forgot long ago (review finding H1, /tmp/review/overwrite.py as a test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.admission import ClockRules
from gateway.deadletter import DeadLetterStore
from gateway.decode import CONFLICT, WRONG_SOURCE, Rejection
from gateway.devices.directory import StaticDirectory
from gateway.errors import SinkUnavailable
from gateway.influx import InfluxWriter
from gateway.lineprotocol import timestamp_ns
from gateway.loggerdevice import LOGGER_SCOPE, LoggerDevices
from gateway.loggerfile import NEW, logger_batch, preview
from gateway.pipeline import Gateway
from gateway.spool import KEPT_SCOPE, Spool, SpoolEntry
from sensors.loggers.formats import read_export
from sensors.temperature import TemperatureReading
from tests.support.devices import probe
from tracehub.services import InfluxDB

ROOM = "urn:epc:id:sgln:4012345.00009.room1"
PLACED = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 2, tzinfo=UTC)


class NoCapture:
    def capture(self, event: Mapping[str, Any]) -> str:
        raise AssertionError("no custody event expected")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.ns = timestamp_ns(at)

    def __call__(self) -> int:
        return self.ns


class Parts:
    """A gateway over a real spool, dead-letter store and InfluxDB database."""

    def __init__(self, influxdb: InfluxDB, tmp_path: Path, *devices: str) -> None:
        self.influx = InfluxWriter(influxdb.url, "t_" + uuid.uuid4().hex[:12])
        self.influx.ensure_database()
        self.spool = Spool(tmp_path / "spool.sqlite3")
        self.dead = DeadLetterStore(tmp_path / "dead.sqlite3")
        self.clock = Clock(MARCH)
        self.directory = StaticDirectory([probe("s1", d, (ROOM, PLACED)) for d in devices])
        self.next_id = 0

    def gateway(self, **kw: Any) -> Gateway:
        kw.setdefault("stored", self.influx)
        return Gateway(
            kw.pop("sink", self.influx), NoCapture(), self.dead, self.spool,
            clock_ns=self.clock, directory=self.directory, **kw,
        )  # fmt: skip

    def entries(self, *messages: tuple[str, bytes], received: datetime) -> list[SpoolEntry]:
        out = []
        for topic, payload in messages:
            self.next_id += 1
            out.append(SpoolEntry(self.next_id, topic, payload, timestamp_ns(received)))
        return out

    def mqtt(
        self, device: str, at: datetime, celsius: float, received: datetime
    ) -> list[SpoolEntry]:
        reading = TemperatureReading(device_id=device, seq=1, ts=at, celsius=celsius)
        topic = f"tracehub/v1/s1/temperature/{device}"
        return self.entries((topic, reading.to_json()), received=received)

    def logger_file(self, device: str, csv: str, received: datetime) -> list[SpoolEntry]:
        batch = logger_batch(read_export(csv.encode()), "s1", device, timestamp_ns(received))
        return self.entries(*((i.topic, i.payload) for i in batch.items), received=received)

    def celsius(self, device: str) -> list[float]:
        found = self.influx.query(f"SELECT celsius FROM temperature WHERE device = '{device}'")
        return [row["celsius"] for series in found for row in series["rows"]]

    def close(self) -> None:
        self.influx.close()
        self.dead.close()
        self.spool.close()


@pytest.fixture
def parts(influxdb: InfluxDB, tmp_path: Path) -> Iterator[Parts]:
    made = Parts(influxdb, tmp_path, "p7", "p8", "lg1")
    yield made
    made.close()


def file_of(*rows: tuple[datetime, float]) -> str:
    body = "".join(f"{at.strftime('%Y-%m-%dT%H:%M:%SZ')},{c}\n" for at, c in rows)
    return "timestamp,temperature_c\n" + body


@pytest.mark.integration
def test_a_logger_file_never_overwrites_a_forgotten_mqtt_reading(parts: Parts) -> None:
    gateway = parts.gateway()
    # 1. March: probe p7 reports an excursion over MQTT; stored and indexed.
    gateway.process(parts.mqtt("p7", MARCH, 8.9, received=MARCH))
    assert parts.celsius("p7") == [8.9]
    # 2. November: the routine prune (backfill window) forgets the March reading.
    parts.clock.ns = timestamp_ns(NOVEMBER)
    gateway.process(parts.mqtt("p8", NOVEMBER, 4.0, received=NOVEMBER))
    assert parts.spool.accepted_digests([("s1/temperature/p7", timestamp_ns(MARCH))]) == {}
    # 3. December: a "logger file" for p7 with a nicer value at the same instant.
    parts.clock.ns = timestamp_ns(DECEMBER)
    csv = file_of((MARCH, 3.1))
    batch = logger_batch(read_export(csv.encode()), "s1", "p7", timestamp_ns(DECEMBER))
    counts, reasons = preview(batch, parts.spool, parts.directory, ClockRules(), parts.influx)
    assert counts == {WRONG_SOURCE: 1}
    assert "InfluxDB holds 1 readings of it" in reasons[WRONG_SOURCE]
    assert "--device LOGGER-ID" in reasons[WRONG_SOURCE]
    gateway.process(parts.logger_file("p7", csv, received=DECEMBER))
    assert parts.celsius("p7") == [8.9]  # the stored reading stands
    assert parts.dead.counts() == {WRONG_SOURCE: 1}
    assert parts.spool.state(LOGGER_SCOPE) == {}
    # A restarted gateway decides the same (nothing about p7 was remembered as a logger).
    parts.gateway().process(parts.logger_file("p7", csv, received=DECEMBER))
    assert parts.celsius("p7") == [8.9]


@pytest.mark.integration
def test_a_probe_whose_readings_are_all_still_indexed_takes_no_file_either(parts: Parts) -> None:
    # Its window sealed from MQTT must not get logger readings: the rule is the source.
    gateway = parts.gateway()
    gateway.process(parts.mqtt("p7", MARCH, 4.5, received=MARCH))
    later = MARCH.replace(minute=10)
    gateway.process(parts.logger_file("p7", file_of((later, 4.4)), received=later))
    assert parts.celsius("p7") == [4.5]
    assert parts.dead.counts() == {WRONG_SOURCE: 1}


@pytest.mark.integration
def test_a_logger_device_is_kept_for_good_and_refuses_mqtt(parts: Parts) -> None:
    gateway = parts.gateway()
    parts.clock.ns = timestamp_ns(NOVEMBER)
    first = file_of((MARCH, 4.0), (MARCH.replace(minute=10), 4.1))
    gateway.process(parts.logger_file("lg1", first, received=NOVEMBER))
    assert sorted(parts.celsius("lg1")) == [4.0, 4.1]
    assert set(parts.spool.state(LOGGER_SCOPE)) == {"s1/temperature/lg1"}
    assert parts.spool.state(KEPT_SCOPE) == {"s1/temperature/lg1": "1"}
    # Its MQTT readings are refused: a logger's windows never mix the two sources.
    gateway.process(parts.mqtt("lg1", NOVEMBER, 9.0, received=NOVEMBER))
    assert parts.dead.counts() == {WRONG_SOURCE: 1}
    assert "is a logger device" in parts.dead.list()[0].reason
    # Months later (prunes meanwhile), another file changes a stored value: a conflict.
    parts.clock.ns = timestamp_ns(DECEMBER)
    gateway.process(parts.mqtt("p8", DECEMBER, 4.0, received=DECEMBER))  # prunes the index
    gateway = parts.gateway()  # and a restart in between
    second = file_of((MARCH, 4.0), (MARCH.replace(minute=10), 2.0), (MARCH.replace(minute=20), 4.2))
    batch = logger_batch(read_export(second.encode()), "s1", "lg1", timestamp_ns(DECEMBER))
    counts, _ = preview(batch, parts.spool, parts.directory, ClockRules(), parts.influx)
    assert counts == {"already_stored": 1, CONFLICT: 1, NEW: 1}
    gateway.process(parts.logger_file("lg1", second, received=DECEMBER))
    assert sorted(parts.celsius("lg1")) == [4.0, 4.1, 4.2]
    assert parts.dead.counts() == {CONFLICT: 1, WRONG_SOURCE: 1}


class FailingOnce:
    """The sink of a gateway that crashes after deciding, before its commit."""

    def __init__(self, inner: InfluxWriter) -> None:
        self.inner = inner
        self.failed = False

    def write(self, lines: Sequence[str]) -> None:
        self.inner.write(lines)  # InfluxDB took them, then the gateway "died"
        if not self.failed:
            self.failed = True
            raise SinkUnavailable("lost the answer")


@pytest.mark.integration
def test_a_first_file_replayed_after_a_crash_takes_the_same_decision(parts: Parts) -> None:
    sink = FailingOnce(parts.influx)
    gateway = parts.gateway(sink=sink)
    entries = parts.logger_file("lg1", file_of((MARCH, 4.0)), received=NOVEMBER)
    with pytest.raises(SinkUnavailable):
        gateway.process(entries)
    # The point is in InfluxDB, but the device was made a logger device before: the
    # replay is no "probe with readings", it stores and indexes the same point.
    gateway.process(entries)
    assert parts.celsius("lg1") == [4.0]
    assert parts.dead.counts() == {}
    assert parts.spool.accepted_digests([("s1/temperature/lg1", timestamp_ns(MARCH))])


def test_without_influxdb_no_device_becomes_a_logger_device(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    devices = LoggerDevices(spool, None, lambda: 1)
    entries = [
        SpoolEntry(1, "logger/s1/lg1", TemperatureReading(
            device_id="lg1", seq=1, ts=MARCH, celsius=4.0).to_json(), 2)
    ]  # fmt: skip
    from gateway.decode import decode

    (screened,) = devices.screen([decode(e.topic, e.payload) for e in entries])
    assert isinstance(screened, Rejection)
    assert screened.code == WRONG_SOURCE
    assert "cannot ask InfluxDB" in screened.reason
    assert spool.state(LOGGER_SCOPE) == {}
    spool.close()
