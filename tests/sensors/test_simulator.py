from __future__ import annotations

import itertools
import queue
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from sensors.errors import SimulatorError
from sensors.rfid import TagRead
from sensors.simulator import (
    Hold,
    ProbeSpec,
    ReaderSpec,
    SimulatorSpec,
    probe_readings,
    reader_reads,
    run_simulators,
)
from sensors.temperature import TemperatureReading
from sensors.topics import RFID_FILTER, TEMPERATURE_FILTER, Topic
from tracehub.services import Mosquitto, free_port

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PROBE = ProbeSpec(device_id="probe-1", location="urn:epc:id:sgln:4012345.00001.0")
READER = ReaderSpec(
    reader_id="dock-door-1",
    read_point="urn:epc:id:sgln:4012345.00001.0",
    epcs=("urn:epc:id:sgtin:4012345.011111.1001", "3074257BF7194E4000001A85"),
)


def take(it: Any, n: int) -> list[Any]:
    return [next(it) for _ in range(n)]


def test_probe_stream_is_deterministic_per_seed() -> None:
    step = timedelta(seconds=60)
    a = take(probe_readings(PROBE, START, step, seed=1), 200)
    b = take(probe_readings(PROBE, START, step, seed=1), 200)
    c = take(probe_readings(PROBE, START, step, seed=2), 200)
    assert a == b
    assert [r.celsius for r in a] != [r.celsius for r in c]


def test_probe_stream_looks_like_a_cold_room() -> None:
    readings = take(probe_readings(PROBE, START, timedelta(seconds=60), seed=3), 720)
    assert [r.seq for r in readings] == list(range(720))
    assert all(b.ts - a.ts == timedelta(seconds=60) for a, b in itertools.pairwise(readings))
    temps = [r.celsius for r in readings]
    assert 2.0 < sum(temps) / len(temps) < 6.5
    assert min(temps) > -2.0
    assert max(temps) < 15.0
    # The defrost bump in the first half hour lifts the temperature above setpoint.
    assert max(temps[:30]) > PROBE.setpoint_c + 1.5


def test_a_scripted_hold_overrides_the_curve_for_its_span_only() -> None:
    # Minute 60 to 75 (device time) the room sits at 11 °C: a compressor failure.
    failing = PROBE.model_copy(update={"course": (Hold(after_s=3600, for_s=900, celsius=11.0),)})
    plain = take(probe_readings(PROBE, START, timedelta(seconds=60), seed=3), 90)
    held = take(probe_readings(failing, START, timedelta(seconds=60), seed=3), 90)
    assert [r.celsius for r in held[:60]] == [r.celsius for r in plain[:60]]
    assert all(10.0 < r.celsius < 12.0 for r in held[60:75])  # 11 °C with the sensor's noise
    assert all(r.celsius < 9.0 for r in held[75:])
    assert [r.ts for r in held] == [r.ts for r in plain]


def test_reader_reads_each_epc_once_as_hex() -> None:
    reads = list(reader_reads(READER, START, timedelta(seconds=1)))
    assert [r.epc for r in reads] == ["3074F4E4E40AD9C0000003E9", "3074257BF7194E4000001A85"]
    assert [r.seq for r in reads] == [0, 1]


def test_spec_rejects_a_bad_epc_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        ReaderSpec(reader_id="r", read_point=READER.read_point, epcs=("urn:epc:id:sgtin:1.2.3",))
    assert info.value.errors()[0]["loc"] == ("epcs", 0)


def test_unreachable_broker_is_a_simulator_error() -> None:
    spec = SimulatorSpec(site="cold1", probes=(PROBE,))
    with pytest.raises(SimulatorError, match="cannot reach MQTT broker"):
        run_simulators("127.0.0.1", free_port(), spec, threading.Event(), 0, count=1)


@pytest.mark.integration
def test_publishes_every_message_at_qos1(mosquitto: Mosquitto) -> None:
    spec = SimulatorSpec(
        site="sim-site",
        probes=(PROBE, ProbeSpec(device_id="probe-2", location=PROBE.location)),
        readers=(READER,),
        seed=5,
    )
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_connect = lambda c, *_: c.subscribe([(TEMPERATURE_FILTER, 1), (RFID_FILTER, 1)])
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda c, u, m: inbox.put((m.topic, bytes(m.payload)))
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        stats = run_simulators(
            mosquitto.host, mosquitto.port, spec, threading.Event(), 0, count=50, start=START
        )
        assert (stats.temperature, stats.rfid) == (100, 2)
        got = [inbox.get(timeout=10) for _ in range(102)]
    finally:
        sub.disconnect()
        sub.loop_stop()
    temps = [
        TemperatureReading.model_validate_json(p)
        for t, p in got
        if Topic.parse(t).kind == "temperature"
    ]
    reads = [TagRead.model_validate_json(p) for t, p in got if Topic.parse(t).kind == "rfid"]
    expected = take(probe_readings(PROBE, START, timedelta(seconds=1), seed=5), 50)
    assert [r for r in temps if r.device_id == "probe-1"] == expected
    assert len(reads) == 2


@pytest.mark.integration
def test_stop_event_ends_an_endless_run(mosquitto: Mosquitto) -> None:
    stop = threading.Event()
    spec = SimulatorSpec(site="stop-site", probes=(PROBE,))
    result: list[Any] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_simulators(mosquitto.host, mosquitto.port, spec, stop, interval_s=0.01)
        )
    )
    thread.start()
    stop.set()
    thread.join(15)
    assert not thread.is_alive()
    assert len(result) == 1


@pytest.mark.integration
def test_a_preset_stop_publishes_nothing(mosquitto: Mosquitto) -> None:
    stop = threading.Event()
    stop.set()
    spec = SimulatorSpec(site="stop-site", probes=(PROBE,))
    stats = run_simulators(mosquitto.host, mosquitto.port, spec, stop, interval_s=1.0)
    assert (stats.temperature, stats.rfid) == (0, 0)
