"""MqttSource against real mosquitto: ack only after success, redelivery after reconnect."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.deadletter import DeadLetterStore
from gateway.errors import SinkUnavailable, SourceError
from gateway.influx import InfluxWriter
from gateway.mqtt import MqttSource
from gateway.worker import Gateway
from sensors.simulator import ProbeSpec, SimulatorSpec, run_simulators
from tests.gateway.test_worker import FakeCapture
from tracehub.services import InfluxDB, Mosquitto

pytestmark = pytest.mark.integration

WAIT = 30.0
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def simulate(broker: Mosquitto, site: str, count: int) -> None:
    spec = SimulatorSpec(
        site=site, probes=(ProbeSpec(device_id="p1", location="urn:epc:id:sgln:4012345.00001.0"),)
    )
    run_simulators(broker.host, broker.port, spec, threading.Event(), 0, count=count, start=START)


def test_unacked_messages_are_redelivered_and_do_not_duplicate(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    client_id = "gw-redeliver-" + uuid.uuid4().hex[:8]
    site = "site" + uuid.uuid4().hex[:8]
    writer = InfluxWriter(influxdb.url, "db_" + uuid.uuid4().hex[:10])
    writer.ensure_database()
    dead = DeadLetterStore(tmp_path / "dl.sqlite3")
    gateway = Gateway(writer, FakeCapture(), dead)

    def crash_after_write(topic: str, payload: bytes) -> None:
        gateway.handle(topic, payload)
        raise RuntimeError("simulated crash between the write and the ack")

    first = MqttSource(mosquitto.host, mosquitto.port, client_id, crash_after_write)
    first.start()
    assert first.wait_ready(WAIT)
    simulate(mosquitto, site, 5)
    assert gateway.wait_until(lambda c: c.written == 5, WAIT)
    first.stop()
    assert first.acked == 0

    # Same client id, persistent session: the broker redelivers the 5 unacked messages.
    second = MqttSource(mosquitto.host, mosquitto.port, client_id, gateway.handle)
    second.start()
    try:
        assert gateway.wait_until(lambda c: c.written == 10, WAIT)
    finally:
        second.stop()
    assert second.acked == 5
    [series] = writer.query("SELECT * FROM temperature")
    assert [r["seq"] for r in series["rows"]] == [0, 1, 2, 3, 4]

    # Everything is acknowledged now: a third session receives nothing more.
    third = MqttSource(mosquitto.host, mosquitto.port, client_id, gateway.handle)
    third.start()
    try:
        assert third.wait_ready(WAIT)
        simulate(mosquitto, site, 1)  # a marker behind any stray redelivery
        assert gateway.wait_until(lambda c: c.written == 11, WAIT)
        assert not gateway.wait_until(lambda c: c.written > 11, 0.3)
    finally:
        third.stop()
    writer.close()
    dead.close()


def test_transient_failure_is_retried_in_order_then_acked(mosquitto: Mosquitto) -> None:
    seen: list[str] = []
    failures = {"left": 3}
    done = threading.Event()

    def flaky(topic: str, payload: bytes) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise SinkUnavailable("InfluxDB down")
        seen.append(payload.decode())
        if len(seen) == 3:
            done.set()

    site = "site" + uuid.uuid4().hex[:8]
    source = MqttSource(
        mosquitto.host,
        mosquitto.port,
        "gw-flaky-" + uuid.uuid4().hex[:8],
        flaky,
        retry_initial_s=0.01,
        retry_max_s=0.05,
    )
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, site, 3)
        assert done.wait(WAIT)
    finally:
        source.stop()
    assert [s.count('"seq":') for s in seen] == [1, 1, 1]
    assert ['"seq":0' in seen[0], '"seq":1' in seen[1], '"seq":2' in seen[2]] == [True] * 3
    assert source.acked == 3


def test_source_needs_a_stable_client_id() -> None:
    with pytest.raises(SourceError, match="client_id must be set"):
        MqttSource("127.0.0.1", 1883, "", lambda t, p: None)
    with pytest.raises(SourceError, match="receive_maximum"):
        MqttSource("127.0.0.1", 1883, "x", lambda t, p: None, receive_maximum=0)


def test_receive_maximum_bounds_what_the_broker_pushes(mosquitto: Mosquitto) -> None:
    release = threading.Event()
    entered = threading.Event()
    handled: list[bytes] = []
    all_done = threading.Event()

    def slow(topic: str, payload: bytes) -> None:
        entered.set()
        release.wait(WAIT)
        handled.append(payload)
        if len(handled) == 20:
            all_done.set()

    site = "site" + uuid.uuid4().hex[:8]
    source = MqttSource(
        mosquitto.host,
        mosquitto.port,
        "gw-bounded-" + uuid.uuid4().hex[:8],
        slow,
        receive_maximum=5,
    )
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, site, 20)  # returns once the broker has all 20
        assert entered.wait(WAIT)
        # One message is in the handler; the broker may push only 4 more unacked ones.
        within_bound = [source.pending <= 4]
        all_done.wait(0.5)
        within_bound.append(source.pending <= 4)
        assert within_bound == [True, True]
        assert len(handled) == 0
        release.set()
        assert all_done.wait(WAIT)
    finally:
        release.set()
        source.stop()
    assert source.acked == 20
