"""``tracehub ledger export`` and ``tracehub verify BUNDLE``: one exit code per verdict."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, rpc_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from traceability.anchoring.feeder import EventFeeder
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.keys import open_keystore
from tracehub.services import Anvil, free_port
from tracehub.settings import load_settings

pytestmark = pytest.mark.integration

GTIN = "04012345111118"
PASSPHRASE = "a long enough test passphrase"


def _event(serial: str, minute: int) -> dict[str, object]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-22T10:0{minute}:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        "action": "OBSERVE",
        "bizStep": "arriving",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
    }


def test_export_then_verify_every_verdict(
    tmp_path: Path, anvil: Anvil, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_LEDGER_KEY_PASSPHRASE": PASSPHRASE,
        "TRACEHUB_RECORDS_URL": f"sqlite:///{tmp_path / 'records.db'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the in-process settings read them too
    settings = load_settings()
    store = RecordStore.open(settings.records_url)
    store.add_product(GTIN, "Chilled salmon")
    store.add_lot(GTIN, "L1", serials=range(1001, 1004))
    capture = CaptureService(store)
    for minute, serial in enumerate(["1001", "1002"]):
        capture.capture(_event(serial, minute))
    ledger = LedgerStore.open(settings.ledger_url)
    signer = open_keystore(settings).signer(
        "site:demo", __import__("datetime").datetime.now(__import__("datetime").UTC)
    )
    w3 = rpc_web3(anvil.url)
    address = deploy_anchor_contract(w3, anvil.private_key)
    key = "0x" + os.urandom(32).hex()
    fund_account(w3, Account.from_key(key).address, 10**18)
    AnchorContract(w3, address, anvil.private_key).set_anchorer(Account.from_key(key).address, True)
    feeder = EventFeeder(store, ledger, signer)
    feeder.sync()
    AnchorWorker(ledger, AnchorSender(w3, address, key), "w").step(flush=True)
    feeder.sync()
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, list(args), env={**env, "COLUMNS": "200"})
        return result.exit_code, result.output

    bundle = tmp_path / "bundle.json"
    code, out = run("ledger", "export", "--gtin", GTIN, "--lot", "L1", "-o", str(bundle))
    assert code == 0, out
    code, out = run("verify", str(bundle))
    assert code == 0, out
    assert "VERIFIED" in out
    assert "skipped: offline" in out
    assert "completeness" not in out  # the signed manifest vouches for the lot's length

    unsigned = json.loads(bundle.read_text())
    unsigned["manifest"] = None
    unsigned["items"].pop()  # the newest event, removed with the claim of the length
    unsigned["streams"][0]["length"] -= 1
    unsigned["streams"][0]["head"] = unsigned["items"][-1]["leaf_hash"]
    stripped = tmp_path / "stripped.json"
    stripped.write_text(json.dumps(unsigned))
    code, out = run("verify", str(stripped))
    assert code == 0, out  # nothing contradicts itself: the loss cannot be shown...
    assert "could not check: completeness of the lot's tail" in out  # ...and it is said
    assert out.rstrip().splitlines()[-2].startswith("could not check: ")

    code, out = run("verify", str(bundle), "--rpc", anvil.url)
    assert code == 0, out
    code, out = run("verify", str(bundle), "--rpc", f"http://127.0.0.1:{free_port()}")
    assert code == 4, out
    assert "CHAIN UNREACHABLE" in out

    data = json.loads(bundle.read_text())
    victim = data["items"][0]["entry"]["record_id"]
    data["items"][0]["record"]["bizStep"] = "shipping"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    code, out = run("verify", str(tampered), "--json")
    assert code == 1, out
    assert victim in out

    capture.capture(_event("1003", 5))  # captured, not yet anchored
    feeder.sync()
    pending = tmp_path / "pending.json"
    code, out = run("ledger", "export", "--gtin", GTIN, "--lot", "L1", "-o", str(pending))
    assert code == 0, out
    code, out = run("verify", str(pending))
    assert code == 3, out
    assert "NOT YET ANCHORED" in out

    (tmp_path / "junk.json").write_text("{not json")
    code, out = run("verify", str(tmp_path / "junk.json"))
    assert code == 2, out
    ledger.close()
    store.close()
