"""``tracehub ledger export`` and ``tracehub verify BUNDLE``: one exit code per verdict."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from eth_account import Account

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, rpc_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import fingerprint_of
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from tests.support.webapp import sign_captured
from tests.tracehub.conftest import MakeSettings
from traceability.anchoring.feeder import EventFeeder
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.hub import Hub
from tracehub.keys import open_keystore
from tracehub.services import Anvil, free_port
from tracehub.settings import InfluxSettings, MqttSettings, load_settings

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
    sign_captured(store, ledger, signer)  # capture's signed receipts
    feeder = EventFeeder(store, ledger)
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
    assert code == 6, out  # the bundle's own keys: consistent, nobody said whose they are
    assert "SELF-CONSISTENT, NOT ATTRIBUTED" in out
    assert "trust anchor: none" in out
    assert "VERIFIED" not in out
    code, out = run("verify", str(bundle), "--trust", signer.key_id)
    assert code == 7, out  # attributed; offline, the anchors are not claimed
    assert "ATTRIBUTED, ANCHORS NOT CHECKED" in out
    assert f"trust anchor: --trust {signer.key_id}" in out
    assert "skipped: offline" in out
    assert "completeness" not in out  # the signed manifest vouches for the lot's length
    trust = ("--trust", fingerprint_of(signer.public.public_key))

    unsigned = json.loads(bundle.read_text())
    unsigned["manifest"] = None
    newest = unsigned["items"].pop()  # the newest event, removed with the claim of the length
    (link,) = newest["entry"]["links"]
    claim = next(c for c in unsigned["streams"] if c["stream"] == link["stream"])
    claim["length"] -= 1
    claim["head"] = link["prev"]
    stripped = tmp_path / "stripped.json"
    stripped.write_text(json.dumps(unsigned))
    code, out = run("verify", str(stripped), *trust, "--rpc", anvil.url)
    assert code == 0, out  # nothing contradicts itself: the loss cannot be shown...
    assert "could not check: completeness of the lot's tail" in out  # ...and it is said
    assert out.rstrip().splitlines()[-3].startswith("could not check: ")

    code, out = run("verify", str(bundle), "--rpc", anvil.url, *trust, "--contract", address)
    assert code == 0, out
    assert "VERIFIED: every check passed" in out
    assert f"--contract {address}" in out
    code, out = run("verify", str(bundle), "--rpc", anvil.url, "--offline", *trust)
    assert code == 7, out  # --offline never claims the anchor
    other = "0x" + "1" * 40
    code, out = run("verify", str(bundle), "--rpc", anvil.url, *trust, "--contract", other)
    assert code == 1, out  # anchored in another contract than the trusted one
    code, out = run("verify", str(bundle), "--contract", address)
    assert code == 2, out
    assert "give --trust too" in out
    code, out = run("verify", str(bundle), "--trust", "not-a-key")
    assert code == 2, out
    assert "is not a trust anchor" in out
    code, out = run("verify", str(bundle), "--rpc", f"http://127.0.0.1:{free_port()}")
    assert code == 4, out
    assert "CHAIN UNREACHABLE" in out

    data = json.loads(bundle.read_text())
    victim = data["items"][0]["entry"]["record_id"]
    data["items"][0]["record"]["bizStep"] = "shipping"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    code, out = run("verify", str(tampered), "--json", *trust)
    assert code == 1, out
    assert victim in out
    assert json.loads(out)["trust"] == f"--trust {trust[1]}"

    capture.capture(_event("1003", 5))  # captured, not yet anchored
    sign_captured(store, ledger, signer)
    feeder.sync()
    pending = tmp_path / "pending.json"
    code, out = run("ledger", "export", "--gtin", GTIN, "--lot", "L1", "-o", str(pending))
    assert code == 0, out
    code, out = run("verify", str(pending))
    assert code == 3, out
    assert "NOT YET ANCHORED" in out

    # On the site itself, the lot is judged by the site's own keystore (the local
    # configuration), not by the keys its databases hold; another key there fails.
    code, out = run("verify", "--gtin", GTIN, "--lot", "L1", "--offline")
    keys_dir = tmp_path / "state" / "ledger-keys"
    assert f"trust anchor: the site's own keystore ({keys_dir})" in out, out
    assert f"signature by site:demo ({signer.key_id}), key valid at the anchor time" in out
    stranger = "sha256:" + "0" * 64
    code, out = run("verify", "--gtin", GTIN, "--lot", "L1", "--offline", "--trust", stranger)
    assert code == 1, out  # --trust replaces the keystore: the site's key is not that one
    assert f"signed by key {signer.key_id}" in out

    (tmp_path / "junk.json").write_text("{not json")
    code, out = run("verify", str(tmp_path / "junk.json"))
    assert code == 2, out
    ledger.close()
    store.close()


def test_verify_trusts_the_sites_well_known_document(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    """A real hub serves its trust document; `verify --trust URL` judges a bundle by it:
    the site's own export verifies, one re-signed with another key fails naming it."""
    from datetime import UTC, datetime

    from ledger.evidence import build_bundle, manifest_bytes, manifest_digests
    from ledger.signing import Signer, format_instant, key_to_json

    hub = Hub(
        make_settings(
            mqtt=MqttSettings(port=free_port(), security="plain"),
            influx=InfluxSettings(url=f"http://127.0.0.1:{free_port()}"),  # not asked
        )
    )
    hub.open()
    try:
        hub.web.start()
        records = {f"r{i}": {"n": i} for i in range(3)}
        for rid, record in records.items():
            hub.ledger.submit("test-record", rid, record, ["lot:T"], hub.signer, datetime.now(UTC))
        assert hub.anchoring.worker.step(flush=True).confirmed  # the hub's own worker
        exported = build_bundle(
            hub.ledger, {"lot": "T"}, ["lot:T"], lambda k, r: records.get(r), hub.signer,
            datetime.now(UTC),
        )  # fmt: skip
        bundle = tmp_path / "bundle.json"
        bundle.write_text(json.dumps(exported))
        well_known = f"{hub.web.url}/.well-known/tracehub.json"
        document = httpx.get(well_known, timeout=10).json()
        assert document["site"] == "hub-test"
        assert [k["key_id"] for k in document["keys"]] == [hub.signer.key_id]
        assert document["anchors"][0]["contract"] == hub.chain.anchorer.contract

        def run(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(
                main, list(args), env={"COLUMNS": "200", "TRACEHUB_STATE_DIR": str(tmp_path / "x")}
            )
            return result.exit_code, result.output

        rpc = hub.rpc_url
        assert rpc is not None
        code, out = run("verify", str(bundle), "--trust", well_known, "--rpc", rpc)
        assert code == 0, out
        assert f"trust anchor: {well_known} (site hub-test)" in out
        assert "VERIFIED: every check passed" in out
        code, out = run("verify", str(bundle), "--trust", hub.web.url, "--rpc", rpc)
        assert code == 0, out  # the site's URL: its well-known document
        code, out = run("verify", str(bundle), "--trust", well_known)
        assert code == 7, out  # offline: attributed, the anchors not claimed

        # Re-signed: the forger swaps in their key and signs the manifest with it.
        mallory = Signer.generate("site:hub-test", datetime(2026, 1, 1, tzinfo=UTC))
        forged = json.loads(bundle.read_text())
        forged["keys"] = [key_to_json(mallory.public)]
        digests = manifest_digests(forged)
        signed_at = format_instant(datetime.now(UTC))
        value = mallory.sign(manifest_bytes(digests, mallory.key_id, signed_at))
        forged["manifest"] = {
            "digests": digests,
            "signature": {"key_id": mallory.key_id, "signed_at": signed_at, "value": value.hex()},
        }
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        code, out = run("verify", str(tmp_path / "forged.json"), "--trust", well_known)
        assert code == 1, out
        assert f"signed by key {mallory.key_id}" in out
        assert "which no trust anchor names" in out
    finally:
        hub.stop()


def test_an_oversized_trust_document_is_refused_early(tmp_path: Path) -> None:
    """A server answering --trust with more than a trust document is stopped, not read whole."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tracehub.trustsources import MAX_TRUST_BYTES

    class Flood(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(2 * MAX_TRUST_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client hung up, as it should

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flood)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/tracehub.json"
        bundle = tmp_path / "b.json"
        bundle.write_text("{}")
        result = CliRunner().invoke(main, ["verify", str(bundle), "--offline", "--trust", url])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 2, result.output
    assert f"passes {MAX_TRUST_BYTES} bytes" in result.output
