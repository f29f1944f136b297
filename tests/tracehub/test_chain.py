"""Connecting the chain: the embedded EVM, and a JSON-RPC node's remembered contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tracehub.conftest import MakeSettings
from tracehub.chain import connect_chain, fee_policy
from tracehub.services import Anvil
from tracehub.settings import ChainSettings, LedgerSettings


def test_embedded_chain_has_a_funded_allowed_anchoring_account(
    make_settings: MakeSettings,
) -> None:
    chain = connect_chain(make_settings())
    assert (chain.name, chain.embedded) == ("embedded EVM", True)
    assert chain.anchorer.is_anchorer(chain.anchorer.sender)
    assert chain.anchorer.balance() > 0


def test_fee_policy_comes_from_the_ledger_settings(make_settings: MakeSettings) -> None:
    ledger = LedgerSettings(max_fee_gwei=2.5, gas_limit_ceiling=99_000)
    policy = fee_policy(make_settings(ledger=ledger))
    assert (policy.max_fee_per_gas, policy.gas_limit_ceiling) == (2_500_000_000, 99_000)


@pytest.mark.integration
def test_a_restarted_hub_anchors_into_the_same_contract(
    make_settings: MakeSettings, tmp_path: Path, anvil: Anvil
) -> None:
    settings = make_settings(chain=ChainSettings(rpc_url=anvil.url, private_key=anvil.private_key))
    first = connect_chain(settings)
    assert (first.name, first.embedded) == ("EVM (JSON-RPC)", False)
    assert (tmp_path / "state" / "anchor-contract.json").exists()
    assert connect_chain(settings).anchorer.contract == first.anchorer.contract
