"""A hub run as `tracehub run` in a child process, as an operator runs it: started,
SIGKILLed, started again on the same state folder (the restart tests)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from ledger.store.sqlstore import LedgerStore
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.keys import open_keystore, site_signer
from tracehub.processes import alive
from tracehub.services import free_port
from tracehub.settings import (
    ChainSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)

RUNNING = re.compile(r"tracehub running at (?P<url>\S+) .*RPC (?P<rpc>\S+)\)")
ANCHOR_SHORT = re.compile(r'id="anchor-short">([^<]*)<')
ANCHOR_STATUS = re.compile(r'id="anchor-status">([^<]*)<')
# The badge's wording when a proof on chain is claimed (all of it, or with some facts
# not proven yet: master data or telemetry windows the other checks label).
ON_CHAIN = ("On chain", "Partly on chain")


class Site:
    def __init__(self, state: Path, env: dict[str, str]) -> None:
        self.state = state
        # `tracehub run` spawns on fixed ports (8545...): free ones per site, kept across
        # its restarts, so test sessions side by side do not collide.
        spawn = ("MQTT", "MQTT_PASSWORD", "INFLUX", "CHAIN")
        self.env = {**{f"TRACEHUB_SPAWN_{s}_PORT": str(free_port()) for s in spawn}, **env}
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
        assert until(lambda: not alive(anvil)), "the spawned anvil outlived its hub"

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


def until(check: Callable[[], object], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)  # another process's progress: polled, there is no event here
    return False


def seed_master_data(site: Site, client: str) -> str:
    """The demo's product, lot and places, signed by the site's key as `tracehub records
    import` does (the hub has created its keys), and a capture token for ``client``."""
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
    try:
        demo.seed(MasterData(store, ledger, site_signer(open_keystore(settings), settings)))
        return store.add_client(client, ["capture"]).token  # `tracehub clients add`
    finally:
        ledger.close()
        store.close()
