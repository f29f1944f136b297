"""Every write the commands make is an audit entry by ``cli:<OS user>`` with before, after
and the ``--reason``: master data (product add/update, an import of lots), API clients
(add, revoke), devices (provision, rotate, revoke), the site's signing key, incident
steps (by the acting client). Real SQLite records and ledger, the site's keystore."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.traceability.incidents.conftest import SIGNER, make_alarm
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.model import incident_id
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore
from tracehub.cli import main

ME = getpass.getuser()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TRACEHUB_DEVICES_PASSPHRASE", "cli test passphrase")
    monkeypatch.setenv("TRACEHUB_SITE", "s1")
    monkeypatch.delenv("TRACEHUB_TOKEN", raising=False)
    return records


def _run(*args: str, token: str | None = None) -> str:
    env = {"COLUMNS": "200", **({"TRACEHUB_TOKEN": token} if token else {})}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _entries() -> list[dict[str, Any]]:
    """The trail, oldest first, as ``tracehub audit list --json`` prints it."""
    lines = _run("audit", "list", "--json", "--limit", "1000").splitlines()
    return [json.loads(line) for line in reversed(lines)]


def test_product_add_and_update_record_before_after_and_reason(url: str) -> None:
    _run("records", "product", "add", "--gtin", GTIN, "--name", "Salmon", "--temp-max", "4")
    _run("records", "product", "update", "--gtin", GTIN, "--temp-max", "3", "--reason", "QA-12")
    created, updated = _entries()
    assert created["action"] == "master.product.create"
    assert created["actor"] == {"name": ME, "kind": "cli", "role": None}
    assert created["before"] is None
    assert created["reason"] is None
    assert (updated["action"], updated["reason"]) == ("master.product.update", "QA-12")
    assert (updated["before"]["temp_max_c"], updated["after"]["temp_max_c"]) == (4, 3)
    assert updated["subject"] == {"kind": "product", "key": GTIN}
    assert updated["ledger"] == "signed"


def test_an_import_of_lots_is_one_entry_a_lot_in_its_stream(url: str, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(f"gtin,name\n{GTIN},Salmon\n")
    (tmp_path / "l.json").write_text(json.dumps([{"gtin": GTIN, "lot": "L1", "quantity": 5}]))
    _run("records", "import", "products", str(tmp_path / "p.csv"))
    _run("records", "import", "lots", str(tmp_path / "l.json"), "--reason", "ERP sync")
    product, lot = _entries()
    assert product["reason"] == "import of p.csv"  # no --reason: the file it came from
    assert (lot["action"], lot["reason"], lot["lots"]) == (
        "master.lot.create",
        "ERP sync",
        [f"{GTIN}/L1"],
    )
    assert lot["after"]["quantity"] == 5
    ledger = LedgerStore.open(url)
    try:
        assert [s.entry.record_id for s in ledger.stream(f"lot:{GTIN}/L1")] == ["audit:2"]
    finally:
        ledger.close()


def test_clients_add_and_revoke_are_entries_without_the_token(url: str) -> None:
    token = _run("clients", "add", "erp-1", "--scope", "capture", "--reason", "ERP link").strip()
    _run("clients", "revoke", "erp-1", "--reason", "contract ended")
    _run("clients", "revoke", "erp-1")  # already revoked: no change, no entry
    added, revoked = _entries()
    assert (added["action"], added["before"], added["reason"]) == ("client.add", None, "ERP link")
    assert added["after"]["scopes"] == ["capture"]
    assert revoked["action"] == "client.revoke"
    assert revoked["before"]["revoked"] is None
    assert revoked["after"]["revoked"] is not None
    assert revoked["reason"] == "contract ended"
    assert token.rsplit("_", 1)[-1] not in json.dumps([added, revoked])


def test_devices_provision_rotate_and_revoke_are_entries(url: str) -> None:
    _run("devices", "provision", "temperature", "p1", "--password", "--no-reload")
    _run("devices", "rotate", "s1/temperature/p1", "--no-reload")
    _run("devices", "revoke", "s1/temperature/p1", "--no-reload", "--reason", "probe lost")
    provisioned, rotated, revoked = _entries()
    assert [e["action"] for e in (provisioned, rotated, revoked)] == [
        "device.provision", "device.rotate", "device.revoke"
    ]  # fmt: skip
    assert provisioned["subject"] == {"kind": "device", "key": "s1/temperature/p1"}
    assert provisioned["before"] is None
    assert provisioned["after"]["status"] == "active"
    assert isinstance(provisioned["after"]["cert_serial"], str)  # 160 bits: as text
    assert "password_hash" not in json.dumps([provisioned, rotated, revoked])
    assert rotated["after"]["password"] == "replaced"
    assert rotated["before"]["cert_serial"] != rotated["after"]["cert_serial"]
    assert (revoked["before"]["status"], revoked["after"]["status"]) == ("active", "revoked")
    assert revoked["reason"] == "probe lost"


def test_a_key_rotation_is_an_entry(url: str) -> None:
    _run("ledger", "rotate-key", "--reason", "yearly rotation")
    (rotated,) = _entries()
    assert rotated["action"] == "key.rotate"
    assert rotated["subject"] == {"kind": "signing-key", "key": "site:s1"}
    assert rotated["before"]["key_id"] != rotated["after"]["key_id"]
    assert rotated["after"]["previous"] == rotated["before"]["key_id"]


def test_an_incident_step_is_an_entry_by_the_acting_client(url: str, stocked: RecordStore) -> None:
    ledger = LedgerStore.open(url)
    try:
        capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
        capture.capture(object_event(time="2026-12-03T10:00:00Z", read_point=COLD_ROOM))
        alarm = make_alarm()
        IncidentService(stocked, ledger, SIGNER).raised(alarm)
    finally:
        ledger.close()
    token = _run("clients", "add", "li", "--scope", "operator").strip()
    _run("incidents", "ack", incident_id(alarm.id), "--comment", "door closed", token=token)
    _, ack = _entries()  # after the client's addition
    assert ack["action"] == "incident.acknowledge"
    assert ack["actor"] == {"name": "li", "kind": "client", "role": "operator"}
    assert (ack["before"], ack["reason"]) == ({"state": "open"}, "door closed")
    assert ack["after"]["step"] == "acknowledged"
    assert ack["lots"] == [f"{GTIN}/L1"]
