"""A lot's carbon report kept and anchored through the ledger, against real services.

``tracehub carbon report --lot G/L --anchor`` (in process) next to a running hub
(mosquitto, InfluxDB, SQLite records + ledger, the embedded EVM, its AnchorLoop and web
server): the report becomes a pending leaf of the lot's chain, the hub's next batch
anchors it, the lot's bundle carries it, ``tracehub verify`` (another process, through
the hub's /rpc) passes and names the report once its kept copy is altered, and the lot
page shows the anchored footprint. Smaller tests below run on a bare ledger store.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ledger.signing import Signer
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from tests.support.hubs import hub_settings
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import CARBON_REPORT_KIND, lot_stream
from traceability.carbon.assessment import compute_report
from traceability.carbon.errors import CarbonInputError
from traceability.carbon.ledgerreport import latest_report, publish_report
from traceability.carbon.lotfootprint import LedgerFootprint, RecordsFootprint
from traceability.carbon.records import RecordsCarbonSource
from traceability.imports import IMPORT_KINDS, import_records
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.hub import Hub
from tracehub.services import InfluxDB, Mosquitto

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon"
GTIN = "04012345111118"
LOT = "L2026-11A"
CREATED = datetime(2026, 11, 22, 12, tzinfo=UTC)
# Everything of lot_l1_records.json but the cold-room stay (which needs a power series):
# one reefer leg, a cold-storage hub activity, packaging with a primary factor.
KINDS = tuple(kind for kind in IMPORT_KINDS if kind != "stays")


def load_records(store: RecordStore, master: MasterData | None = None) -> None:
    """``master``: products, lots, locations signed as the CLI import signs them."""
    text = (DATA / "lot_l1_records.json").read_text(encoding="utf-8")
    for kind in KINDS:
        import_records(store, kind, text, "json", master=master)


# -- through a running hub ---------------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Hub]:
    settings = hub_settings(tmp_path / "state", "carbon", mosquitto, influxdb)
    with Hub(settings) as running:
        load_records(running.store, running.master)
        yield running


def _cli(hub: Hub, *args: str) -> str:
    result = CliRunner().invoke(
        main,
        ["carbon", "report", "--lot", f"{GTIN}/{LOT}", *args],
        env={
            "TRACEHUB_STATE_DIR": str(hub.settings.hub.state_dir),
            "TRACEHUB_SITE": hub.settings.hub.site,
            "COLUMNS": "300",
        },
    )
    assert result.exit_code == 0, result.output
    return result.output


def _verify(hub: Hub) -> subprocess.CompletedProcess[str]:
    rpc = hub.rpc_url
    assert rpc is not None
    return subprocess.run(
        [
            sys.executable, "-m", "tracehub.cli", "verify", "--gtin", GTIN, "--lot", LOT,
            "--records", hub.settings.records_url, "--rpc-url", rpc,
            "--trust", f"{hub.web.url}/.well-known/tracehub.json", "--json",
        ],
        capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


@pytest.mark.integration
def test_anchor_keeps_the_report_which_verify_then_checks(hub: Hub) -> None:
    page_url = f"{hub.web.url}/01/{GTIN}/10/{LOT}"
    before = httpx.get(page_url, timeout=10).text
    assert 'id="carbon-anchor"' in before
    assert "Computed from the records; not anchored yet." in before

    # 1. --anchor: a pending leaf of the lot's chain, signed by the site's key
    said = _cli(hub, "--anchor")
    kept = latest_report(hub.ledger, GTIN, LOT)
    assert kept is not None
    assert kept.status == "pending"
    assert kept.batch_id is None
    assert f"kept carbon report {kept.record_id} {kept.digest}" in said
    assert f"seq {kept.seq} of {lot_stream(GTIN, LOT)}" in said
    assert "pending until the hub's next batch" in said
    assert kept.report["id"] == kept.record_id
    entry = hub.ledger.entry(CARBON_REPORT_KIND, kept.record_id)
    assert entry is not None
    assert entry.entry.signature.key_id == hub.signer.key_id
    # The report the command printed is the one the ledger keeps, figure for figure.
    printed = json.loads(_cli(hub, "--json"))
    assert printed["extensions"][-1] == kept.report["extensions"][-1]
    items = [i["kind"] for i in kept.report["extensions"][-1]["data"]["items"]]
    assert sorted(items) == ["hub", "leg", "packaging"]
    # Same figures again: nothing new is submitted.
    again = _cli(hub, "--anchor")
    assert f"unchanged: the lot's latest carbon report {kept.record_id}" in again
    kinds = [e.entry.kind for e in hub.ledger.stream(lot_stream(GTIN, LOT))]
    # besides the audit entries of the lot's master data (who wrote it, issue #17)
    assert [k for k in kinds if k != "audit-entry"] == [CARBON_REPORT_KIND]
    # The command ran beside the hub, not through it: the hub's page cache keeps the
    # lot's page for its TTL (or until the next anchor); drop it as a new TTL would.
    hub.pages.invalidate(GTIN, LOT)
    pending_page = httpx.get(page_url, timeout=10).text
    assert "waits for its batch to be anchored" in pending_page

    # 2. the hub's loop anchors it with its next batch
    hub.anchoring.wake()
    assert hub.anchoring.anchored.wait(timeout=60), "nothing was anchored"
    anchored = latest_report(hub.ledger, GTIN, LOT)
    assert anchored is not None
    assert anchored.status == "anchored"
    assert anchored.batch_id is not None
    assert anchored.block_number is not None
    batch = hub.ledger.batch(anchored.batch_id)
    assert batch is not None
    on_chain = hub.chain.anchorer.lookup(batch.root)
    assert on_chain is not None
    assert on_chain.block_number == anchored.block_number
    assert "anchored in batch" in _cli(hub, "--anchor")

    # 3. the lot's bundle carries the report itself
    bundle = lot_bundle(hub.store, hub.ledger, GTIN, LOT)
    carried = [i for i in bundle["items"] if i["entry"]["kind"] == CARBON_REPORT_KIND]
    assert len(carried) == 1
    assert carried[0]["record"] == kept.report

    # 4. the page shows the anchored footprint (per unit, block)
    html = httpx.get(page_url, timeout=10).text
    per_unit = float(kept.report["extensions"][-1]["data"]["perUnitKgCO2e"])
    assert f"<strong>{per_unit:.3f} kg CO₂e</strong>" in html
    assert f"(batch {anchored.batch_id}, block {anchored.block_number})" in html

    # 5. verify (another process, the chain through the hub's /rpc) passes
    ok = _verify(hub)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    checks = json.loads(ok.stdout)["checks"]
    assert any(c["record_id"] == kept.record_id and c["ok"] for c in checks)

    # 6. an altered kept report fails verification, named by its id
    total = kept.report["extensions"][-1]["data"]["totalKgCO2e"]
    db = sqlite3.connect(hub.settings.ledger_url.removeprefix("sqlite:///"))
    with db:
        changed = db.execute(
            "UPDATE ledger_records SET canonical = replace(canonical, ?, ?) "
            "WHERE canonical LIKE '%totalKgCO2e%'",  # the report, not the master data
            (f'"totalKgCO2e":"{total}"', '"totalKgCO2e":"0.5"'),
        ).rowcount
    db.close()
    assert changed == 1
    bad = _verify(hub)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed
    assert all(c["record_id"] == kept.record_id for c in failed), failed
    assert kept.record_id in bad.stdout


# -- on a bare ledger store (real SQLite) ------------------------------------------------


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[RecordStore, LedgerStore, Signer]]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = RecordStore.open(url)
    ledger = LedgerStore.open(url)
    signer = KeyStore.open(tmp_path / "keys", "test passphrase").signer("site:t", CREATED)
    load_records(store)
    yield store, ledger, signer
    ledger.close()
    store.close()


def test_publish_is_idempotent_on_the_figures_and_keeps_revisions(
    stores: tuple[RecordStore, LedgerStore, Signer],
) -> None:
    store, ledger, signer = stores
    source = RecordsCarbonSource(store)
    _, first = compute_report(source, GTIN, LOT, created=CREATED)
    published = publish_report(ledger, signer, GTIN, LOT, first, CREATED)
    assert published.submitted
    assert published.kept.seq == 0  # the first link of the lot's chain
    # Computed again later: another id and creation time, the same figures.
    _, later = compute_report(source, GTIN, LOT, created=datetime(2026, 11, 23, tzinfo=UTC))
    assert later["id"] != first["id"]
    repeat = publish_report(ledger, signer, GTIN, LOT, later, CREATED)
    assert not repeat.submitted
    assert repeat.kept.record_id == first["id"]
    # A revised leg (a longer distance) is a new leaf after the first one.
    revised = dict(first)
    revised["extensions"] = [*first["extensions"][:-1], {"revised": True}]
    revised["id"] = "revised-report"
    newer = publish_report(ledger, signer, GTIN, LOT, revised, CREATED)
    assert newer.submitted
    assert newer.kept.seq == 1
    latest = latest_report(ledger, GTIN, LOT)
    assert latest is not None
    assert latest.record_id == "revised-report"


def test_page_source_prefers_the_ledger_and_falls_back_to_the_records(
    stores: tuple[RecordStore, LedgerStore, Signer],
) -> None:
    store, ledger, signer = stores
    source = LedgerFootprint(ledger, RecordsFootprint(store))
    computed = source.latest(GTIN, LOT)
    assert computed is not None
    assert computed.anchor == "not_anchored"
    assert computed.report_id is None
    _, report = compute_report(RecordsCarbonSource(store), GTIN, LOT, created=CREATED)
    publish_report(ledger, signer, GTIN, LOT, report, CREATED)
    kept = source.latest(GTIN, LOT)
    assert kept is not None
    assert (kept.anchor, kept.report_id, kept.batch_id) == ("pending", report["id"], None)
    # Same figures either way: the page does not change its numbers when anchored.
    assert (kept.total_kg, kept.per_unit_kg, kept.by_kind) == (
        computed.total_kg,
        computed.per_unit_kg,
        computed.by_kind,
    )
    # A lot with neither a report nor shipments or stays has no footprint.
    assert source.latest(GTIN, "L-NONE") is None


def test_stays_without_a_power_series_are_refused_by_name(
    stores: tuple[RecordStore, LedgerStore, Signer],
) -> None:
    store, _, _ = stores
    import_records(
        store, "stays", (DATA / "lot_l1_records.json").read_text(encoding="utf-8"), "json"
    )
    with pytest.raises(CarbonInputError) as caught:
        compute_report(RecordsCarbonSource(store), GTIN, LOT, created=CREATED)
    assert caught.value.field == "stays"
