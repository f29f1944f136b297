""" "This chain is not the one the batch was anchored on" is its own verdict, told
apart from tampering: another genesis, another chain id, no contract (a reset chain),
and an anchor the exporting hub found orphaned. A root missing from the right chain
stays tampering."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from ledger.anchor import Located
from ledger.evidence import build_bundle
from ledger.evm.contract import embedded_web3
from ledger.evm.reader import ChainReader
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.report import Outcome, Verdict
from ledger.verify.trust import TrustAnchors, from_keys
from ledger.verify.verifier import verify_bundle
from ledger.worker import AnchorWorker
from tests.ledger.conftest import T0, Embedded

RECORDS = {f"r{i}": {"n": i} for i in range(3)}


@pytest.fixture
def bundle(ledger: LedgerStore, signer: Signer, embedded: Embedded) -> dict[str, Any]:
    for i, (rid, record) in enumerate(RECORDS.items()):
        ledger.submit("test-record", rid, record, ["lot:A"], signer, T0 + timedelta(seconds=i))
    AnchorWorker(ledger, embedded.sender, "w").step(flush=True)
    # Unsigned: these tests edit the anchor section as an exporting hub would write it.
    return build_bundle(
        ledger, {"lot": "A"}, ["lot:A"], lambda k, r: copy.deepcopy(RECORDS[r]), None, T0
    )


@pytest.fixture
def trust(signer: Signer, embedded: Embedded) -> TrustAnchors:
    return from_keys([signer.public], "test trust", [(None, embedded.address)])


class Seen(ChainReader):
    """The real chain, with one thing about it changed as a reset or a swap would."""

    def __init__(self, embedded: Embedded, **changes: Any) -> None:
        super().__init__(embedded.w3)
        self._changes = changes

    def chain_id(self) -> int:
        return int(self._changes.get("chain_id", super().chain_id()))

    def genesis_hash(self) -> str:
        return str(self._changes.get("genesis_hash", super().genesis_hash()))

    def locate(self, contract: str, root: bytes) -> Located | None:
        return None if self._changes.get("root_gone") else super().locate(contract, root)


def _other(report: Any) -> list[str]:
    return [c.detail for c in report.checks if c.outcome is Outcome.OTHER_CHAIN]


def test_the_right_chain_verifies(
    bundle: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    assert bundle["batches"][0]["anchor"]["genesis_hash"] == embedded.sender.genesis_hash
    report = verify_bundle(bundle, Seen(embedded), trust)
    assert report.verdict is Verdict.VERIFIED, report.failures


def test_another_genesis_is_another_chain_not_tampering(
    bundle: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    report = verify_bundle(bundle, Seen(embedded, genesis_hash="0x" + "ab" * 32), trust)
    assert report.verdict is Verdict.OTHER_CHAIN
    assert int(report.verdict) == 5  # its own exit code
    (detail,) = _other(report)
    assert "not the one the batch was anchored on" in detail
    assert "0x" + "ab" * 32 in detail
    assert str(embedded.sender.genesis_hash) in detail


def test_another_chain_id_is_another_chain(
    bundle: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    report = verify_bundle(bundle, Seen(embedded, chain_id=1), trust)
    assert report.verdict is Verdict.OTHER_CHAIN
    assert "the node is chain 1" in _other(report)[0]


def test_a_chain_without_the_contract_was_reset(
    bundle: dict[str, Any], trust: TrustAnchors
) -> None:
    """A fresh chain: same chain id, nothing deployed (genesis may even match)."""
    report = verify_bundle(bundle, ChainReader(embedded_web3()), trust)
    assert report.verdict is Verdict.OTHER_CHAIN
    assert _other(report)


def test_a_root_absent_from_the_right_chain_is_tampering(
    bundle: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    report = verify_bundle(bundle, Seen(embedded, root_gone=True), trust)
    assert report.verdict is Verdict.TAMPERED
    assert not _other(report)
    assert any("is not anchored in" in c.detail for c in report.failures)


def test_an_orphaned_anchor_is_another_chain_offline_and_checked_online(
    bundle: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    bundle["batches"][0]["anchor"]["status"] = "orphaned"
    offline = verify_bundle(bundle, None, trust)
    assert offline.verdict is Verdict.OTHER_CHAIN
    assert "no longer is" in _other(offline)[0]
    # An auditor who has the chain it was anchored on can still check it there.
    online = verify_bundle(bundle, Seen(embedded), trust)
    assert online.verdict is Verdict.VERIFIED, online.failures
