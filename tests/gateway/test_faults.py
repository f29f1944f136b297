"""Fault tests against the real services; the test does the killing.

- 100,000 QoS 1 messages, the gateway process killed with SIGKILL mid-stream and
  restarted: exactly 100,000 distinct points.
- InfluxDB stopped for 30 s mid-stream: every point lands afterwards, none twice.
- mosquitto restarted mid-stream (persistence on): nothing lost.
- Two replicas on one shared subscription: the load splits, the union is exact.
- Malformed payloads mixed into a good stream: each dead-lettered with its reason,
  every good message stored.

Waiting on another process (InfluxDB filling up) has no event to await, so those
waits poll a count query with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from gateway.influx import InfluxWriter
from gateway.runtime import GatewayRuntime, build_gateway
from sensors.simulator import Publisher
from tests.support.devices import FIXED_DATES_CLOCK, EveryProbeAt, write_registry
from tracehub.services import InfluxDB, Mosquitto

pytestmark = pytest.mark.integration

ROOM = "urn:epc:id:sgln:4012345.00001.0"
T0_NS = 1_795_341_600_000_000_000  # 2026-11-22T10:00:00Z
DATA = Path(__file__).parent.parent / "data" / "gateway"
ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def reading(site: str, device: str, seq: int) -> tuple[str, bytes]:
    ms = seq  # one reading per millisecond per device: every point has its own timestamp
    ts = f"2026-11-22T10:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z"
    body = f'{{"device_id":"{device}","seq":{seq},"ts":"{ts}","celsius":4.5,"location":"{ROOM}"}}'
    return f"tracehub/v1/{site}/temperature/{device}", body.encode()


def stream(site: str, total: int, devices: int = 10) -> list[tuple[str, bytes]]:
    per = total // devices
    return [reading(site, f"p{d}", s) for s in range(per) for d in range(devices)]


class Feeder(threading.Thread):
    """Publishes messages at QoS 1 with back-pressure; ``published`` counts broker acks."""

    def __init__(self, broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
        super().__init__(name="feeder", daemon=True)
        self.messages = messages
        self.publisher = Publisher(broker.host, broker.port, unique("feeder-"), max_inflight=500)
        self.sent = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.milestones: dict[int, threading.Event] = {}

    def at(self, count: int) -> threading.Event:
        return self.milestones.setdefault(count, threading.Event())

    def run(self) -> None:
        try:
            self.publisher.connect()
            for topic, payload in self.messages:
                if not self.publisher.publish(topic, payload, self.stop):
                    return
                self.sent += 1
                if self.sent in self.milestones:
                    self.milestones[self.sent].set()
            if not self.publisher.flush(120):
                raise RuntimeError("broker did not acknowledge everything")
        except BaseException as exc:
            self.error = exc
        finally:
            self.publisher.close()

    def finish(self, timeout: float = 180) -> None:
        self.join(timeout)
        assert not self.is_alive(), "publisher did not finish"
        assert self.error is None, self.error


def count(influx: InfluxDB, database: str, where: str = "") -> int:
    with InfluxWriter(influx.url, database) as client:
        try:
            series = client.query(f"SELECT count(seq) FROM temperature {where}")
        except Exception:
            return -1
    return int(series[0]["rows"][0]["count"]) if series else 0


def wait_count(influx: InfluxDB, database: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    got = count(influx, database)
    while got != expected and time.monotonic() < deadline:
        threading.Event().wait(0.25)
        got = count(influx, database)
    return got


def config(broker: Mosquitto, influx: InfluxDB, state: Path, **kw: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_plain": True,  # the suite's shared broker: plain on loopback
        "mqtt_client_id": unique("gw-"),
        "influx_url": influx.url,
        "influx_database": unique("db_"),
        "dead_letter_path": state / "dead-letter.sqlite3",
        "retry_max_s": 0.5,
        "health_interval_s": 1.0,
        "clock": FIXED_DATES_CLOCK,
        **kw,
    }
    return GatewayConfig(**values)


class GatewayProcess:
    """``python -m gateway`` in a child process, killable like a crash."""

    def __init__(self, cfg: GatewayConfig, directory: Path) -> None:
        self.cfg = cfg
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path = directory / "gateway.json"
        self.config_path.write_text(cfg.model_dump_json())
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        log = (self.directory / "gateway.log").open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(self.config_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until subscribed (or the child died)
        assert line.strip() == "READY", (self.directory / "gateway.log").read_text()[-2000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close()

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        self._close()


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for proc in started:
        proc.stop()


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    tmp_path: Path,
    processes: list[GatewayProcess],
) -> None:
    total = 100_000
    site = unique("site")
    # The child process finds where each probe is in a registry folder, as in production.
    devices = write_registry(tmp_path / "devices", site, {f"p{d}": ROOM for d in range(10)})
    cfg = config(mosquitto, influxdb, tmp_path / "state", devices_dir=devices)
    gateway = GatewayProcess(cfg, tmp_path / "proc")
    processes.append(gateway)
    gateway.start()
    feeder = Feeder(mosquitto, stream(site, total))
    halfway = feeder.at(total // 3)
    feeder.start()
    assert halfway.wait(120)
    gateway.kill()  # mid-stream: messages in flight, in the spool and in InfluxDB
    landed = count(influxdb, cfg.influx_database)
    assert 0 <= landed < total
    gateway.start()  # same client id and spool: session and spool resume
    feeder.finish()
    assert wait_count(influxdb, cfg.influx_database, total, 120) == total
    with InfluxWriter(influxdb.url, cfg.influx_database) as client:
        per_device = client.query("SELECT count(seq), max(seq) FROM temperature GROUP BY device")
    assert {s["tags"]["device"]: s["rows"][0]["count"] for s in per_device} == {
        f"p{d}": total // 10 for d in range(10)
    }


def test_influx_outage_of_30_s_mid_stream(
    mosquitto: Mosquitto, fresh_influxdb: InfluxDB, tmp_path: Path
) -> None:
    total = 20_000
    cfg = config(mosquitto, fresh_influxdb, tmp_path)
    runtime = build_gateway(cfg, NoCapture(), directory=EveryProbeAt(ROOM))
    runtime.start()
    try:
        assert runtime.wait_ready(30)
        feeder = Feeder(mosquitto, stream(unique("site"), total))
        started = feeder.at(total // 4)
        feeder.start()
        assert started.wait(60)
        fresh_influxdb.stop()
        held = runtime.drainer.failing
        feeder.finish()
        # Everything is acknowledged by the gateway although InfluxDB is down: it is
        # in the spool.
        assert runtime.spool.wait_empty(0.5) is False
        assert held.wait(30)
        threading.Event().wait(30)  # the outage the issue asks for
        assert runtime.spool.depth > 0
        fresh_influxdb.start()
        assert runtime.spool.wait_empty(120)
        assert runtime.gateway.wait_until(lambda c: c.received == total, 30)
    finally:
        runtime.stop()
    assert count(fresh_influxdb, cfg.influx_database) == total
    assert runtime.counters.dead_lettered == 0


def test_mosquitto_restart_mid_stream_loses_nothing(
    fresh_mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    total = 20_000
    cfg = config(fresh_mosquitto, influxdb, tmp_path)
    runtime = build_gateway(cfg, NoCapture(), directory=EveryProbeAt(ROOM))
    runtime.start()
    try:
        assert runtime.wait_ready(30)
        feeder = Feeder(fresh_mosquitto, stream(unique("site"), total))
        halfway = feeder.at(total // 2)
        feeder.start()
        assert halfway.wait(60)
        fresh_mosquitto.restart()  # SIGTERM: mosquitto saves its persistence file
        feeder.finish()
        assert wait_count(influxdb, cfg.influx_database, total, 120) == total
    finally:
        runtime.stop()


class NoCapture:
    def capture(self, event: Mapping[str, Any]) -> str:
        return "none"


def test_two_replicas_split_the_load_and_the_union_is_exact(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    total = 20_000
    group, database = unique("grp"), unique("db_")
    runtimes: list[GatewayRuntime] = []
    for i in range(2):
        cfg = config(
            mosquitto,
            influxdb,
            tmp_path / f"r{i}",
            mqtt_share_group=group,
            influx_database=database,
            gateway_id=f"replica-{i}",
        )
        runtime = build_gateway(cfg, NoCapture(), directory=EveryProbeAt(ROOM))
        runtime.start()
        runtimes.append(runtime)
    try:
        assert all(r.wait_ready(30) for r in runtimes)
        feeder = Feeder(mosquitto, stream(unique("site"), total))
        feeder.start()
        feeder.finish()
        assert wait_count(influxdb, database, total, 120) == total
    finally:
        for runtime in runtimes:
            runtime.stop()
    # Read once stopped: a replica counts a batch after InfluxDB answered its write, so the
    # points can be queryable a moment before its counter moves (a CI flake).
    shares = [r.counters.written for r in runtimes]
    assert sum(shares) == total  # each message went to exactly one replica
    assert min(shares) > total // 10, shares


def malformed(site: str) -> list[tuple[str, bytes, str]]:
    cases = json.loads((DATA / "malformed.json").read_text())["cases"]
    out = []
    for case in cases:
        if "payload_hex" in case:
            payload = bytes.fromhex(case["payload_hex"])
        elif "payload_repeat" in case:
            text, times = case["payload_repeat"]
            payload = (text * times).encode()
        else:
            payload = case["payload"].encode()
        out.append((case["topic"].format(site=site), payload, case["code"]))
    return out


def test_malformed_corpus_in_a_good_stream(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    site = unique("site")
    known = frozenset({*(f"p{d}" for d in range(10)), "door-1", "AGV-0001"})
    cfg = config(mosquitto, influxdb, tmp_path, known_devices=known)
    good = stream(site, 2_000)
    bad = malformed(site)
    mixed: list[tuple[str, bytes]] = []
    for i, message in enumerate(good):
        mixed.append(message)
        if i % 100 == 50 and i // 100 < len(bad):
            mixed.append(bad[i // 100][:2])
    mixed += [b[:2] for b in bad[len(good) // 100 :]]
    runtime = build_gateway(cfg, NoCapture(), directory=EveryProbeAt(ROOM))
    runtime.start()
    try:
        assert runtime.wait_ready(30)
        feeder = Feeder(mosquitto, mixed)
        feeder.start()
        feeder.finish()
        assert runtime.gateway.wait_until(lambda c: c.received == len(mixed), 60)
        letters = runtime.dead_letters.list(1000)
        health = runtime.health.report()
    finally:
        runtime.stop()
    assert count(influxdb, cfg.influx_database) == len(good)
    assert sorted((d.topic, d.payload, d.code) for d in letters) == sorted(bad)
    assert all(d.reason for d in letters)
    assert health["dead_lettered"] == len(bad)
    with InfluxWriter(influxdb.url, cfg.influx_database) as client:
        series = client.query("SELECT last(count) FROM dead_letter GROUP BY reason")
    expected: dict[str, int] = {}
    for _, _, code in bad:
        expected[code] = expected.get(code, 0) + 1
    assert {s["tags"]["reason"]: s["rows"][0]["last"] for s in series} == expected
