"""`tracehub run` killed and started again: its anchors outlive it (issue 13).

The hub runs as a subprocess on its own state folder, anchoring on the anvil it
spawns (state written every second). SIGKILLed and restarted, every earlier lot
still verifies and the page still says "On chain"; with the chain's state deleted
(a real reset) the restarted hub orphans the old batches: `tracehub verify` says
"other chain" (exit 5), not "tampered", and the page no longer claims "On chain".
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.epcis import captured
from tests.support.events import object_event
from tests.support.site import ON_CHAIN, Site, seed_master_data, until
from tracehub import demo
from tracehub.services import InfluxDB, Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


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
    token = seed_master_data(site, "e2e-erp")
    at = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at,
        "epcisBody": {"eventList": [object_event("1001", time=at, read_point=demo.DOCK_DOOR)]},
    }
    with httpx.Client(base_url=site.url, timeout=30) as http:
        job = captured(http, document, headers={"Authorization": f"Bearer {token}"})
    assert job["success"], job


def test_anchors_outlive_a_sigkill_and_a_reset_chain_is_told_apart(site: Site) -> None:
    site.start()
    _seed(site)
    assert until(site.claims_on_chain), site.proof_badge()
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
