"""A whole simulated site through one gateway: probes, a dock reader, an AGV over
VDA 5050 and a cold-room PLC over OPC UA, then ``tracehub status`` reads the health.

Real mosquitto, influxd and asyncua server; the capture port is a fake of the
gateway's own Protocol.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.config import GatewayConfig
from gateway.influx import InfluxWriter
from gateway.observation import AgvProfile
from gateway.opcua import OpcUaEndpoint, OpcUaNode
from gateway.runtime import build_gateway
from sensors.agv_sim import CYCLE, run_agvs
from sensors.coldroom_server import ColdRoomServer
from sensors.scenario import load_scenario
from sensors.simulator import run_simulators
from tests.support.devices import FIXED_DATES_CLOCK, placed
from tracehub.cli import main
from tracehub.services import InfluxDB, Mosquitto, free_port

pytestmark = pytest.mark.integration

SITE = Path(__file__).parent.parent / "data" / "sensors" / "site.yaml"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WAIT = 60.0


class Capture:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.lock = threading.Lock()

    def capture(self, event: Mapping[str, Any]) -> str:
        with self.lock:
            self.events.append(event)
        return str(len(self.events))


def test_site_scenario_end_to_end_and_status(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    site = load_scenario(SITE)
    plc = ColdRoomServer(free_port(), ("cold1",), interval_s=0.1)
    plc.start()
    endpoint = OpcUaEndpoint(
        url=plc.url,
        site=site.site,
        plc="plc-cold1",
        location=site.rooms[0].location,
        nodes=tuple(OpcUaNode(quantity=q, node_id=n) for q, n in plc.node_ids["cold1"].items()),
        publishing_interval_ms=100,
    )
    gateway_id = "gw-site-" + uuid.uuid4().hex[:6]
    cfg = GatewayConfig(
        gateway_id=gateway_id,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_plain=True,  # the suite's shared broker: plain on loopback
        mqtt_client_id=gateway_id,
        influx_url=influxdb.url,
        influx_database="db_" + uuid.uuid4().hex[:10],
        dead_letter_path=tmp_path / "dead-letter.sqlite3",
        agv_profiles={"ExampleAGV/AGV-0001": AgvProfile(read_point=site.docks[0].read_point)},
        opcua=(endpoint,),
        health_interval_s=0.5,
        clock=FIXED_DATES_CLOCK,
    )
    capture = Capture()
    # Each probe placed at its room, dock or truck and each reader at its dock door, as
    # `tracehub devices provision-demo` does.
    spec = site.simulator_spec()
    where = {p.device_id: p.location for p in spec.probes}
    doors = {r.reader_id: r.read_point for r in spec.readers}
    runtime = build_gateway(cfg, capture, directory=placed(site.site, where, readers=doors))
    runtime.start()
    try:
        assert runtime.wait_ready(30)
        assert runtime.opcua[0].connected.wait(30)
        stop = threading.Event()
        ticks = 10
        stats = run_simulators(
            mosquitto.host, mosquitto.port, site.simulator_spec(), stop, 0, count=ticks, start=START
        )
        agv_sent = run_agvs(
            mosquitto.host, mosquitto.port, site.agvs, stop, 0, start=START, count=CYCLE + 1
        )
        expected = stats.temperature + stats.rfid + agv_sent
        assert runtime.gateway.wait_until(lambda c: c.written >= expected, WAIT), runtime.counters
        # Two RFID observations, the AGV picking its load up and dropping it.
        assert runtime.gateway.wait_until(lambda c: c.captured == 4, WAIT), runtime.counters
        assert runtime.gateway.wait_until(lambda c: c.written >= expected + 10, WAIT)
        runtime.health.report()
    finally:
        runtime.stop()
        plc.stop()
    assert runtime.counters.dead_lettered == 0
    steps = sorted(e["bizStep"] for e in capture.events)
    assert steps == ["arriving", "arriving", "loading", "unloading"]

    with InfluxWriter(cfg.influx_url, cfg.influx_database) as influx:

        def count(measurement: str, field: str) -> int:
            series = influx.query(f"SELECT count({field}) FROM {measurement}")
            return int(series[0]["rows"][0]["count"]) if series else 0

        assert count("temperature", "seq") == stats.temperature
        assert count("rfid_read", "seq") == stats.rfid
        assert count("agv_state", "battery_charge") == agv_sent
        assert count("coldroom", "temperature_c") >= 1
        assert count("coldroom", "compressor_kw") >= 1

    result = CliRunner().invoke(
        main,
        ["status", "--influx-url", cfg.influx_url, "--database", cfg.influx_database],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert gateway_id in result.output
    assert "spool_depth" in result.output


def test_simulate_command_runs_a_scenario_file(mosquitto: Mosquitto) -> None:
    env = {
        "TRACEHUB_MQTT_HOST": mosquitto.host,
        "TRACEHUB_MQTT_PORT": str(mosquitto.port),
        "TRACEHUB_MQTT_SECURITY": "plain",  # the suite's shared broker
    }
    result = CliRunner().invoke(
        main, ["simulate", "--scenario", str(SITE), "--count", "3", "--interval", "0"], env=env
    )
    assert result.exit_code == 0, result.output
    # 4 probes and 1 reader (2 EPCs) for 3 ticks; 1 AGV for 3 ticks.
    assert "published 12 readings, 2 tag reads and 3 AGV states" in " ".join(result.output.split())
