"""The gateway slice end to end against real mosquitto and influxd.

simulator → MQTT (QoS 1) → GatewayRuntime → InfluxDB / capture port / dead letters.
The capture port is an in-memory fake of the gateway's own Protocol.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config import GatewayConfig
from gateway.errors import GatewayError
from gateway.influx import InfluxWriter
from gateway.observation import ReadPointProfile
from gateway.runtime import GatewayRuntime, build_gateway
from sensors.simulator import ProbeSpec, ReaderSpec, SimulatorSpec, probe_readings, run_simulators
from tests.support.devices import FIXED_DATES_CLOCK, EveryProbeAt
from tracehub.services import InfluxDB, Mosquitto

pytestmark = pytest.mark.integration

DOCK = "urn:epc:id:sgln:4012345.00001.0"
ROOM = "urn:epc:id:sgln:4012345.00007.0"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WAIT = 30.0


class MemoryCapture:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[Mapping[str, Any]] = []

    def capture(self, event: Mapping[str, Any]) -> str:
        with self._lock:
            self.events.append(event)
        return "sha256:" + str(len(self.events))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def config(broker: Mosquitto, influx: InfluxDB, tmp_path: Path, **kw: Any) -> GatewayConfig:
    return GatewayConfig(
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_plain=True,  # the suite's shared broker: plain on loopback
        mqtt_client_id=unique("gw-"),
        influx_url=influx.url,
        influx_database=unique("db_"),
        dead_letter_path=tmp_path / "dead-letter.sqlite3",
        retry_max_s=0.2,
        clock=FIXED_DATES_CLOCK,
        **kw,
    )


@pytest.fixture
def capture() -> MemoryCapture:
    return MemoryCapture()


def running(cfg: GatewayConfig, capture: MemoryCapture) -> Iterator[GatewayRuntime]:
    # Every probe in the room, every reader at the dock door (as the registry places them).
    runtime = build_gateway(cfg, capture, directory=EveryProbeAt(ROOM, readers=DOCK))
    runtime.start()
    try:
        assert runtime.wait_ready(WAIT), "gateway did not subscribe"
        yield runtime
    finally:
        runtime.stop()


def publish_raw(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(WAIT)
    finally:
        client.disconnect()
        client.loop_stop()


def rows(cfg: GatewayConfig, query: str = "SELECT * FROM temperature") -> list[dict[str, Any]]:
    with InfluxWriter(cfg.influx_url, cfg.influx_database) as reader:
        return [row for series in reader.query(query) for row in series["rows"]]


def test_simulated_readings_arrive_exactly_once(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path, capture: MemoryCapture
) -> None:
    cfg = config(mosquitto, influxdb, tmp_path)
    probes = (ProbeSpec(device_id="p-a", location=ROOM), ProbeSpec(device_id="p-b", location=ROOM))
    spec = SimulatorSpec(site=unique("site"), probes=probes, seed=11)
    n = 40
    for runtime in running(cfg, capture):
        stats = run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=n, start=START
        )
        assert stats.temperature == 2 * n
        assert runtime.gateway.wait_until(lambda c: c.written == 2 * n, WAIT)
        assert runtime.counters.dead_lettered == 0
    got = rows(cfg)
    assert len(got) == 2 * n
    for probe in probes:
        stream = probe_readings(probe, START, timedelta(seconds=1), 11)
        expected = [next(stream) for _ in range(n)]
        mine = [r for r in got if r["device"] == probe.device_id]
        assert [(r["seq"], r["celsius"], r["humidity"], r["battery"]) for r in mine] == [
            (e.seq, e.celsius, e.humidity, e.battery) for e in expected
        ]
        assert {(r["site"], r["location"]) for r in mine} == {(spec.site, ROOM)}


def test_bad_message_is_dead_lettered_and_neighbours_arrive(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path, capture: MemoryCapture
) -> None:
    cfg = config(mosquitto, influxdb, tmp_path)
    site = unique("site")
    topic = f"tracehub/v1/{site}/temperature/p1"

    def reading(seq: int, **extra: Any) -> bytes:
        body = {
            "device_id": "p1",
            "seq": seq,
            "ts": f"2026-11-22T10:00:0{seq}Z",
            "celsius": 4.0 + seq,
            "location": ROOM,
        }
        return json.dumps({**body, **extra}).encode()

    bad = reading(2, celsius=451.0)
    for runtime in running(cfg, capture):
        publish_raw(
            mosquitto,
            [(topic, reading(1)), (topic, bad), (topic, b"\x00garbage"), (topic, reading(3))],
        )
        # written moves after InfluxDB answered, a moment after received: await both
        assert runtime.gateway.wait_until(
            lambda c: c.received == 4 and c.written + c.dead_lettered == 4, WAIT
        )
        assert (runtime.counters.written, runtime.counters.dead_lettered) == (2, 2)
        letters = runtime.dead_letters.list()
    assert [r["celsius"] for r in rows(cfg)] == [5.0, 7.0]
    assert [(d.payload, d.field) for d in letters] == [
        (bad, "celsius"),
        (b"\x00garbage", "payload"),
    ]
    assert "less than or equal to 150" in letters[0].reason


def test_rfid_read_reaches_the_capture_port_as_epcis(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path, capture: MemoryCapture
) -> None:
    profiles = {DOCK: ReadPointProfile(biz_step="receiving", biz_location=ROOM)}
    cfg = config(mosquitto, influxdb, tmp_path, read_points=profiles)
    reader = ReaderSpec(
        reader_id="dock-door-1",
        read_point=DOCK,
        epcs=("urn:epc:id:sgtin:4012345.011111.1001", "urn:epc:id:sscc:4012345.3111111111"),
    )
    spec = SimulatorSpec(site=unique("site"), readers=(reader,))
    for runtime in running(cfg, capture):
        run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=2, start=START
        )
        assert runtime.gateway.wait_until(lambda c: c.captured == 2, WAIT)
    common = {
        "type": "ObjectEvent",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": DOCK},
        "bizLocation": {"id": ROOM},
    }
    assert capture.events == [
        {
            **common,
            "eventTime": "2026-11-22T10:00:00.000Z",
            "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
        },
        {
            **common,
            "eventTime": "2026-11-22T10:00:01.000Z",
            "epcList": ["urn:epc:id:sscc:4012345.3111111111"],
        },
    ]


def test_influx_outage_loses_nothing(
    mosquitto: Mosquitto, fresh_influxdb: InfluxDB, tmp_path: Path, capture: MemoryCapture
) -> None:
    cfg = config(mosquitto, fresh_influxdb, tmp_path)
    probe = ProbeSpec(device_id="p-out", location=ROOM)
    spec = SimulatorSpec(site=unique("site"), probes=(probe,), seed=3)

    def simulate(count: int, start: datetime) -> None:
        run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=count, start=start
        )

    for runtime in running(cfg, capture):
        simulate(5, START)
        assert runtime.gateway.wait_until(lambda c: c.written == 5, WAIT)
        fresh_influxdb.stop()
        # Broker has acknowledged these; the gateway cannot write them yet.
        simulate(20, START + timedelta(seconds=5))
        assert not runtime.gateway.wait_until(lambda c: c.written > 5, 0.5)
        fresh_influxdb.start()
        assert runtime.gateway.wait_until(lambda c: c.written == 25, WAIT)
    got = rows(cfg)
    assert len(got) == 25
    assert [r["seq"] for r in got] == list(range(5)) + list(range(20))
    assert len({r["time"] for r in got}) == 25


def test_building_opens_nothing_until_start(tmp_path: Path, capture: MemoryCapture) -> None:
    state = tmp_path / "state"
    config = GatewayConfig(dead_letter_path=state / "dead-letter.sqlite3", mqtt_plain=True)
    runtime = build_gateway(config, capture)
    assert not state.exists()
    with pytest.raises(GatewayError, match="not started"):
        runtime.wait_ready(0)
    runtime.stop()  # a runtime that never started has nothing to release
    assert not state.exists()


def test_a_drain_killed_by_a_bug_is_restarted_and_reported(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    tmp_path: Path,
    capture: MemoryCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pipeline bug ends the drain loop: the supervisor restarts it with backoff and
    reports the error; the batch stays spooled and reaches InfluxDB once the bug is gone."""
    from supervision.supervisor import Supervisor

    cfg = config(mosquitto, influxdb, tmp_path)
    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    runtime = build_gateway(cfg, capture, directory=EveryProbeAt(ROOM), supervisor=supervisor)
    runtime.start()
    try:
        assert runtime.wait_ready(WAIT), "gateway did not subscribe"
        names = {s.name for s in supervisor.statuses()}
        assert {"gateway.drain", "gateway.evidence", "gateway.health", "gateway.mqtt"} <= names
        assert {s.name: s for s in supervisor.statuses()}["gateway.mqtt"].ready
        broken = threading.Event()
        broken.set()
        real = runtime.gateway.process

        def process(entries: Any) -> Any:
            if broken.is_set():
                raise RuntimeError("injected: a pipeline bug")
            return real(entries)

        monkeypatch.setattr(runtime.gateway, "process", process)
        probes = (ProbeSpec(device_id="p-a", location=ROOM),)
        spec = SimulatorSpec(site=unique("site"), probes=probes, seed=3)
        run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=2, start=START
        )
        assert supervisor.wait_until(lambda s: s["gateway.drain"].restarts >= 1, WAIT)
        drain = supervisor.status("gateway.drain")
        assert drain is not None
        assert not drain.ready
        assert str(drain.last_error) == "RuntimeError: injected: a pipeline bug"
        assert rows(cfg) == []  # held, not lost
        broken.clear()
        assert runtime.gateway.wait_until(lambda c: c.written == 2, WAIT)
        assert supervisor.wait_until(lambda s: s["gateway.drain"].ready, WAIT)
        assert len(rows(cfg)) == 2
    finally:
        runtime.stop()
    assert "gateway.mqtt" not in {s.name for s in supervisor.statuses()}


def test_a_spooler_killed_by_a_bug_is_restarted_and_readiness_shows_it(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    tmp_path: Path,
    capture: MemoryCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The MQTT spooler thread dies on an unexpected error in a spool write: readiness
    (what /readyz serves) says so, naming the error, until the restarted loop has spooled
    its batch; every message, before and after, is written once."""
    from gateway.mqtt import COMPONENT
    from gateway.spool import Spool
    from supervision.status import Readiness
    from supervision.supervisor import Supervisor

    real_append = Spool.append
    crashed, release = threading.Event(), threading.Event()

    def append(self: Spool, items: Any, stop: threading.Event | None = None) -> bool:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("injected: a spool bug")
        assert release.wait(WAIT), "the test never released the spool"
        return real_append(self, items, stop)

    monkeypatch.setattr(Spool, "append", append)
    cfg = config(mosquitto, influxdb, tmp_path)
    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    runtime = build_gateway(cfg, capture, directory=EveryProbeAt(ROOM), supervisor=supervisor)
    runtime.start()
    site = unique("site")

    def publish(count: int, start: datetime) -> None:
        spec = SimulatorSpec(site=site, probes=(ProbeSpec(device_id="p-a", location=ROOM),))
        run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=count, start=start
        )

    try:
        assert runtime.wait_ready(WAIT), "gateway did not subscribe"
        publish(3, START)
        assert supervisor.wait_until(lambda s: s[COMPONENT].restarts >= 1, WAIT)
        readiness = Readiness(components=supervisor.statuses())
        assert not readiness.ready
        [spooler] = [c for c in readiness.to_json()["components"] if c["name"] == COMPONENT]
        assert (spooler["ready"], spooler["supervised"]) == (False, True)
        assert spooler["last_error"]["type"] == "RuntimeError"
        assert spooler["last_error"]["message"] == "injected: a spool bug"
        assert rows(cfg) == []  # not spooled yet, not acknowledged: held by the broker
        release.set()
        assert runtime.gateway.wait_until(lambda c: c.written == 3, WAIT)
        assert supervisor.wait_until(lambda s: s[COMPONENT].ready, WAIT)
        # Messages published after the crash are spooled and written too.
        publish(2, START + timedelta(minutes=1))
        assert runtime.gateway.wait_until(lambda c: c.written == 5, WAIT)
        assert Readiness(components=supervisor.statuses()).ready
        assert runtime.spool.depth == 0
        assert (runtime.mqtt.acked, runtime.mqtt.received) == (5, 5)
    finally:
        release.set()
        runtime.stop()
    found = rows(cfg)
    # Nothing lost, nothing twice: five readings, five distinct timestamps.
    assert len(found) == len({r["time"] for r in found}) == 5
    assert runtime.counters.redelivered == 0
