"""Anchoring + verification against real chains through ledger.chain: the embedded
EVM (py-evm via EthereumTesterProvider) and an anvil JSON-RPC node."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger.chain import AnchorContract, deploy_anchor_contract, embedded_web3, rpc_web3
from ledger.errors import AnchorRejected
from ledger.merkle import merkle_root
from traceability.anchoring import UNKNOWN_TX_HASH, AnchoringService, batch_metadata, event_leaf
from traceability.capture import CaptureService
from traceability.records import RecordStore
from traceability.verification import verify_lot
from tracehub.services import Anvil

from .events import GTIN, object_event

pytestmark = pytest.mark.integration


def capture_lot(store: RecordStore) -> list[str]:
    service = CaptureService(store)
    return [
        service.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(["1001", "1002", "1003"])
    ]


@pytest.fixture
def embedded_contract() -> AnchorContract:
    """A fresh chain per test: the same events make the same root, anchorable once."""
    w3 = embedded_web3()
    return AnchorContract(w3, deploy_anchor_contract(w3))


def test_anchor_and_verify_on_the_embedded_evm(
    stocked: RecordStore, embedded_contract: AnchorContract
) -> None:
    ids = capture_lot(stocked)
    summary = AnchoringService(stocked, embedded_contract).anchor_pending()
    assert summary is not None
    assert not summary.recovered
    assert summary.tx_hash.startswith("0x")
    assert summary.tx_hash != UNKNOWN_TX_HASH
    assert summary.contract == embedded_contract.contract
    on_chain = embedded_contract.lookup(summary.root)
    assert on_chain is not None
    assert on_chain.size == 3

    report = verify_lot(stocked, GTIN, "L1", embedded_contract.lookup)
    assert report.ok, report.failures

    with stocked._engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE events SET body = replace(body, 'OBSERVE', 'ADD') WHERE id = :id"),
            {"id": ids[1]},
        )
    tampered = verify_lot(stocked, GTIN, "L1", embedded_contract.lookup)
    assert {(c.name, c.event_id) for c in tampered.failures} == {
        ("leaf", ids[1]),
        ("inclusion", ids[1]),
    }


def test_crash_between_anchor_and_record_is_recovered(
    stocked: RecordStore, embedded_contract: AnchorContract
) -> None:
    capture_lot(stocked)
    pending = stocked.pending_events(limit=10)
    root = merkle_root([event_leaf(e) for e in pending])
    first = embedded_contract.anchor(root, len(pending), batch_metadata(pending))
    with pytest.raises(AnchorRejected):  # the real contract refuses a repeated root
        embedded_contract.anchor(root, len(pending), batch_metadata(pending))
    summary = AnchoringService(stocked, embedded_contract).anchor_pending()
    assert summary is not None
    assert summary.recovered
    assert summary.block_number == first.block_number
    assert verify_lot(stocked, GTIN, "L1", embedded_contract.lookup).ok


def test_anchor_and_verify_on_anvil(stocked: RecordStore, anvil: Anvil) -> None:
    w3 = rpc_web3(anvil.url)
    contract = AnchorContract(w3, deploy_anchor_contract(w3, anvil.private_key), anvil.private_key)
    assert contract.chain_id == anvil.chain_id
    capture_lot(stocked)
    summary = AnchoringService(stocked, contract).anchor_pending()
    assert summary is not None
    assert summary.chain_id == anvil.chain_id
    assert verify_lot(stocked, GTIN, "L1", contract.lookup).ok
