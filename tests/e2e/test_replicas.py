"""One deployment of several `tracehub run --role` processes (issue #18): 2 gateway
replicas (device partitions), 2 web replicas and 2 anchoring/alarm workers against one
mosquitto, one InfluxDB, one PostgreSQL and one anvil, as an operator deploys them.

Probe readings and RFID reads go through the broker, EPCIS documents through both web
replicas at once (overlapping, 100 concurrent posts). One gateway and the anchoring
leader are SIGKILLed halfway and the gateway started again. At the end: every reading is
in InfluxDB exactly once, every event is stored once and anchored in a confirmed batch,
no request got a 5xx, and `tracehub status` lists every instance with its role.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from influx.client import InfluxClient
from ledger.store.sqlstore import LedgerStore
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading
from sensors.topics import rfid_topic, temperature_topic
from tests.support.devices import write_registry
from tests.support.events import object_event
from tests.support.postgres import PostgreSQL
from tests.support.site import until
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.keys import open_keystore, site_signer
from tracehub.services import Anvil, InfluxDB, Mosquitto, free_port
from tracehub.settings import load_settings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SITE = "replicas"
PROBES = [f"probe-{i:02d}" for i in range(12)]
READERS = {f"reader-{i}": f"urn:epc:id:sgln:4012345.00001.door{i}" for i in range(4)}
READINGS = 20  # per probe, half before the kills and half after
CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]
# One set of inputs for the single process and the deployment, so their outputs compare.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
OBSERVATIONS = len(READERS) * 6  # every tag once: repeats folded, nothing lost
EVENTS = 50 + OBSERVATIONS


class Instance:
    """One `tracehub run --role ...` process on a state folder of its own."""

    def __init__(self, name: str, roles: tuple[str, ...], env: dict[str, str]) -> None:
        self.name, self.roles, self.env = name, roles, env
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self) -> None:
        args = [a for role in self.roles for a in ("--role", role)]
        log = (Path(self.env["TRACEHUB_STATE_DIR"]).parent / f"{self.name}.log").open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracehub.cli", "run", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once it runs (a gateway: subscribed)
        assert line.startswith("tracehub running"), f"{self.name} did not start: {line!r}"
        if not self.roles or "web" in self.roles:
            self.url = line.split()[3]

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert proc.stdout is not None
        proc.stdout.close()


def _database(postgres: PostgreSQL, name: str) -> str:
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return postgres.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def pg_url(postgres: PostgreSQL) -> str:
    return _database(postgres, "replicas")


@pytest.fixture
def shared_env(
    tmp_path: Path, pg_url: str, mosquitto: Mosquitto, influxdb: InfluxDB, fresh_anvil: Anvil
) -> dict[str, str]:
    write_registry(tmp_path / "devices", SITE, dict.fromkeys(PROBES, demo.COLD_ROOM), READERS)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "300",
        "TRACEHUB_SITE": SITE,
        "TRACEHUB_RECORDS_URL": pg_url,
        "TRACEHUB_LEDGER_KEYS_DIR": str(tmp_path / "keys"),
        "TRACEHUB_LEDGER_KEY_PASSPHRASE": "a passphrase shared by the instances",
        "TRACEHUB_LEDGER_LEASE_TTL_S": "3",
        "TRACEHUB_DEVICES_DIR": str(tmp_path / "devices"),
        "TRACEHUB_DEVICES_PASSPHRASE": "the device registry's passphrase",
        "TRACEHUB_INFLUX_URL": influxdb.url,
        "TRACEHUB_INFLUX_DATABASE": f"replicas_{uuid.uuid4().hex[:8]}",
        "TRACEHUB_CHAIN_RPC_URL": fresh_anvil.url,
        "TRACEHUB_CHAIN_DEV_NODE": "true",
        "TRACEHUB_CHAIN_ANCHOR_INTERVAL_S": "0.5",
        "TRACEHUB_MQTT_PORT": str(mosquitto.port),
        "TRACEHUB_MQTT_SECURITY": "plain",  # the suite's shared broker: plain on loopback
        "TRACEHUB_ALARMS_INTERVAL_S": "1",
    }
    return env


class Outcome:
    """What one run stored: the events' ids, the readings per probe."""

    def __init__(self, ids: frozenset[str], readings: dict[str, int]) -> None:
        self.ids, self.readings = ids, readings


@pytest.fixture
def single(
    tmp_path: Path, shared_env: dict[str, str], postgres: PostgreSQL, influxdb: InfluxDB
) -> Outcome:
    """The same inputs through one all-in-one `tracehub run`, before the deployment runs
    (they share the broker's topics): the outcome the deployment must equal."""
    env = {
        **shared_env,
        "TRACEHUB_STATE_DIR": str(tmp_path / "single"),
        "TRACEHUB_RECORDS_URL": _database(postgres, "replicas_single"),
        "TRACEHUB_INFLUX_DATABASE": f"single_{uuid.uuid4().hex[:8]}",
        "TRACEHUB_MQTT_CLIENT_ID": f"gw-single-{uuid.uuid4().hex[:6]}",
        "TRACEHUB_WEB_PORT": str(free_port()),
    }
    hub = Instance("single", (), env)
    hub.start()
    try:
        token = _seed(env)
        _publish(int(env["TRACEHUB_MQTT_PORT"]), _readings(0, READINGS) + _tag_reads(0, 6))
        assert {_capture(str(hub.url), token, d) for d in _documents()} == {200}
        pg = sa.create_engine(env["TRACEHUB_RECORDS_URL"])
        influx = InfluxClient(influxdb.url, env["TRACEHUB_INFLUX_DATABASE"])
        try:
            assert until(lambda: _anchored(pg) == EVENTS, 120), _anchored(pg)
            assert until(lambda: sum(_per_probe(influx).values()) == len(PROBES) * READINGS, 60)
            return Outcome(frozenset(i for i, _, _ in _events(pg)), _per_probe(influx))
        finally:
            influx.close()
            pg.dispose()
    finally:
        hub.kill(signal.SIGTERM)


@pytest.fixture
def deployment(
    tmp_path: Path, shared_env: dict[str, str], single: Outcome
) -> Iterator[dict[str, Instance]]:
    group = uuid.uuid4().hex[:6]

    def instance(name: str, *roles: str, **extra: str) -> Instance:
        env = {**shared_env, "TRACEHUB_STATE_DIR": str(tmp_path / name), **extra}
        return Instance(name, roles, env)

    instances = {
        "web-1": instance("web-1", "web", TRACEHUB_WEB_PORT=str(free_port())),
        "web-2": instance("web-2", "web", TRACEHUB_WEB_PORT=str(free_port())),
        "gw-1": instance(
            "gw-1",
            "gateway",
            TRACEHUB_MQTT_CLIENT_ID=f"gw-{group}-1",
            TRACEHUB_GATEWAY_PARTITION="0/2",
        ),
        "gw-2": instance(
            "gw-2",
            "gateway",
            TRACEHUB_MQTT_CLIENT_ID=f"gw-{group}-2",
            TRACEHUB_GATEWAY_PARTITION="1/2",
        ),
        "anchor-1": instance("anchor-1", "anchor", "alarm"),
        "anchor-2": instance("anchor-2", "anchor", "alarm"),
    }
    try:
        # All at once: one of them makes the site's key and deploys the anchor contract
        # (the keys folder's setup lock), the others open what it made.
        with concurrent.futures.ThreadPoolExecutor(len(instances)) as pool:
            list(pool.map(Instance.start, instances.values()))  # re-raises a failed start
        yield instances
    finally:
        for running in instances.values():
            running.kill(signal.SIGTERM)


def _seed(env: dict[str, str]) -> str:
    """The demo's product, lot and places, signed with the shared keys; a capture token."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("TRACEHUB_")})
    try:
        settings = load_settings()
    finally:
        for k in env:
            if k.startswith("TRACEHUB_"):
                os.environ.pop(k, None)
    store, ledger = RecordStore.open(settings.records_url), LedgerStore.open(settings.ledger_url)
    try:
        demo.seed(MasterData(store, ledger, site_signer(open_keystore(settings), settings)))
        return store.add_client("erp", ["capture"]).token
    finally:
        ledger.close()
        store.close()


def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()


def _readings(first: int, count: int) -> list[tuple[str, bytes]]:
    start = BASE
    out = []
    for seq in range(first, first + count):
        for probe in PROBES:
            at = start + timedelta(seconds=10 * seq)
            reading = TemperatureReading(device_id=probe, seq=seq, ts=at, celsius=4.0 + seq / 100)
            out.append((str(temperature_topic(SITE, probe)), reading.to_json()))
    return out


def _tag_reads(first: int, epcs: int) -> list[tuple[str, bytes]]:
    """Each reader reads its own tags, each twice in a row (the repeat is folded)."""
    at = BASE + timedelta(minutes=35)
    out = []
    for r, reader in enumerate(READERS):
        for n in range(first, first + epcs):
            epc = f"3074257BF7194E40{r:02X}{n:06X}"
            for repeat in range(2):
                read = TagRead(reader_id=reader, seq=n * 2 + repeat, ts=at, epc=epc,
                               antenna=1, rssi=-60.0)  # fmt: skip
                out.append((str(rfid_topic(SITE, reader)), read.to_json()))
    return out


def _documents() -> list[dict[str, Any]]:
    """25 documents of 4 events each, every event in two documents (overlap)."""
    at = (BASE + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    events = [object_event(str(5000 + i), time=at, read_point=demo.DOCK_DOOR) for i in range(50)]
    docs = []
    for d in range(25):
        chosen = [events[(2 * d + k) % 50] for k in range(4)]
        docs.append({"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                     "creationDate": at, "epcisBody": {"eventList": chosen}})  # fmt: skip
    return docs


def _capture(url: str, token: str, document: dict[str, Any]) -> int:
    """Post and follow the job as a partner's client does (a 429 waits its Retry-After);
    200 once the job succeeded, else the first status that was not an answer to wait on."""
    headers = {"Authorization": f"Bearer {token}", "GS1-Capture-Error-Behaviour": "proceed"}
    with httpx.Client(base_url=url, timeout=60) as http:
        posted = _patient(lambda: http.post("/capture", json=document, headers=headers))
        if posted.status_code != 202:
            return posted.status_code
        job = posted.headers["Location"]
        done: dict[str, Any] = {}

        def finished() -> bool:
            answer = _patient(lambda: http.get(job, headers=headers))
            done.update(answer.json() if answer.status_code == 200 else {"status": answer})
            return "status" in done or not done["running"]

        assert until(finished, 60), done
        return 200 if done.get("success") else 599


def _patient(send: Callable[[], httpx.Response]) -> httpx.Response:
    for _ in range(50):
        answer = send()
        if answer.status_code != 429:
            return answer
        time.sleep(float(answer.headers.get("Retry-After", "1")))  # the server's pace
    return answer


def test_replicas_lose_nothing_duplicate_nothing_and_survive_sigkills(
    deployment: dict[str, Instance],
    shared_env: dict[str, str],
    influxdb: InfluxDB,
    single: Outcome,
) -> None:
    token = _seed(shared_env)
    port = int(shared_env["TRACEHUB_MQTT_PORT"])
    webs = [deployment["web-1"].url, deployment["web-2"].url]
    half = READINGS // 2
    _publish(port, _readings(0, half) + _tag_reads(0, 3))

    documents = _documents() * 4  # 100 posts, each document four times, over both replicas
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(
            pool.map(
                lambda i: _capture(str(webs[i % 2]), token, documents[i]), range(len(documents))
            )
        )
    assert [c for c in codes if c >= 500] == []
    assert set(codes) == {200}

    # SIGKILL a gateway and whichever anchoring worker leads; publish while they are down.
    deployment["gw-1"].kill()
    pg = sa.create_engine(shared_env["TRACEHUB_RECORDS_URL"])
    with pg.connect() as conn:
        leader = conn.execute(sa.text("SELECT holder FROM ledger_leases")).scalar()
    killed = next(n for n in ("anchor-1", "anchor-2") if _pid_of(deployment[n]) in str(leader))
    deployment[killed].kill()
    _publish(port, _readings(half, READINGS - half) + _tag_reads(3, 3))
    deployment["gw-1"].start()  # same client id and state: its session's messages arrive

    influx = InfluxClient(influxdb.url, shared_env["TRACEHUB_INFLUX_DATABASE"])
    try:
        _check_everything(influx, pg, shared_env)
        # what one process made of the same inputs, exactly
        assert frozenset(i for i, _, _ in _events(pg)) == single.ids
        assert _per_probe(influx) == single.readings
    finally:
        influx.close()
        pg.dispose()


def _check_everything(influx: InfluxClient, pg: sa.Engine, shared_env: dict[str, str]) -> None:
    expected_readings = len(PROBES) * READINGS

    def counted() -> int:
        series = influx.query("SELECT count(celsius) FROM temperature")
        return int(series[0].rows()[0]["count"]) if series and series[0].rows() else 0

    assert until(lambda: counted() >= expected_readings, 90), counted()
    assert counted() == expected_readings  # none twice either
    per_probe = influx.query("SELECT count(celsius) FROM temperature GROUP BY device")
    assert {s.tags["device"]: s.rows()[0]["count"] for s in per_probe} == dict.fromkeys(
        PROBES, READINGS
    )
    observations = OBSERVATIONS

    def events() -> list[tuple[str, int | None, str | None]]:
        return _events(pg)

    def all_anchored() -> bool:
        return _anchored(pg) >= EVENTS

    assert until(all_anchored, 120), len(events())
    stored = events()
    assert len(stored) == 50 + observations
    assert len({i for i, _, _ in stored}) == len(stored)
    rfid = [rp for _, _, rp in stored if rp is not None and rp in READERS.values()]
    assert sorted(rfid) == sorted(rp for rp in READERS.values() for _ in range(6))
    assert until(lambda: _count(pg, "ledger_entries WHERE batch_id IS NULL") == 0, 60)
    assert until(lambda: _count(pg, "ledger_batches WHERE status <> 'confirmed'") == 0, 60)
    assert _count(pg, "ledger_entries") >= 50 + observations

    _check_status(shared_env)


def _check_status(shared_env: dict[str, str]) -> None:
    ops = {**shared_env, "TRACEHUB_STATE_DIR": str(Path(shared_env["TRACEHUB_DEVICES_DIR"]).parent)}
    shown: list[str] = []

    def listed() -> bool:
        out = subprocess.run(
            [sys.executable, "-m", "tracehub.cli", "status"],
            env=ops, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        shown[:] = [line for line in out.splitlines() if ":" in line and "│" in line]
        fresh = [line for line in shown if "healthy" in line or "NOT READY" in line]
        return (
            sum(" web " in f" {line} " for line in fresh) >= 2
            and sum("gateway" in line for line in fresh) >= 2
            and sum("alarm,anchor" in line for line in fresh) >= 1
            and any("NOT RUNNING" in line and "alarm,anchor" in line for line in shown)
        )

    assert until(listed, 60), "\n".join(shown)


def _pid_of(instance: Instance) -> str:
    assert instance.proc is not None
    return f":{instance.proc.pid}:"


def _events(pg: sa.Engine) -> list[tuple[str, int | None, str | None]]:
    with pg.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, batch_id, read_point FROM events")).all()
    return [(r.id, r.batch_id, r.read_point) for r in rows]


def _anchored(pg: sa.Engine) -> int:
    """Events stored and in a batch; -1 while any stored one is not."""
    found = _events(pg)
    return len(found) if all(b is not None for _, b, _ in found) else -1


def _per_probe(influx: InfluxClient) -> dict[str, int]:
    series = influx.query("SELECT count(celsius) FROM temperature GROUP BY device")
    return {s.tags["device"]: int(s.rows()[0]["count"]) for s in series}


def _count(pg: sa.Engine, where: str) -> int:
    with pg.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {where}")).scalar() or 0)
