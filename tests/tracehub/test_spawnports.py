"""Fixed ports for what `tracehub run` spawns: from TRACEHUB_SPAWN_*, the same after a
restart, a taken one named with its holder and its variable (never a silent free port),
a leftover on them stopped first; the demo and the fixtures keep free ports."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.tracehub.conftest import MakeSettings
from tracehub.localstack import start_local_services, start_local_stack
from tracehub.processes import alive
from tracehub.services import InfluxDB, Mosquitto, PortTakenError, ServiceError, free_port
from tracehub.settings import MqttSettings
from tracehub.spawnsettings import SpawnSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another program (this test) listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_the_spawn_ports_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SpawnSettings().broker_port(tls=True) == 8883
    assert SpawnSettings().broker_port(tls=False) == 1883
    assert (SpawnSettings().influx_port, SpawnSettings().chain_port) == (8086, 8545)
    monkeypatch.setenv("TRACEHUB_SPAWN_MQTT_PORT", "18883")
    monkeypatch.setenv("TRACEHUB_SPAWN_CHAIN_PORT", "18545")
    assert SpawnSettings().broker_port(tls=False) == 18883
    assert SpawnSettings().chain_port == 18545


def test_a_taken_port_stops_a_service_before_it_is_spawned(tmp_path: Path, held_port: int) -> None:
    broker = Mosquitto(tmp_path / "broker", port=held_port)
    with pytest.raises(PortTakenError) as taken:
        broker.start()
    assert taken.value.port == held_port
    assert f"port {held_port} on 127.0.0.1 (for the MQTT broker)" in str(taken.value)
    assert f"pid {os.getpid()} " in str(taken.value)  # the holder, found through /proc
    assert not broker.pid_path.exists()  # nothing was spawned


def test_run_spawns_on_the_configured_ports_and_again_after_a_restart(
    make_settings: MakeSettings,
) -> None:
    ports = SpawnSettings(mqtt_port=free_port(), influx_port=free_port(), chain_port=free_port())
    settings = make_settings(spawn=ports)  # plain broker: no registry work here
    for _ in range(2):
        with ExitStack() as stack:
            local = start_local_stack(settings, stack, spawn_chain=True, stable_ports=True)
            assert local.broker is not None
            assert local.influx is not None
            assert local.chain is not None
            assert local.settings.mqtt.port == local.broker.port == ports.mqtt_port
            assert local.settings.influx.url == f"http://127.0.0.1:{ports.influx_port}"
            assert local.settings.chain.rpc_url == f"http://127.0.0.1:{ports.chain_port}"
            with socket.create_connection(("127.0.0.1", ports.broker_port(tls=False)), 2):
                pass


def test_a_taken_spawn_port_names_its_variable_and_undoes_the_start(
    make_settings: MakeSettings, held_port: int
) -> None:
    settings = make_settings(spawn=SpawnSettings(mqtt_port=free_port(), influx_port=held_port))
    with pytest.raises(ServiceError) as taken, ExitStack() as stack:
        start_local_stack(settings, stack, stable_ports=True)
    # the broker came first; its pid file outlives it
    broker_pid = int((settings.hub.state_dir / "mosquitto" / "mosquitto.pid").read_text())
    message = str(taken.value)
    assert f"port {held_port} on 127.0.0.1 (for InfluxDB's HTTP API)" in message
    assert "TRACEHUB_SPAWN_INFLUX_PORT" in message
    assert "TRACEHUB_INFLUX_URL" in message  # or use the InfluxDB already there
    assert not alive(broker_pid)  # the broker started before it was stopped with the stack


def test_the_demo_and_the_fixtures_keep_free_ports(
    make_settings: MakeSettings, held_port: int
) -> None:
    settings = make_settings(
        mqtt=MqttSettings(port=1, security="plain"),  # named: only influxd is spawned
        spawn=SpawnSettings(influx_port=held_port),
    )
    with ExitStack() as stack:
        url = start_local_services(settings, stack).influx.url
    assert url is not None
    assert not url.endswith(f":{held_port}")


def test_a_plain_broker_off_loopback_is_refused(make_settings: MakeSettings) -> None:
    settings = make_settings(spawn=SpawnSettings(host="0.0.0.0", mqtt_port=free_port()))
    with pytest.raises(ServiceError, match="TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN"), ExitStack() as s:
        start_local_stack(settings, s, stable_ports=True)
    assert not (settings.hub.state_dir / "mosquitto" / "mosquitto.pid").exists()


@pytest.mark.parametrize("kind", [Mosquitto, InfluxDB])
def test_a_leftover_on_a_fixed_port_is_stopped_and_replaced(
    tmp_path: Path, kind: type[Mosquitto] | type[InfluxDB]
) -> None:
    """As after a hub died where the death signal did not reach its children: the pid
    file finds the leftover, which is stopped, so the fixed port is free again."""
    port = free_port()
    first = kind(tmp_path / "svc", port=port)
    first.start()
    assert first.process is not None
    left, first.process = first.process, None  # its launcher is gone
    second = kind(tmp_path / "svc", port=port)
    try:
        second.start()  # the port check would refuse if the leftover still held it
        assert left.wait(timeout=20) is not None
        assert second.running
        assert second.process is not None
        assert int(second.pid_path.read_text()) == second.process.pid
    finally:
        second.stop()


def test_a_zombie_is_not_alive() -> None:
    """An exited child not yet reaped (a container's init may never reap an orphan)
    holds no port: waiting for it to "die" would only delay the restart."""
    child = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, kept a zombie
        os.kill(child.pid, 0)  # the kernel still knows the pid
        assert not alive(child.pid)
    finally:
        child.wait()
