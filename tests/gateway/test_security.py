"""Broker security against a real mosquitto configured from the device registry: only
known devices connect, each publishes only on its own topic and reads nothing, revoked,
rotated-out, expired and foreign certificates are refused, and the gateway still
ingests everything legitimate. A broker named by TRACEHUB_MQTT_PORT gets TLS and the
gateway's own certificate unless plain is asked for, and nobody takes its session over."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from gateway.config import GatewayConfig
from gateway.devices.access import Identity, identity_for_topic
from gateway.devices.broker import BrokerFiles
from gateway.devices.registry import DeviceRegistry
from gateway.influx import InfluxWriter
from gateway.runtime import GatewayRuntime, build_gateway
from sensors.credentials import MqttAuth, apply_auth
from sensors.simulator import ProbeSpec, ReaderSpec, SimulatorSpec, run_simulators
from tests.support.devices import FIXED_DATES_CLOCK, EveryProbeAt
from tracehub.services import BrokerTls, InfluxDB, Mosquitto
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
from tracehub.site import gateway_config

pytestmark = pytest.mark.integration

WAIT = 10.0
PASSPHRASE = "test passphrase, not a secret"
A = Identity(kind="temperature", site="s1", device_id="probe-a")
B = Identity(kind="temperature", site="s1", device_id="probe-b")
READER = Identity(kind="rfid", site="s1", device_id="dock-1")
GATEWAY = Identity(kind="gateway", device_id="gw-1")
PASSWORD_DEVICE = Identity(kind="temperature", site="s1", device_id="probe-pw")
ROOM = "urn:epc:id:sgln:4012345.00001.0"


def topic_of(identity: Identity) -> str:
    return f"tracehub/v1/{identity.site}/{identity.kind}/{identity.device_id}"


def reading(device_id: str, seq: int = 0) -> bytes:
    return json.dumps(
        {"device_id": device_id, "seq": seq, "ts": "2026-11-22T10:00:00Z", "celsius": 4.2,
         "location": ROOM}
    ).encode()  # fmt: skip


@dataclass
class Site:
    registry: DeviceRegistry
    broker: Mosquitto
    files: BrokerFiles
    auth: dict[str, MqttAuth] = field(default_factory=dict)
    password: str = ""

    def sync(self) -> None:
        """Make the registry's changes effective (SIGHUP), awaiting the reload."""
        self.broker.reload()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("security")
    registry = DeviceRegistry.open(root / "devices", PASSPHRASE, site="s1")
    auth = {i.username: registry.provision(i).auth for i in (A, B, READER, GATEWAY)}
    pw = registry.provision(PASSWORD_DEVICE, certificate=False, password=True)
    assert pw.password is not None
    files = registry.broker_files()
    tls = BrokerTls(**files.model_dump())
    with Mosquitto(root / "broker", tls=tls) as broker:
        yield Site(registry, broker, files, auth, pw.password.get_secret_value())


@dataclass
class Outcome:
    connected: bool
    reason: str


class Client:
    """A paho MQTTv5 client that records CONNACK, SUBACK, PUBACK and messages."""

    def __init__(self, auth: MqttAuth | None, client_id: str = "") -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if auth is not None:
            apply_auth(self.client, auth)
        self.connack: queue.Queue[Outcome] = queue.Queue()
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.pubacks: queue.Queue[Any] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.put(list(codes))
        self.client.on_publish = lambda c, u, mid, reason, p: self.pubacks.put(reason)
        self.client.on_message = lambda c, u, m: self.messages.put(m)

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack.put(Outcome(not reason.is_failure, str(reason)))

    def _on_disconnect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        self.disconnected.set()
        self.connack.put(Outcome(False, f"disconnected: {reason}"))

    def connect(self, port: int) -> Outcome:
        """Connect once (no retries); a TLS refusal shows as an error or a disconnect."""
        try:
            self.client.connect("127.0.0.1", port, keepalive=10)
        except OSError as exc:  # ssl.SSLError included: the handshake itself failed
            return Outcome(False, f"{type(exc).__name__}: {exc}")
        self.client.loop_start()
        try:
            return self.connack.get(timeout=WAIT)
        except queue.Empty:
            return Outcome(False, "no CONNACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair only when collected (a ResourceWarning if
        # the sockets' finalisers run first), as gateway.mqtt.MqttSource.stop says.
        self.client._reset_sockets(sockpair_only=True)


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        c.close()


def connected(site: Site, clients: list[Client], username: str, client_id: str = "") -> Client:
    client = Client(site.auth[username], client_id)
    clients.append(client)
    outcome = client.connect(site.broker.port)
    assert outcome.connected, outcome.reason
    return client


def gateway_listening(site: Site, clients: list[Client]) -> Client:
    gw = connected(site, clients, GATEWAY.username)
    gw.client.subscribe("tracehub/v1/#", qos=1)
    assert not any(code.is_failure for code in gw.subacks.get(timeout=WAIT))
    return gw


def test_known_devices_connect_and_their_readings_reach_the_gateway(
    site: Site, clients: list[Client]
) -> None:
    gw = gateway_listening(site, clients)
    probe = connected(site, clients, A.username)
    probe.client.publish(topic_of(A), reading("probe-a"), qos=1)
    assert not probe.pubacks.get(timeout=WAIT).is_failure
    message = gw.messages.get(timeout=WAIT)
    assert (message.topic, json.loads(message.payload)["device_id"]) == (topic_of(A), "probe-a")


def test_a_client_without_a_certificate_is_refused(site: Site, clients: list[Client]) -> None:
    anonymous = Client(MqttAuth(ca_file=site.files.cafile, username="x", password=SecretStr("y")))
    clients.append(anonymous)
    outcome = anonymous.connect(site.broker.port)
    assert not outcome.connected, outcome.reason


def test_a_plain_client_is_refused(site: Site, clients: list[Client]) -> None:
    plain = Client(None)
    clients.append(plain)
    assert not plain.connect(site.broker.port).connected


def test_a_certificate_from_another_ca_is_refused(
    site: Site, clients: list[Client], tmp_path: Path
) -> None:
    # Same identity name, same form, but issued by a CA the broker does not trust.
    rogue = DeviceRegistry.open(tmp_path / "rogue", PASSPHRASE, site="s1")
    auth = rogue.provision(A).auth.model_copy(update={"ca_file": site.files.cafile})
    client = Client(auth)
    clients.append(client)
    outcome = client.connect(site.broker.port)
    assert not outcome.connected, outcome.reason


def test_an_expired_certificate_is_refused(site: Site, clients: list[Client]) -> None:
    old = Identity(kind="temperature", site="s1", device_id="probe-expired")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    auth = site.registry.provision(
        old, not_before=long_ago, not_after=long_ago + timedelta(days=1)
    ).auth
    site.sync()
    client = Client(auth)
    clients.append(client)
    outcome = client.connect(site.broker.port)
    assert not outcome.connected, outcome.reason


def test_a_device_cannot_publish_on_another_devices_topic(
    site: Site, clients: list[Client]
) -> None:
    gw = gateway_listening(site, clients)
    spoofer = connected(site, clients, A.username)
    spoofer.client.publish(topic_of(B), reading("probe-b"), qos=1)
    reason = spoofer.pubacks.get(timeout=WAIT)
    assert reason.value == 0x87, reason  # Not authorized
    # ... and nothing reached the gateway; its own topic still works (the marker).
    spoofer.client.publish(topic_of(A), reading("probe-a", seq=99), qos=1)
    assert not spoofer.pubacks.get(timeout=WAIT).is_failure
    message = gw.messages.get(timeout=WAIT)
    assert message.topic == topic_of(A)
    assert json.loads(message.payload)["seq"] == 99


@pytest.mark.parametrize(
    "topic", ["tracehub/v1/#", topic_of(B), topic_of(A), "tracehub/v1/s1/+/+", "#"]
)
def test_a_device_cannot_read_any_data(site: Site, clients: list[Client], topic: str) -> None:
    gw = gateway_listening(site, clients)
    device = connected(site, clients, A.username)
    device.client.subscribe(topic, qos=1)
    # mosquitto 2.0 may grant the SUBSCRIBE itself: its acl_file is enforced on every
    # delivery (read access), so what matters is that nothing is ever delivered.
    device.subacks.get(timeout=WAIT)
    other = connected(site, clients, B.username)
    for source, identity in ((other, B), (device, A)):
        source.client.publish(topic_of(identity), reading(identity.device_id), qos=1)
        assert not source.pubacks.get(timeout=WAIT).is_failure
        assert gw.messages.get(timeout=WAIT).topic == topic_of(identity)
    # The broker delivered both to the gateway: it would have delivered to the device in
    # the same pass. A short grace covers the device's own network thread.
    with pytest.raises(queue.Empty):
        device.messages.get(timeout=0.5)


def test_the_gateway_cannot_publish_telemetry(site: Site, clients: list[Client]) -> None:
    gw = connected(site, clients, GATEWAY.username)
    gw.client.publish(topic_of(A), reading("probe-a"), qos=1)
    assert gw.pubacks.get(timeout=WAIT).is_failure
    gw.client.publish("tracehub/deadletter/gw-1/bad_field", b"{}", qos=1)
    assert not gw.pubacks.get(timeout=WAIT).is_failure
    gw.client.publish("tracehub/deadletter/other-gw/bad_field", b"{}", qos=1)
    assert gw.pubacks.get(timeout=WAIT).is_failure


def test_a_device_cannot_take_over_the_gateways_session(site: Site, clients: list[Client]) -> None:
    gw = connected(site, clients, GATEWAY.username, client_id="gateway/gw-1")
    connected(site, clients, A.username, client_id="gateway/gw-1")
    # The broker replaced the device's claimed client id by its identity: the gateway
    # was not kicked off.
    assert not gw.disconnected.wait(1.0)


def test_password_devices_use_the_password_listener(site: Site, clients: list[Client]) -> None:
    auth = MqttAuth(
        ca_file=site.files.cafile,
        username=PASSWORD_DEVICE.username,
        password=SecretStr(site.password),
    )
    good = Client(auth)
    clients.append(good)
    assert good.connect(site.broker.password_port).connected
    good.client.publish(topic_of(PASSWORD_DEVICE), reading("probe-pw"), qos=1)
    assert not good.pubacks.get(timeout=WAIT).is_failure
    good.client.publish(topic_of(A), reading("probe-a"), qos=1)
    assert good.pubacks.get(timeout=WAIT).is_failure
    wrong = Client(auth.model_copy(update={"password": SecretStr("guess")}))
    clients.append(wrong)
    assert not wrong.connect(site.broker.password_port).connected
    stranger = Client(auth.model_copy(update={"username": A.username}))
    clients.append(stranger)
    assert not stranger.connect(site.broker.password_port).connected


def test_a_revoked_device_is_refused_on_its_next_connect(site: Site, clients: list[Client]) -> None:
    doomed = Identity(kind="temperature", site="s1", device_id="probe-doomed")
    auth = site.registry.provision(doomed).auth
    site.sync()
    before = Client(auth)
    clients.append(before)
    assert before.connect(site.broker.port).connected
    before.close()
    # The key file is deleted on revocation; keep a copy as a thief would have.
    assert auth.key_file is not None
    stolen = auth.key_file.read_bytes()
    site.registry.revoke(doomed.username)
    assert not auth.key_file.exists()
    auth.key_file.write_bytes(stolen)
    site.sync()
    after = Client(auth)
    clients.append(after)
    outcome = after.connect(site.broker.port)
    assert not outcome.connected, outcome.reason


def test_rotation_retires_the_old_certificate(site: Site, clients: list[Client]) -> None:
    rotating = Identity(kind="rfid", site="s1", device_id="reader-rot")
    first = site.registry.provision(rotating).auth
    assert first.cert_file is not None
    assert first.key_file is not None
    old_cert, old_key = first.cert_file.read_bytes(), first.key_file.read_bytes()
    second = site.registry.rotate(rotating.username).auth
    site.sync()
    fresh = Client(second)
    clients.append(fresh)
    assert fresh.connect(site.broker.port).connected
    fresh.close()
    old_dir = first.cert_file.parent.parent / "old"
    old_dir.mkdir()
    (old_dir / "client.crt").write_bytes(old_cert)
    (old_dir / "client.key").write_bytes(old_key)
    old = Client(
        first.model_copy(
            update={"cert_file": old_dir / "client.crt", "key_file": old_dir / "client.key"}
        )
    )
    clients.append(old)
    assert not old.connect(site.broker.port).connected


class MemoryCapture:
    """The gateway's own CapturePort, in memory (traceability is not under test here)."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def capture(self, event: Mapping[str, Any]) -> str:
        self.events.append(event)
        return f"sha256:{len(self.events)}"


def test_the_gateway_ingests_everything_legitimate_over_tls(
    site: Site, clients: list[Client], influxdb: InfluxDB, tmp_path: Path
) -> None:
    """Per-device TLS simulators → broker → gateway (its read-only identity) → InfluxDB;
    a device claiming another's id on its own topic is dead-lettered (id_mismatch)."""
    spec = SimulatorSpec(
        site="s1",
        probes=(ProbeSpec(device_id="probe-a", location=ROOM),
                ProbeSpec(device_id="probe-b", location=ROOM)),
        readers=(ReaderSpec(reader_id="dock-1", read_point=ROOM,
                            epcs=("urn:epc:id:sgtin:4012345.011111.1001",)),),
    )  # fmt: skip
    n = 20
    cfg = GatewayConfig(
        mqtt_host="127.0.0.1",
        mqtt_port=site.broker.port,
        mqtt_client_id="gw-1",
        mqtt_auth=site.auth[GATEWAY.username],
        influx_url=influxdb.url,
        influx_database="security_ingest",
        dead_letter_path=tmp_path / "dead-letter.sqlite3",
        retry_max_s=0.2,
        clock=FIXED_DATES_CLOCK,
    )
    capture = MemoryCapture()
    with build_gateway(cfg, capture, directory=EveryProbeAt(ROOM)) as runtime:
        assert runtime.wait_ready(WAIT), "the gateway's identity could not subscribe"
        stats = run_simulators(
            "127.0.0.1", site.broker.port, spec, threading.Event(), 0, count=n,
            start=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
            auth_for=lambda topic: site.auth[identity_for_topic(topic).username],
        )  # fmt: skip
        assert (stats.temperature, stats.rfid) == (2 * n, 1)
        spoofer = connected(site, clients, A.username)
        spoofer.client.publish(topic_of(A), reading("probe-b", seq=7), qos=1)
        assert not spoofer.pubacks.get(timeout=WAIT).is_failure
        assert runtime.gateway.wait_until(
            lambda c: c.written == 2 * n + 1 and c.dead_lettered == 1, WAIT
        ), runtime.counters
        assert runtime.dead_letters.counts() == {"id_mismatch": 1}
    assert len(capture.events) == 1
    with InfluxWriter(cfg.influx_url, cfg.influx_database) as reader:
        series = reader.query("SELECT count(celsius) FROM temperature GROUP BY device")
    assert {s["tags"]["device"]: s["rows"][0]["count"] for s in series} == {
        "probe-a": n,
        "probe-b": n,
    }


# --- a broker named in the settings (TRACEHUB_MQTT_PORT), no security setting ------------


@pytest.fixture
def named_gateway(
    site: Site, influxdb: InfluxDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayRuntime]:
    """The hub's gateway as `tracehub run` wires it for TRACEHUB_MQTT_PORT=<the TLS broker>
    and nothing else about security (a fresh gateway name: a session of its own)."""
    monkeypatch.delenv("TRACEHUB_MQTT_SECURITY", raising=False)
    name = f"gw-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        hub=HubSettings(state_dir=tmp_path / "state", site="s1"),
        mqtt=MqttSettings(host="127.0.0.1", port=site.broker.port, client_id=name),
        influx=InfluxSettings(url=influxdb.url, database="security_named"),
        records=RecordsSettings(),
        chain=ChainSettings(),
        web=WebSettings(port=0),
        devices=DevicesSettings(dir=site.registry.folder, passphrase=SecretStr(PASSPHRASE)),
    )
    assert settings.mqtt.security == "tls"
    cfg = gateway_config(settings)  # provisions gateway/{name}; the broker reloads its ACL
    site.sync()
    assert (cfg.mqtt_plain, cfg.mqtt_client_id, cfg.instance) == (False, f"gateway/{name}", name)
    with build_gateway(cfg, MemoryCapture()) as runtime:
        assert runtime.wait_ready(WAIT), "the gateway could not connect and subscribe"
        yield runtime


def test_a_named_broker_gets_tls_and_the_gateways_own_certificate_by_default(
    site: Site, named_gateway: GatewayRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    identity = named_gateway.config.mqtt_client_id
    auth = named_gateway.config.mqtt_auth
    assert auth is not None
    assert auth.cert_file == site.registry.folder / "identities" / identity / "client.crt"
    # The broker requires a client certificate on this port and took the identity from it.
    log = site.broker.broker_log.read_text()
    assert f"as {identity} (" in log
    assert f"u'{identity}'" in log
    assert "is plain" not in caplog.text


def test_nobody_takes_over_the_gateways_session_on_the_secure_broker(
    site: Site, named_gateway: GatewayRuntime, clients: list[Client]
) -> None:
    identity = named_gateway.config.mqtt_client_id
    # Anonymous, with the gateway's client id: refused before any session is touched.
    anonymous = Client(None, client_id=identity)
    clients.append(anonymous)
    assert not anonymous.connect(site.broker.port).connected
    # A device certificate claiming the gateway's client id (or its bare name): the broker
    # makes the device's identity its client id, so it connects as itself.
    for claimed in (identity, named_gateway.config.instance):
        connected(site, clients, A.username, client_id=claimed)
    # A password device doing the same on the password listener.
    password_auth = MqttAuth(
        ca_file=site.files.cafile,
        username=PASSWORD_DEVICE.username,
        password=SecretStr(site.password),
    )
    pw = Client(password_auth, client_id=identity)
    clients.append(pw)
    assert pw.connect(site.broker.password_port).connected
    # A reading after all those connects still arrives over the gateway's one connection:
    # had any of them taken the session, the broker would have closed it before this.
    probe = connected(site, clients, A.username)
    probe.client.publish(topic_of(A), reading("probe-a", seq=4242), qos=1)
    assert not probe.pubacks.get(timeout=WAIT).is_failure
    assert named_gateway.gateway.wait_until(lambda c: c.received >= 1, WAIT)
    assert named_gateway.mqtt.disconnects == 0
    assert f"Client {identity} already connected" not in site.broker.broker_log.read_text()
