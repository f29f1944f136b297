"""Connecting the chain: the embedded EVM, a JSON-RPC node's remembered contract, and
the anvil ``tracehub run`` spawns, whose chain outlives the hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ledger.store.sqlstore import LedgerStore
from tests.tracehub.conftest import MakeSettings
from tracehub.chain import anchor_worker, connect_chain, fee_policy
from tracehub.localstack import local_rpc_url, start_local_services
from tracehub.services import Anvil
from tracehub.settings import ChainSettings, LedgerSettings


def test_embedded_chain_has_a_funded_allowed_anchoring_account(
    make_settings: MakeSettings,
) -> None:
    chain = connect_chain(make_settings())
    assert (chain.name, chain.embedded) == ("embedded EVM (lost when the hub stops)", True)
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


@pytest.mark.integration
def test_a_dev_node_funds_the_keystore_account_and_a_reset_chain_gets_a_new_contract(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    """The anvil `tracehub run` spawns: no private key set, the keystore's account is
    funded by the node; the contract is remembered with the chain's genesis hash, and
    found again after a restart, but not on a reset chain."""
    node = Anvil(tmp_path / "anvil")
    settings = make_settings(chain=ChainSettings(rpc_url=node.url, dev_node=True))
    remembered = tmp_path / "state" / "anchor-contract.json"
    with node:
        first = connect_chain(settings)
        assert first.anchorer.is_anchorer(first.anchorer.sender)
        assert first.anchorer.balance() > 0
        saved = json.loads(remembered.read_text())
        assert saved["genesis_hash"] == first.anchorer.genesis_hash
    with node:  # restarted from its state file: same chain, same contract
        again = connect_chain(settings)
        assert again.anchorer.contract == first.anchorer.contract
        assert again.anchorer.genesis_hash == first.anchorer.genesis_hash
    shutil.rmtree(tmp_path / "anvil")
    with Anvil(tmp_path / "anvil", port=node.port) as reset:
        assert reset.url == node.url
        fresh = connect_chain(settings)  # the contract is gone: deployed anew (a warning)
        # (anvil's genesis is stamped with the second it started: a reset within the
        # same second keeps it, and only the missing contract tells; in the field both do)
        assert json.loads(remembered.read_text())["genesis_hash"] == fresh.anchorer.genesis_hash
        assert fresh.anchorer.is_anchorer(fresh.anchorer.sender)
        assert fresh.anchorer.balance() > 0


@pytest.mark.integration
def test_run_spawns_a_persistent_anvil_and_says_where_it_listens(
    make_settings: MakeSettings, tmp_path: Path, mosquitto: object, influxdb: object
) -> None:
    from contextlib import ExitStack

    from tracehub.settings import InfluxSettings, MqttSettings

    settings = make_settings(
        mqtt=MqttSettings(security="plain", port=1),  # named: not spawned here
        influx=InfluxSettings(url="http://127.0.0.1:1"),
    )
    with ExitStack() as stack:
        resolved = start_local_services(settings, stack, spawn_chain=True)
        assert resolved.chain.dev_node
        assert resolved.chain.rpc_url == local_rpc_url(settings)
        assert (tmp_path / "state" / "chain" / "anvil.pid").exists()
        chain = connect_chain(resolved)
        assert chain.name.startswith("local anvil")
        ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
        stack.callback(ledger.close)
        anchor_worker(resolved, ledger, chain)  # audits an empty ledger: nothing to say
    assert local_rpc_url(settings) is None  # the file goes with the node
    assert (tmp_path / "state" / "chain" / "anvil-state.json").exists()
    with ExitStack() as stack:  # the demo's path keeps the in-process EVM
        assert start_local_services(settings, stack).chain.rpc_url is None
