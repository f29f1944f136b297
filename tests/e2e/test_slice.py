"""The whole thin slice against real services, as `make demo` runs it.

probe → MQTT (mosquitto) → gateway → InfluxDB; RFID read → EPCIS event →
records (SQLite) → Merkle batch → anchor contract (embedded EVM and anvil) →
lot page → `tracehub verify` in another process, before and after tampering.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gateway.influx import InfluxWriter
from sensors.simulator import run_simulators
from traceability.carbon.ledgerreport import latest_report
from tracehub import demo
from tracehub.hub import Hub
from tracehub.services import Anvil, InfluxDB, Mosquitto
from tracehub.settings import (
    ChainSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)
from tracehub.site import open_device_registry, provision_devices

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DOCK_NAME = demo.DOCK_DOOR_NAME
TICKS = 4  # each tick: one reading per probe, one tag read (3 units in the scenario)
# An hour ago: device times must not lie in the future (capture rejects those).
START = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


def _settings(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, anvil: Anvil | None
) -> Settings:
    chain = ChainSettings(anchor_interval_s=3600)  # the test wakes the loop itself
    if anvil is not None:
        chain = ChainSettings(
            rpc_url=anvil.url, private_key=anvil.private_key, anchor_interval_s=3600
        )
    return Settings(
        hub=HubSettings(state_dir=tmp_path / "state", site="e2e"),
        mqtt=MqttSettings(  # the suite's shared broker: plain on loopback, explicitly
            host=mosquitto.host,
            port=mosquitto.port,
            client_id=f"gw-{uuid.uuid4().hex[:8]}",
            security="plain",
        ),
        influx=InfluxSettings(url=influxdb.url, database=f"e2e_{uuid.uuid4().hex[:8]}"),
        records=RecordsSettings(),
        chain=chain,
        web=WebSettings(port=0),
    )


@pytest.fixture(params=["embedded", "anvil"])
def hub(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
) -> Iterator[Hub]:
    anvil = request.getfixturevalue("anvil") if request.param == "anvil" else None
    with Hub(_settings(tmp_path, mosquitto, influxdb, anvil), demo.READ_POINTS) as running:
        demo.seed(running.master)  # signed; also names the places (pages never show URNs)
        # as `make demo`: each probe placed at its room and the reader at its dock door
        # (the gateway stores readings and observes reads there), provisioned before the
        # first reading it sends
        provision_devices(
            open_device_registry(running.settings),
            demo.scenario_devices(running.settings.hub.site),
            since=START - timedelta(minutes=1),
        )
        # as `make demo`: the lot's carbon report waits in the ledger for the first batch
        assert demo.anchor_footprint(running).submitted
        assert running.gateway.wait_ready(timeout=10)
        yield running


def _publish_and_anchor(hub: Hub) -> None:
    _publish(hub)
    _anchor(hub)


def _publish(hub: Hub) -> None:
    settings = hub.settings
    assert settings.mqtt.port is not None
    stats = run_simulators(
        settings.mqtt.host,
        settings.mqtt.port,
        demo.scenario_devices(settings.hub.site, units=3),
        stop=__import__("threading").Event(),
        interval_s=0,
        count=TICKS,
        start=START,
    )
    assert (stats.temperature, stats.rfid) == (2 * TICKS, 3)
    assert hub.gateway.gateway.wait_until(
        lambda c: c.written >= 2 * TICKS and c.captured >= 3, timeout=20
    ), hub.gateway.counters


def _anchor(hub: Hub) -> None:
    hub.anchoring.wake()
    assert hub.anchoring.anchored.wait(timeout=60), "nothing was anchored"


def _verify(hub: Hub, *extra: str) -> subprocess.CompletedProcess[str]:
    rpc = hub.rpc_url
    assert rpc is not None
    return subprocess.run(
        [
            sys.executable, "-m", "tracehub.cli", "verify",
            "--gtin", demo.GTIN, "--lot", demo.LOT,
            "--records", hub.settings.records_url, "--rpc-url", rpc,
            "--trust", f"{hub.web.url}/.well-known/tracehub.json", *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_reading_to_page_to_verified_proof(hub: Hub) -> None:
    _publish_and_anchor(hub)
    settings = hub.settings
    assert settings.influx.url is not None

    # 2. every reading is in InfluxDB exactly once, with the values the probes sent
    influx = InfluxWriter(settings.influx.url, settings.influx.database)
    series = influx.query('SELECT count("celsius") FROM "temperature" GROUP BY "location"')
    counts = {s["tags"]["location"]: s["rows"][0]["count"] for s in series}
    assert counts == {demo.DOCK_DOOR: TICKS, demo.COLD_ROOM: TICKS}
    # 3+4. three EPCIS events stored, linked to the lot, anchored in one batch together
    # with their capture receipts and the lot's carbon report (kept by the ledger)
    events = hub.store.events_for_lot(demo.GTIN, demo.LOT)
    # The lot has stayed at the dock door since its first read: the page's range is the
    # lowest and highest reading there since then (aggregates, never the raw readings).
    since = min(e.event_time for e in events).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    low, high = (
        influx.query(
            f'SELECT {fn}("celsius") FROM "temperature" WHERE "location" = '
            f"'{demo.DOCK_DOOR}' AND time >= '{since}'"
        )[0]["rows"][0][fn]
        for fn in ("min", "max")
    )
    influx.close()
    assert len(events) == 3
    assert {e.batch_id for e in events} == {1}
    batch = hub.store.batch(1)
    assert batch is not None
    # 3 events with their capture receipts (the gateway captures one read at a time),
    # the carbon report, the demo's master data (product, lot, 4 places) and their 6
    # audit entries (who wrote each version, issue #17)
    assert batch.size == 3 + 3 + 1 + 6 + 6
    on_chain = hub.chain.anchorer.lookup(batch.root)
    assert on_chain is not None
    assert on_chain.size == 3 + 3 + 1 + 6 + 6
    kept = latest_report(hub.ledger, demo.GTIN, demo.LOT)
    assert kept is not None
    assert (kept.status, kept.block_number) == ("anchored", on_chain.block_number)
    ledger_batch = hub.ledger.batch(kept.batch_id or 0)
    assert ledger_batch is not None
    assert ledger_batch.root == batch.root

    # 5. the lot page shows product, lot, expiry, place, temperature and the anchor
    page = httpx.get(f"{hub.web.url}/01/{demo.GTIN}/10/{demo.LOT}", timeout=10)
    assert page.status_code == 200
    html = page.text
    lot = hub.store.get_lot(demo.GTIN, demo.LOT)
    assert lot is not None
    assert lot.expiry is not None
    for expected in (
        demo.PRODUCT_NAME,
        demo.LOT,
        lot.expiry.isoformat(),
        f'<strong class="place">{DOCK_NAME}</strong>',
        f"{low:.1f} °C – {high:.1f} °C",
        batch.tx_hash,
        str(batch.block_number),
        batch.root.hex(),
        # the footprint of the demo shipment (two reefer legs, a cross-dock), anchored
        '<p id="carbon-total"><strong>0.149 kg CO₂e</strong>',
        f"(batch {kept.batch_id}, block {on_chain.block_number})",
    ):
        assert expected in html, expected
    # ... and nothing a consumer must not see: location URNs, device ids
    for private in (demo.DOCK_DOOR, demo.COLD_ROOM, "probe-"):
        assert private not in html, private

    # 6. verify in another process, through the chain's JSON-RPC, exits 0
    ok = _verify(hub)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERIFIED" in ok.stdout
    assert f"captured by gateway:{settings.mqtt.client_id}: 3 events" in ok.stdout

    # ... and after one stored event is altered by hand it names that event
    victim = events[1].id
    db = sqlite3.connect(settings.records_url.removeprefix("sqlite:///"))
    with db:
        changed = db.execute(
            "UPDATE events SET body = replace(body, 'receiving', 'shipping') WHERE id = ?",
            (victim,),
        ).rowcount
    db.close()
    assert changed == 1
    bad = _verify(hub, "--json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert victim in bad.stdout
    assert '"ok": false' in bad.stdout


def test_verify_offline_needs_no_chain(hub: Hub) -> None:
    _publish_and_anchor(hub)
    result = subprocess.run(
        [
            sys.executable, "-m", "tracehub.cli", "verify",
            "--lot", f"https://id.example.com/01/{demo.GTIN}/10/{demo.LOT}",
            "--records", hub.settings.records_url, "--offline",
            "--trust", f"{hub.web.url}/.well-known/tracehub.json",
        ],
        capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    # Offline never claims the anchor: attributed to the site's keys, anchors not checked.
    assert result.returncode == 7, result.stdout + result.stderr
    assert "ATTRIBUTED, ANCHORS NOT CHECKED" in result.stdout
    assert "skipped: offline" in result.stdout


def test_lot_page_follows_captures_and_anchors_at_once(hub: Hub) -> None:
    """The page cache (30 s) must not hide a new custody event or a new anchor."""
    url = f"{hub.web.url}/01/{demo.GTIN}/10/{demo.LOT}"
    empty = httpx.get(url, timeout=10)
    assert empty.status_code == 200
    assert DOCK_NAME not in empty.text
    _publish(hub)
    captured = httpx.get(url, timeout=10).text
    assert DOCK_NAME in captured
    _anchor(hub)
    batch = hub.store.batch(1)
    assert batch is not None
    assert batch.tx_hash not in captured
    assert batch.tx_hash in httpx.get(url, timeout=10).text
