"""``LedgerEvidence``: the bundles the hub serves stay signed by the site's current key.

Real keystore, real SQLite, anchors on the embedded EVM; the trust anchors are the
site's published document (``/.well-known/tracehub.json``), read from the keystore.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.reader import ChainReader
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from ledger.verify.trust import anchors_from_document, trust_document
from ledger.verify.verifier import Check, Outcome, Verdict, verify_bundle
from ledger.worker import AnchorWorker
from tests.support.events import GTIN
from tests.support.masterdata import sign_master
from tests.support.webapp import capture_journey, sign_captured
from traceability.anchoring.feeder import EventFeeder
from traceability.anchoring.proofs import ChainIdentity, LedgerEvidence, bundle_proofs
from traceability.records.store import RecordStore

pytestmark = pytest.mark.integration
OWNER = "site:test"


def _signature(checks: tuple[Check, ...]) -> Check:
    (check,) = [c for c in checks if c.name == "bundle signature"]
    return check


def test_a_rotation_then_an_export_verifies_against_the_trust_document(
    stocked: RecordStore, tmp_path: Path
) -> None:
    keys = KeyStore.open(tmp_path / "keys", "a long enough test passphrase")
    signer = keys.signer(OWNER, datetime.now(UTC))
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    capture_journey(stocked)
    sign_captured(stocked, ledger, signer)
    sign_master(stocked, ledger, signer)
    feeder = EventFeeder(stocked, ledger)
    feeder.sync()
    AnchorWorker(ledger, sender, "w-test").step(flush=True)
    feeder.sync()

    def renew() -> Signer:
        return keys.signer(OWNER, datetime.now(UTC))

    renewing = LedgerEvidence(stocked, ledger, signer, renew_signer=renew)
    held = LedgerEvidence(stocked, ledger, signer)  # what the hub wired before
    # `tracehub ledger rotate-key`, in another process: the keystore and the ledger.
    moment = datetime.now(UTC)
    new = keys.rotate(OWNER, moment)
    ledger.close_key(signer.key_id, moment)

    reader = ChainReader(w3)
    published = trust_document("test", None, keys.public_keys(), reader.chain_id(), address)
    trust = anchors_from_document(published, "the site's trust document")

    bundle = renewing.bundle(GTIN, "L1")
    assert bundle is not None
    assert bundle["manifest"]["signature"]["key_id"] == new.key_id
    report = verify_bundle(bundle, reader, trust)
    assert report.verdict is Verdict.VERIFIED, report.failures
    assert _signature(report.checks).outcome is Outcome.OK

    stale = held.bundle(GTIN, "L1")  # the held key signs after its period: refused
    assert stale is not None
    assert stale["manifest"]["signature"]["key_id"] == signer.key_id
    check = _signature(verify_bundle(stale, reader, trust).checks)
    assert check.outcome is Outcome.FAIL
    assert "outside key" in check.detail
    ledger.close()


def test_a_current_key_is_not_reloaded(stocked: RecordStore, tmp_path: Path) -> None:
    signer = Signer.generate(OWNER, datetime(2026, 1, 1, tzinfo=UTC))
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    capture_journey(stocked)
    sign_captured(stocked, ledger, signer)
    calls: list[int] = []

    def renew() -> Signer:
        calls.append(1)
        return signer

    evidence = LedgerEvidence(stocked, ledger, signer, renew_signer=renew)
    bundle = evidence.bundle(GTIN, "L1")
    assert bundle is not None
    assert bundle["manifest"]["signature"]["key_id"] == signer.key_id
    assert calls == []
    ledger.close()


def _bundle(anchor: dict[str, object]) -> dict[str, object]:
    """A bundle of one batch of one item, its anchor as given."""
    return {
        "batches": [{"id": 1, "root": "ab" * 32, "size": 1, "anchor": anchor}],
        "items": [
            {"batch": 1, "entry": {"kind": "epcis-event"}, "leaf_hash": "cd" * 32,
             "leaf_index": 0, "proof": []},
        ],
    }  # fmt: skip


def test_an_anchor_on_another_chain_is_never_shown_as_on_chain() -> None:
    # A restarted hub on a reset chain audits its batches only once the anchoring lease
    # is its own; the page judges each anchor against the chain it is on now meanwhile.
    here = ChainIdentity(chain_id=31337, genesis_hash="0x" + "11" * 32)
    anchor = {
        "status": "confirmed",
        "chain_id": 31337,
        "genesis_hash": "0x" + "22" * 32,
        "contract": "0x" + "00" * 20,
        "tx_hash": "0x" + "33" * 32,
        "block_number": 4,
    }
    reset = bundle_proofs(_bundle(anchor), here=here)
    assert (reset.anchored, reset.orphaned) == (0, 1)
    assert bundle_proofs(_bundle(anchor)).anchored == 1  # without knowing the chain: the record
    same = bundle_proofs(_bundle({**anchor, "genesis_hash": here.genesis_hash}), here=here)
    assert (same.anchored, same.orphaned) == (1, 0)
    older = bundle_proofs(_bundle({**anchor, "genesis_hash": None}), here=here)
    assert older.anchored == 1  # recorded before genesis hashes were: judged by chain id
    other_id = bundle_proofs(_bundle({**anchor, "chain_id": 1, "genesis_hash": None}), here=here)
    assert other_id.orphaned == 1
