"""`tracehub run` killed and started again: its anchors outlive it (issue 13).

The hub runs as a subprocess on its own state folder, anchoring on the anvil it
spawns (state written every second). SIGKILLed and restarted, every earlier lot
still verifies and the page still says "On chain"; with the chain's state deleted
(a real reset) the restarted hub orphans the old batches: `tracehub verify` says
"other chain" (exit 5), not "tampered", and the page no longer claims "On chain".
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ledger.store.sqlstore import LedgerStore
from tests.support.events import object_event
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.keys import open_keystore, site_signer
from tracehub.processes import alive
from tracehub.services import InfluxDB, Mosquitto, free_port
from tracehub.settings import (
    ChainSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RUNNING = re.compile(r"tracehub running at (?P<url>\S+) .*RPC (?P<rpc>\S+)\)")
ANCHOR_SHORT = re.compile(r'id="anchor-short">([^<]*)<')
ANCHOR_STATUS = re.compile(r'id="anchor-status">([^<]*)<')
# The badge's wording when a proof on chain is claimed (all of it, or with some facts
# not proven yet: master data or telemetry windows the other checks label).
ON_CHAIN = ("On chain", "Partly on chain")


class Site:
    def __init__(self, state: Path, env: dict[str, str]) -> None:
        self.state = state
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        log = (self.state.parent / "hub.out").open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracehub.cli", "run", "--insecure-plain"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the hub is open and serving
        found = RUNNING.search(line)
        assert found, f"hub did not start: {line!r}; see {self.state.parent / 'hub.out'}"
        self.url = found["url"]

    def kill(self) -> None:
        assert self.proc is not None
        anvil = int((self.state / "chain" / "anvil.pid").read_text())
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.proc = None
        assert _until(lambda: not alive(anvil)), "the spawned anvil outlived its hub"

    def verify(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "tracehub.cli",
                "verify",
                "--gtin",
                demo.GTIN,
                "--lot",
                demo.LOT,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def proof_badge(self) -> tuple[str, str]:
        """The page's proof badge and its events' anchoring line."""
        page = httpx.get(f"{self.url}/01/{demo.GTIN}/10/{demo.LOT}", timeout=10)
        page.raise_for_status()
        badge, status = ANCHOR_SHORT.search(page.text), ANCHOR_STATUS.search(page.text)
        assert badge, "the page has no proof badge"
        assert status, "the page has no anchoring line"
        return badge[1], status[1]

    def claims_on_chain(self) -> bool:
        badge, status = self.proof_badge()
        return badge in ON_CHAIN and status.startswith("All ")


def _until(check: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)  # another process's progress: polled, there is no event here
    return False


@pytest.fixture
def site(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Site]:
    state = tmp_path / "state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "300",
        "TRACEHUB_STATE_DIR": str(state),
        "TRACEHUB_SITE": "restart",
        "TRACEHUB_WEB_PORT": str(free_port()),
        "TRACEHUB_MQTT_PORT": str(mosquitto.port),
        "TRACEHUB_MQTT_SECURITY": "plain",  # the suite's shared broker: plain on loopback
        "TRACEHUB_MQTT_CLIENT_ID": f"gw-{uuid.uuid4().hex[:8]}",
        "TRACEHUB_INFLUX_URL": influxdb.url,
        "TRACEHUB_INFLUX_DATABASE": f"restart_{uuid.uuid4().hex[:8]}",
        "TRACEHUB_CHAIN_ANCHOR_INTERVAL_S": "0.5",
    }
    running = Site(state, env)
    yield running
    if running.proc is not None:
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(timeout=60)
        assert running.proc.stdout is not None
        running.proc.stdout.close()


def _seed(site: Site) -> None:
    """The demo's product and lot, and one event captured by the running hub (its
    EPCIS capture endpoint signs it into the ledger)."""
    settings = Settings(
        hub=HubSettings(state_dir=site.state, site=site.env["TRACEHUB_SITE"]),
        mqtt=MqttSettings(),
        influx=InfluxSettings(),
        records=RecordsSettings(),
        chain=ChainSettings(),
        web=WebSettings(),
    )
    store = RecordStore.open(settings.records_url)
    ledger = LedgerStore.open(settings.ledger_url)
    try:  # signed by the site's key, as `tracehub records import` does
        demo.seed(MasterData(store, ledger, site_signer(open_keystore(settings), settings)))
        token = store.add_client("e2e-erp", ["capture"]).token  # `tracehub clients add`
    finally:
        ledger.close()
        store.close()
    at = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at,
        "epcisBody": {"eventList": [object_event("1001", time=at, read_point=demo.DOCK_DOOR)]},
    }
    answer = httpx.post(
        f"{site.url}/epcis/capture",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


def test_anchors_outlive_a_sigkill_and_a_reset_chain_is_told_apart(site: Site) -> None:
    site.start()
    _seed(site)
    assert _until(site.claims_on_chain), site.proof_badge()
    first = site.verify()
    assert first.returncode == 0, first.stdout + first.stderr

    site.kill()
    site.start()
    again = site.verify()
    assert again.returncode == 0, again.stdout + again.stderr
    assert site.claims_on_chain(), site.proof_badge()

    site.kill()
    (site.state / "chain" / "anvil-state.json").unlink()  # the chain is reset
    site.start()
    reset = site.verify()
    assert reset.returncode == 5, reset.stdout + reset.stderr
    assert "OTHER CHAIN" in reset.stdout
    assert "TAMPERED" not in reset.stdout
    badge, status = site.proof_badge()
    assert badge not in ON_CHAIN
    assert not status.startswith("All ")
    page = httpx.get(f"{site.url}/01/{demo.GTIN}/10/{demo.LOT}", timeout=10).text
    assert "a chain this hub can no longer reach" in page
