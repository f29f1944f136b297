"""Device simulators: cold-room temperature probes and dock-door RFID readers over MQTT.

The value streams are pure, seeded generators (``probe_readings``, ``reader_reads``);
``run_simulators`` publishes them with paho-mqtt at QoS 1, a bounded number of
messages in flight (waiting for PUBACKs), until a ``threading.Event`` is set.
"""

from __future__ import annotations

import math
import random
import ssl
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gs1.epc import encode_epc
from sensors.credentials import AuthFor, MqttAuth, apply_auth
from sensors.errors import CredentialsError, SimulatorError
from sensors.fields import DeviceId, SglnUrn
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading
from sensors.topics import rfid_topic, temperature_topic

EpcIdentity = Annotated[str, AfterValidator(encode_epc)]
"""A tag given as a pure-identity URN or 24 hex chars; stored as 24 hex chars."""


class Hold(BaseModel):
    """A scripted stretch of a probe's course: from ``after_s`` (device seconds since the
    run's start) for ``for_s`` seconds the room sits at ``celsius`` (a compressor failure,
    a door left open), noise and all; then the regulated curve resumes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after_s: float = Field(ge=0)
    for_s: float = Field(gt=0)
    celsius: float = Field(ge=-100.0, le=150.0)

    def covers(self, elapsed_s: float) -> bool:
        return self.after_s <= elapsed_s < self.after_s + self.for_s


class ProbeSpec(BaseModel):
    """A temperature probe mounted at ``location``, regulated around ``setpoint_c``;
    ``course``: scripted stretches (``Hold``) that override the regulated curve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: DeviceId
    location: SglnUrn
    setpoint_c: float = Field(default=4.0, ge=-40.0, le=30.0)
    with_humidity: bool = True
    course: tuple[Hold, ...] = ()


class ReaderSpec(BaseModel):
    """A reader at ``read_point`` that sees each of ``epcs`` once, one per tick."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reader_id: DeviceId
    read_point: SglnUrn
    epcs: tuple[EpcIdentity, ...] = ()
    antenna: int = Field(default=1, ge=0)


class SimulatorSpec(BaseModel):
    """A site's devices; ``seed`` makes every value stream reproducible."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: DeviceId
    probes: tuple[ProbeSpec, ...] = ()
    readers: tuple[ReaderSpec, ...] = ()
    seed: int = 0


class SimulationStats(BaseModel):
    """What a run published (every message counted here was acknowledged by the broker)."""

    model_config = ConfigDict(frozen=True)

    temperature: int
    rfid: int


def _rng(seed: int, device_id: str) -> random.Random:
    # str hash() is salted per process; crc32 keeps streams identical across runs.
    return random.Random(seed * 1_000_003 + zlib.crc32(device_id.encode()))


def probe_readings(
    probe: ProbeSpec, start: datetime, step: timedelta, seed: int = 0
) -> Iterator[TemperatureReading]:
    """An endless cold-room curve: setpoint, a defrost bump every 6 h, door-opening
    spikes and sensor noise; seq counts from 0, ts advances by ``step``."""
    rng = _rng(seed, probe.device_id)
    battery = 100.0
    drift = 0.0
    for seq in range(2**63):
        ts = start + step * seq
        hours = (ts - start).total_seconds() / 3600.0
        phase = hours % 6.0
        defrost = 3.0 * math.sin(math.pi * phase / 0.5) if phase < 0.5 else 0.0
        drift = 0.9 * drift + rng.gauss(0.0, 0.15)  # AR(1): neighbours look alike
        door = rng.uniform(1.0, 4.0) if rng.random() < 0.01 else 0.0
        held = next((h for h in probe.course if h.covers(hours * 3600.0)), None)
        base = probe.setpoint_c + defrost + door if held is None else held.celsius
        celsius = max(-100.0, min(150.0, base + drift))
        battery = max(0.0, battery - 0.001)
        yield TemperatureReading(
            device_id=probe.device_id,
            seq=seq,
            ts=ts,
            celsius=round(celsius, 2),
            humidity=round(min(100.0, max(0.0, 60.0 + rng.gauss(0.0, 2.0))), 1)
            if probe.with_humidity
            else None,
            battery=round(battery, 2),
            location=probe.location,
        )


def reader_reads(
    reader: ReaderSpec, start: datetime, step: timedelta, seed: int = 0
) -> Iterator[TagRead]:
    """One read per EPC, in order, ``step`` apart."""
    rng = _rng(seed, reader.reader_id)
    for seq, epc in enumerate(reader.epcs):
        yield TagRead(
            reader_id=reader.reader_id,
            seq=seq,
            ts=start + step * seq,
            epc=epc,
            antenna=reader.antenna,
            rssi=round(rng.uniform(-70.0, -40.0), 1),
            read_point=reader.read_point,
        )


class Publisher:
    """A QoS 1 publisher with at most ``max_inflight`` un-acknowledged messages.

    paho runs its network loop in its own thread (``loop_start``); ``on_publish``
    fires there on each PUBACK and releases a slot, so ``publish`` blocks the caller
    (back-pressure) instead of growing paho's unbounded outgoing queue.
    """

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str = "",
        max_inflight: int = 100,
        timeout_s: float = 10.0,
        auth: MqttAuth | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._timeout_s = timeout_s
        self._slots = threading.Semaphore(max_inflight)
        self._max_inflight = max_inflight
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self._acked = 0
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.max_inflight_messages_set(max_inflight)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        if auth is not None:
            try:
                apply_auth(self._client, auth)
            except CredentialsError as exc:
                raise SimulatorError(str(exc)) from exc

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._connect_error = str(reason)
        self._connected.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            self._acked += 1
        self._slots.release()

    @property
    def acked(self) -> int:
        with self._lock:
            return self._acked

    def connect(self) -> None:
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except ssl.SSLError as exc:
            raise SimulatorError(
                f"TLS handshake with {self._host}:{self._port} failed: {exc}; check the CA "
                "file and that the broker's certificate names this host"
            ) from exc
        except OSError as exc:
            raise SimulatorError(
                f"cannot reach MQTT broker at {self._host}:{self._port}: {exc}; "
                "check mqtt host/port and that the broker runs"
            ) from exc
        self._client.loop_start()
        if not self._connected.wait(self._timeout_s) or self._connect_error:
            self.close()
            raise SimulatorError(
                f"MQTT broker {self._host}:{self._port} did not accept the connection: "
                f"{self._connect_error or 'no CONNACK in time'}"
            )

    def publish(self, topic: str, payload: bytes, stop: threading.Event | None = None) -> bool:
        """Publish at QoS 1 once a slot is free; False if ``stop`` was set while waiting."""
        while not self._slots.acquire(timeout=0.1):
            if stop is not None and stop.is_set():
                return False
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            # NO_CONN is fine: paho keeps QoS 1 messages and sends them after reconnecting.
            self._slots.release()
            raise SimulatorError(f"publish on {topic!r} failed: {mqtt.error_string(info.rc)}")
        return True

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every published message is acknowledged; False on timeout."""
        deadline = timeout_s if timeout_s is not None else self._timeout_s
        taken = 0
        ok = True
        for _ in range(self._max_inflight):
            if not self._slots.acquire(timeout=deadline):
                ok = False
                break
            taken += 1
        for _ in range(taken):
            self._slots.release()
        return ok

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def run_simulators(
    host: str,
    port: int,
    scenario: SimulatorSpec,
    stop: threading.Event,
    interval_s: float = 1.0,
    *,
    count: int | None = None,
    start: datetime | None = None,
    time_step_s: float | None = None,
    client_id: str = "",
    max_inflight: int = 100,
    auth_for: AuthFor | None = None,
) -> SimulationStats:
    """Publish the scenario until ``stop`` is set (or ``count`` ticks have run).

    Each tick every probe publishes one reading and every reader one tag read (until
    its EPCs are exhausted). ``interval_s`` is the wall-clock pause between ticks (0
    = as fast as the broker acknowledges); device timestamps advance by
    ``time_step_s`` (default ``interval_s``, or 1 s when that is 0) from ``start``
    (default now), so a run is reproducible given ``start`` and ``scenario.seed``.

    ``auth_for``: each device's own credentials (by topic); every device then has its
    own TLS connection, as on a real site where the broker binds identity to topic.
    Without it, one plain connection carries every device (loopback tests only).
    """
    if interval_s < 0:
        raise SimulatorError(f"interval_s must be >= 0, got {interval_s}")
    first = start or datetime.now(UTC).replace(microsecond=0)
    step = timedelta(seconds=time_step_s or interval_s or 1.0)
    probes = [
        (
            str(temperature_topic(scenario.site, p.device_id)),
            probe_readings(p, first, step, scenario.seed),
        )
        for p in scenario.probes
    ]
    readers = [
        (str(rfid_topic(scenario.site, r.reader_id)), reader_reads(r, first, step, scenario.seed))
        for r in scenario.readers
    ]
    topics = [topic for topic, _ in probes] + [topic for topic, _ in readers]
    publishers = connect_publishers(host, port, topics, client_id, max_inflight, auth_for)
    sent_t = sent_r = 0
    try:
        tick = 0
        while not stop.is_set() and (count is None or tick < count):
            for topic, readings in probes:
                if publishers[topic].publish(topic, next(readings).to_json(), stop):
                    sent_t += 1
            for topic, reads in readers:
                read = next(reads, None)
                if read is not None and publishers[topic].publish(topic, read.to_json(), stop):
                    sent_r += 1
            tick += 1
            if interval_s > 0 and stop.wait(interval_s):
                break
        if not all(p.flush() for p in set(publishers.values())):
            raise SimulatorError("broker did not acknowledge every message in time")
    finally:
        for publisher in set(publishers.values()):
            publisher.close()
    return SimulationStats(temperature=sent_t, rfid=sent_r)


def connect_publishers(
    host: str,
    port: int,
    topics: list[str],
    client_id: str = "",
    max_inflight: int = 100,
    auth_for: AuthFor | None = None,
) -> dict[str, Publisher]:
    """A connected Publisher per topic: one shared plain connection, or with
    ``auth_for`` one TLS connection per device (its own identity)."""
    publishers: dict[str, Publisher] = {}
    try:
        if auth_for is None:
            shared = Publisher(host, port, client_id=client_id, max_inflight=max_inflight)
            shared.connect()
            return dict.fromkeys(topics, shared)
        for topic in topics:
            publisher = Publisher(host, port, max_inflight=max_inflight, auth=auth_for(topic))
            publisher.connect()
            publishers[topic] = publisher
    except BaseException:
        for publisher in publishers.values():
            publisher.close()
        raise
    return publishers
