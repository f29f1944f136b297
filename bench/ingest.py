"""Ingest throughput and latency: ``python -m bench.ingest [--quick]``.

A backlog of small QoS 1 temperature messages is queued in mosquitto once for each
contender's persistent session (so the publisher is not the bottleneck), then each
contender drains its own copy:

* ``mosquitto_sub``: the broker's own limit (QoS 1, output to /dev/null);
* ceiling: a bare paho-mqtt subscriber that only counts;
* gateway: ``python -m gateway`` end to end (validated, spooled with fsync, written to
  InfluxDB), timed until a count query sees every point;
* Node-RED: mqtt-in (QoS 1, persistent session) → function → influxdb-out, as a user
  would build it; timed over a fixed window because it is one HTTP write per message.

Then the latency of the gateway (device timestamp → point written) at half its
measured rate, its peak RSS, and the RESULT line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.machine import describe
from gateway.config import GatewayConfig
from gateway.devices.access import Identity
from gateway.devices.records import DeviceRecord, Placement, RegistryDocument
from sensors.simulator import Publisher
from tracehub.services import InfluxDB, Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]
NODE_RED = ROOT / "node_modules" / ".bin" / "node-red"
ROOM = "urn:epc:id:sgln:4012345.00001.0"
SITE = "bench"
FILTER = f"tracehub/v1/{SITE}/temperature/+"
DEVICES = 20


def payload(device: str, seq: int, ts: datetime) -> bytes:
    stamp = ts.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return (
        f'{{"device_id":"{device}","seq":{seq},"ts":"{stamp}","celsius":{4 + (seq % 40) / 10},'
        f'"battery":87.0,"location":"{ROOM}"}}'
    ).encode()


def backlog(n: int) -> list[tuple[str, bytes]]:
    # An hour ago: inside the gateway's backfill window and after the probes' provisioning.
    base = time.time() - 3_600
    out = []
    for i in range(n):
        device = f"probe-{i % DEVICES:02d}"
        seq = i // DEVICES
        ts = datetime.fromtimestamp(base + seq * 0.001, UTC)
        out.append((f"tracehub/v1/{SITE}/temperature/{device}", payload(device, seq, ts)))
    return out


def session(broker: Mosquitto, client_id: str) -> None:
    """Create a persistent session subscribed to FILTER, then leave it offline."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 86_400
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    client.connect(broker.host, broker.port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(FILTER, qos=1)
    if not done.wait(10):
        raise RuntimeError(f"no SUBACK for {client_id}")
    client.disconnect()
    client.loop_stop()


def publish(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> float:
    publisher = Publisher(broker.host, broker.port, "bench-pub-" + uuid.uuid4().hex[:6], 1000)
    publisher.connect()
    start = time.perf_counter()
    for topic, body in messages:
        publisher.publish(topic, body)
    publisher.flush(300)
    elapsed = time.perf_counter() - start
    publisher.close()
    return len(messages) / elapsed


def ceiling(broker: Mosquitto, client_id: str, n: int) -> float:
    """A bare paho subscriber: connect to the session and count to n."""
    got = [0]
    done = threading.Event()
    started: list[float] = []

    def on_connect(*_: Any) -> None:
        started.append(time.perf_counter())

    def on_message(*_: Any) -> None:
        got[0] += 1
        if got[0] >= n:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 86_400
    props.ReceiveMaximum = 1000
    client.connect(broker.host, broker.port, clean_start=False, properties=props)
    client.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"ceiling got {got[0]} of {n}")
    elapsed = time.perf_counter() - started[0]
    client.disconnect()
    client.loop_stop()
    return n / elapsed


def mosquitto_sub(broker: Mosquitto, client_id: str, n: int) -> float:
    exe = shutil.which("mosquitto_sub")
    if exe is None:
        return 0.0
    cmd = [exe, "-h", broker.host, "-p", str(broker.port), "-V", "5", "-q", "1", "-c",
           "-x", "86400", "-i", client_id, "-t", FILTER, "-C", str(n)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, timeout=600)
    return n / (time.perf_counter() - start)


def influx_count(url: str, database: str, measurement: str = "temperature") -> int:
    response = httpx.get(
        f"{url}/query", params={"db": database, "q": f"SELECT count(seq) FROM {measurement}"}
    )
    series = response.json()["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def create_db(url: str, database: str) -> None:
    httpx.post(f"{url}/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_gateway(cfg: GatewayConfig, work: Path, name: str) -> subprocess.Popen[str]:
    config_path = work / f"{name}.json"
    config_path.write_text(cfg.model_dump_json())
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config_path),
         "--stats", str(work / f"{name}-stats.json")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=(work / f"{name}.log").open("w"), text=True,
    )  # fmt: skip
    return proc


def placements(work: Path) -> Path:
    """A registry folder placing the bench's probes at ROOM (the gateway stores each
    reading at its probe's placement, never at the payload's location)."""
    since = datetime(2020, 1, 1, tzinfo=UTC)
    records = [
        DeviceRecord(
            identity=Identity(kind="temperature", site=SITE, device_id=f"probe-{d:02d}"),
            provisioned_at=since,
            placements=(Placement(location=ROOM, since=since),),
        )
        for d in range(DEVICES)
    ]
    folder = work / "devices"
    folder.mkdir(parents=True, exist_ok=True)
    doc = RegistryDocument(site=SITE, devices=records)
    (folder / "registry.json").write_text(doc.model_dump_json())
    return folder


def gateway_config(broker: Mosquitto, influx: InfluxDB, work: Path, name: str) -> GatewayConfig:
    return GatewayConfig(
        devices_dir=placements(work),
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_plain=True,  # the bench's own loopback broker
        mqtt_client_id=name,
        influx_url=influx.url,
        influx_database=name.replace("-", "_"),
        dead_letter_path=work / name / "dead-letter.sqlite3",
        health_interval_s=1.0,
    )


def gateway_drain(cfg: GatewayConfig, work: Path, n: int) -> tuple[float, float]:
    """Messages/s until InfluxDB holds all n points (timed from the first point); peak RSS."""
    proc = start_gateway(cfg, work, "gw-drain")
    first = end = 0.0
    rss = 0.0
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            count = influx_count(cfg.influx_url, cfg.influx_database)
            now = time.perf_counter()
            if count > 0 and not first:
                first = now
                base = count
            if count >= n:
                end = now
                break
            rss = max(rss, peak_rss_mb(proc.pid))
            time.sleep(0.05)  # polling another process's database: no event to await
        rss = max(rss, peak_rss_mb(proc.pid))
    finally:
        proc.terminate()
        proc.wait(60)
        assert proc.stdout is not None
        proc.stdout.close()
    if not end:
        raise RuntimeError("the gateway did not write every point in time")
    return (n - base) / max(end - first, 1e-9), rss


def gateway_latency(
    broker: Mosquitto, influx: InfluxDB, work: Path, rate: float, seconds: float
) -> tuple[float, float, float]:
    """Publish at ``rate`` with device ts = now; the gateway's own lag percentiles."""
    cfg = gateway_config(broker, influx, work, "gw-latency-" + uuid.uuid4().hex[:6])
    # Steady state: InfluxDB creates a database's shard on the first write into its time
    # range (hundreds of ms once); do that before the clock runs.
    create_db(influx.url, cfg.influx_database)
    httpx.post(
        f"{influx.url}/write",
        params={"db": cfg.influx_database},
        content=f"warmup value=1 {time.time_ns()}",
    ).raise_for_status()
    proc = start_gateway(cfg, work, "gw-latency")
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        raise RuntimeError("latency gateway did not start")
    publisher = Publisher(broker.host, broker.port, "bench-lat-" + uuid.uuid4().hex[:6], 1000)
    publisher.connect()
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the publisher to the target rate
        device = f"probe-{i % DEVICES:02d}"
        body = payload(device, i // DEVICES, datetime.now(UTC))
        publisher.publish(f"tracehub/v1/{SITE}/temperature/{device}", body)
    achieved = total / (time.perf_counter() - start)
    publisher.flush(60)
    publisher.close()
    deadline = time.monotonic() + 60
    while influx_count(cfg.influx_url, cfg.influx_database) < total:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    proc.terminate()
    proc.wait(60)
    proc.stdout.close()
    stats = json.loads((work / "gw-latency-stats.json").read_text())
    return float(stats["lag_p50_ms"]), float(stats["lag_p99_ms"]), achieved


def node_red_flow(broker: Mosquitto, influx: InfluxDB, database: str, client_id: str) -> list[Any]:
    return [
        {"id": "tab", "type": "tab", "label": "bench"},
        {"id": "broker", "type": "mqtt-broker", "name": "bench", "broker": broker.host,
         "port": str(broker.port), "clientid": client_id, "autoConnect": True, "usetls": False,
         "protocolVersion": "5", "keepalive": "60", "cleansession": False,
         "sessionExpiry": "86400"},
        {"id": "in", "type": "mqtt in", "z": "tab", "topic": FILTER, "qos": "1",
         "datatype": "json", "broker": "broker", "nl": False, "rap": False, "inputs": 0,
         "wires": [["fn"]]},
        {"id": "fn", "type": "function", "z": "tab", "outputs": 1, "wires": [["out"]],
         "func": "const p = msg.payload;\n"
                 "msg.payload = [{celsius: p.celsius, battery: p.battery, seq: p.seq,"
                 " time: new Date(p.ts).getTime()},"
                 " {device: p.device_id, location: p.location, site: 'bench'}];\n"
                 "return msg;"},
        {"id": "influx", "type": "influxdb", "hostname": influx.host, "port": str(influx.port),
         "protocol": "http", "database": database, "name": "", "usetls": False,
         "influxdbVersion": "1.x"},
        {"id": "out", "type": "influxdb out", "z": "tab", "influxdb": "influx",
         "measurement": "temperature", "precision": "ms", "retentionPolicy": "", "wires": []},
    ]  # fmt: skip


def node_red(
    broker: Mosquitto, influx: InfluxDB, work: Path, client_id: str, window_s: float
) -> tuple[float, float]:
    """Points/s Node-RED writes over ``window_s`` after its first point; its peak RSS."""
    if not NODE_RED.exists():
        return 0.0, 0.0
    user = work / "node-red"
    (user / "node_modules").mkdir(parents=True, exist_ok=True)
    contrib = user / "node_modules" / "node-red-contrib-influxdb"
    if not contrib.exists():
        contrib.symlink_to(ROOT / "node_modules" / "node-red-contrib-influxdb")
    database = "nodered"
    create_db(influx.url, database)
    flows = user / "flows.json"
    flows.write_text(json.dumps(node_red_flow(broker, influx, database, client_id)))
    port = free_port()
    log = (work / "node-red.log").open("w")
    proc = subprocess.Popen(
        [str(NODE_RED), "-u", str(user), "-p", str(port), str(flows)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    rss = 0.0
    try:
        deadline = time.monotonic() + 120
        first = 0
        while time.monotonic() < deadline:
            first = influx_count(influx.url, database)
            if first > 0:
                break
            time.sleep(0.1)  # waiting for another process: no event to await
        if first == 0:
            return 0.0, 0.0
        start = time.perf_counter()
        end = start + window_s
        while time.perf_counter() < end:
            rss = max(rss, peak_rss_mb(proc.pid))
            time.sleep(0.2)
        last = influx_count(influx.url, database)
        elapsed = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    return (last - first) / elapsed, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller backlog (< 2 min)")
    args = parser.parse_args(argv)
    n = 30_000 if args.quick else 200_000
    window = 10.0 if args.quick else 30.0
    latency_s = 8.0 if args.quick else 20.0
    work = Path(tempfile.mkdtemp(prefix="tracehub-bench-ingest-"))
    ids = {k: f"bench-{k}-{uuid.uuid4().hex[:6]}" for k in ("sub", "ceil", "gw", "nr")}
    try:
        with Mosquitto(work / "mosquitto") as broker, InfluxDB(work / "influx") as influx:
            for client_id in ids.values():
                session(broker, client_id)
            print(f"queueing {n:,} QoS 1 messages for 4 persistent sessions ...", flush=True)
            pub_rate = publish(broker, backlog(n))
            sub_rate = mosquitto_sub(broker, ids["sub"], n)
            ceil_rate = ceiling(broker, ids["ceil"], n)
            cfg = gateway_config(broker, influx, work, ids["gw"])
            gw_rate, gw_rss = gateway_drain(cfg, work, n)
            nr_rate, nr_rss = node_red(broker, influx, work, ids["nr"], window)
            p50, p99, lat_rate = gateway_latency(broker, influx, work, gw_rate / 2, latency_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio_ceiling = gw_rate / ceil_rate if ceil_rate else 0.0
    ratio_nr = gw_rate / nr_rate if nr_rate else 0.0
    print()
    print(f"ingest benchmark, {'quick' if args.quick else 'full'}: backlog {n:,} QoS 1 messages")
    print(f"machine: {describe()}")
    print(f"publisher filled the backlog at {pub_rate:,.0f} msg/s (4 copies queued per message)")
    print()
    print("| contender | msg/s | vs ceiling | peak RSS MB |")
    print("|---|---:|---:|---:|")
    print(
        f"| mosquitto_sub -q 1 > /dev/null (broker limit) | {sub_rate:,.0f} "
        f"| {sub_rate / ceil_rate:.2f} | |"
    )
    print(f"| ceiling: bare paho subscriber, counts only | {ceil_rate:,.0f} | 1.00 | |")
    print(
        f"| tracehub gateway: validated, fsynced spool, InfluxDB confirmed | {gw_rate:,.0f} "
        f"| {ratio_ceiling:.2f} | {gw_rss:.0f} |"
    )
    print(
        f"| Node-RED 4.1 mqtt-in → influxdb-out ({window:.0f} s window) | {nr_rate:,.0f} "
        f"| {nr_rate / ceil_rate:.2f} | {nr_rss:.0f} |"
    )
    print()
    print(
        f"gateway / ceiling = {ratio_ceiling:.2f} (target >= 0.5); "
        f"gateway / Node-RED = {ratio_nr:.1f} (target >= 5)"
    )
    print(
        f"latency device ts → InfluxDB at {lat_rate:,.0f} msg/s (half the gateway's rate): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (target < 500)"
    )
    print(f"gateway peak RSS {gw_rss:.0f} MB (target < 200)")
    print(
        f"RESULT ingest gateway_msgs_s={gw_rate:.0f} ceiling_msgs_s={ceil_rate:.0f} "
        f"nodered_msgs_s={nr_rate:.0f} ratio_ceiling={ratio_ceiling:.2f} "
        f"ratio_nodered={ratio_nr:.1f} p99_ms={p99:.1f} rss_mb={gw_rss:.0f} "
        f"p50_ms={p50:.1f} mosquitto_sub_msgs_s={sub_rate:.0f}"
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
