"""`tracehub run` as a service (issue #18): fixed ports, one hub per state folder, no
orphaned or duplicated broker or InfluxDB after kill -9, every endpoint said.

The hub runs as an operator runs it (a subprocess, TLS broker, its own state folder),
with the "stable" ports set to ports free for this test. It is SIGKILLed and started
again: the same ports, its spawned services gone with it (the death signal) or stopped
from their pid files (leftovers of a launcher the signal did not reach), never two over
one folder, and a device connects again with the same credentials. A second hub on the
same folder is refused while the first runs, without touching the first one's services.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.devices.access import Identity
from sensors.credentials import apply_auth
from sensors.topics import temperature_topic
from tracehub.processes import alive, cmdline
from tracehub.services import find_executable, free_port
from tracehub.settings import (
    ChainSettings,
    DevicesSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)
from tracehub.site import open_device_registry

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SITE = "lifecycle"
PROBE = Identity(kind="temperature", site=SITE, device_id="probe-lc-1")
SERVICES = {"mosquitto": "mosquitto", "influxd": "influxdb", "anvil": "chain"}
STARTED = b"`tracehub status` shows them)"  # the last line of the endpoints block


class Hub:
    """One `tracehub run` subprocess on ``state``; ``start()`` returns its start output."""

    def __init__(self, state: Path, env: dict[str, str]) -> None:
        self.state, self.env = state, env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> str:
        with (self.state.parent / "hub.err").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tracehub.cli", "run"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.proc.stdout is not None
        out, fd, deadline = b"", self.proc.stdout.fileno(), time.monotonic() + timeout
        while STARTED not in out:
            left = deadline - time.monotonic()
            assert left > 0, f"no endpoints block within {timeout}s: {out!r}"
            ready, _, _ = select.select([fd], [], [], left)  # the hub's output is the event
            chunk = os.read(fd, 65536) if ready else b""
            assert chunk or not ready, f"the hub exited: {out!r}; see {self.state.parent}/hub.err"
            out += chunk
        return out.decode()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert proc.stdout is not None
        proc.stdout.close()

    def pids(self) -> dict[str, int]:
        return {
            name: int((self.state / folder / f"{name}.pid").read_text())
            for name, folder in SERVICES.items()
        }

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracehub.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def ports() -> dict[str, int]:
    names = ("web", "mqtt", "mqtt_password", "influx", "chain")
    return {name: free_port() for name in names}


@pytest.fixture
def hub(tmp_path: Path, ports: dict[str, int]) -> Iterator[Hub]:
    state = tmp_path / "state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "300",
        "TRACEHUB_STATE_DIR": str(state),
        "TRACEHUB_SITE": SITE,
        "TRACEHUB_WEB_PORT": str(ports["web"]),
        "TRACEHUB_SPAWN_MQTT_PORT": str(ports["mqtt"]),
        "TRACEHUB_SPAWN_MQTT_PASSWORD_PORT": str(ports["mqtt_password"]),
        "TRACEHUB_SPAWN_INFLUX_PORT": str(ports["influx"]),
        "TRACEHUB_SPAWN_CHAIN_PORT": str(ports["chain"]),
    }
    running = Hub(state, env)
    yield running
    running.stop()


def _registry_settings(state: Path) -> Settings:
    return Settings(
        hub=HubSettings(state_dir=state, site=SITE),
        mqtt=MqttSettings(security="tls"),
        influx=InfluxSettings(),
        records=RecordsSettings(),
        chain=ChainSettings(),
        web=WebSettings(),
        devices=DevicesSettings(dir=None, passphrase=None),
    )


def _publish_as_probe(state: Path, port: int) -> str:
    """Connect as the provisioned probe over TLS and publish one QoS 1 message: the
    broker's answer (its PUBACK reason), or why it could not connect."""
    auth = open_device_registry(_registry_settings(state)).credentials(PROBE.username)
    acks: queue.Queue[str] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=PROBE.username,
                         protocol=mqtt.MQTTv5)  # fmt: skip
    apply_auth(client, auth)

    def connected(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        acks.put(f"connect {reason}")

    client.on_connect = connected
    client.on_publish = lambda c, u, mid, reason, p: acks.put(f"puback {reason}")
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    try:
        answer = acks.get(timeout=20)
        if answer == "connect Success":
            topic = str(temperature_topic(SITE, PROBE.device_id))
            client.publish(topic, b'{"not": "a reading"}', qos=1)
            answer = acks.get(timeout=20)
        return answer
    finally:
        client.disconnect()
        client.loop_stop()
        client._reset_sockets(sockpair_only=True)  # as tests/gateway/test_security.py


def _running_over(path: Path) -> list[int]:
    """Every live process whose command line names ``path`` (psutil-free: /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        pid = int(proc.name) if proc.name.isdigit() else 0
        if pid and str(path) in cmdline(pid) and alive(pid):
            found.append(pid)
    return found


def _until(check: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)  # other processes' exits: polled, there is no event to await
    return False


def _one_of_each(hub: Hub) -> None:
    pids = hub.pids()
    for name, folder in SERVICES.items():
        conf = hub.state / folder
        assert _running_over(conf) == [pids[name]], f"not exactly one {name} over {conf}"


def test_run_keeps_its_ports_refuses_a_twin_and_leaves_nothing_behind(
    hub: Hub, ports: dict[str, int]
) -> None:
    hub.state.mkdir(parents=True)
    open_device_registry(_registry_settings(hub.state)).ensure(PROBE)
    block = hub.start()
    for shown in (
        f"http://127.0.0.1:{ports['web']}/console",
        f"mqtts://127.0.0.1:{ports['mqtt']}  (TLS, client certificates; spawned by the hub)",
        f"mqtts://127.0.0.1:{ports['mqtt_password']}  (TLS, username and password)",
        f"http://127.0.0.1:{ports['influx']}  (database tracehub; spawned by the hub)",
        f"http://127.0.0.1:{ports['chain']}  local anvil",
        f"sqlite:///{hub.state}/records.db",
    ):
        assert shown in block
    assert hub.proc is not None
    first_pid = hub.proc.pid
    written = json.loads((hub.state / "endpoints.json").read_text())
    assert written["pid"] == first_pid
    broker = {"host": "127.0.0.1", "port": ports["mqtt"], "tls": True,
              "password_port": ports["mqtt_password"], "spawned": True}  # fmt: skip
    assert written["mqtt"] == broker
    first = hub.pids()
    _one_of_each(hub)
    assert _publish_as_probe(hub.state, ports["mqtt"]) == "puback Success"

    twin = hub.command("run")  # the same state folder, while the first runs
    assert twin.returncode == 1
    assert f"in use by another tracehub (pid {first_pid} holds" in twin.stderr
    assert hub.pids() == first  # the twin stopped nothing as a "leftover"
    _one_of_each(hub)

    status = hub.command("status")
    assert f"endpoints of the hub on {hub.state} (pid {first_pid})" in status.stdout
    assert f"mqtts://127.0.0.1:{ports['mqtt']}" in status.stdout

    hub.stop(signal.SIGKILL)
    assert _until(lambda: not any(alive(pid) for pid in first.values())), (
        f"spawned services outlived their SIGKILLed hub: {first}"
    )
    stale = hub.command("status")
    assert f"names hub pid {first_pid}, which no longer runs" in stale.stdout

    again = hub.start()
    assert f"mqtts://127.0.0.1:{ports['mqtt']}" in again
    assert f"http://127.0.0.1:{ports['influx']}" in again
    second = hub.pids()
    assert not set(second.values()) & set(first.values())
    _one_of_each(hub)
    assert _publish_as_probe(hub.state, ports["mqtt"]) == "puback Success"


def test_leftovers_the_death_signal_missed_are_stopped_before_the_start(
    hub: Hub, ports: dict[str, int]
) -> None:
    """A broker and an influxd still running over the folder (a platform without the
    death signal, or a hub killed mid-start) hold the fixed ports: the next start stops
    them through their pid files, then listens on the same ports."""
    hub.start()
    hub.stop()  # a clean stop: the config files stay for the leftovers below
    leftovers = []
    for name, folder, args in (
        ("mosquitto", "mosquitto", ["-c", "mosquitto.conf"]),
        ("influxd", "influxdb", ["run", "-config", "influxdb.conf"]),
    ):
        where = hub.state / folder
        paths = [str(where / a) if a.endswith(".conf") else a for a in args]
        proc = subprocess.Popen([find_executable(name), *paths], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        leftovers.append(proc)
        (where / f"{name}.pid").write_text(f"{proc.pid}\n")
    try:
        for port in (ports["mqtt"], ports["influx"]):
            assert _until(lambda p=port: _listening(p)), f"no leftover listens on {port}"
        block = hub.start()
        for proc in leftovers:
            assert proc.wait(timeout=30) is not None  # stopped by the new hub
        assert f"mqtts://127.0.0.1:{ports['mqtt']}" in block
        assert f"http://127.0.0.1:{ports['influx']}" in block
        _one_of_each(hub)
    finally:
        for proc in leftovers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
