"""The chain batch roots are anchored on (embedded EVM or JSON-RPC node), and the
worker that anchors on it.

``connect_chain`` connects and, where needed, deploys the anchor contract: the hub
calls it from ``Hub.open()``, never at construction. ``anchor_worker`` (also at
open) checks, before anything runs, that the chain still holds what the ledger says
is confirmed (``ledger.worker.AnchorWorker.audit``): batches anchored on a chain
that is gone are orphaned and logged, so the page stops calling them "on chain".
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from ledger.errors import ChainError
from ledger.evm.contract import (
    AnchorContract,
    deploy_anchor_contract,
    embedded_web3,
    genesis_hash,
    rpc_web3,
)
from ledger.evm.sender import AnchorSender, fund_account
from ledger.fees import GWEI, FeePolicy
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy
from tracehub.keys import open_keystore
from tracehub.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_FUNDING_WEI = 10 * 10**18
CONTRACT_FILE = "anchor-contract.json"


@dataclass(frozen=True)
class Chain:
    """The chain batch roots are anchored on, and how to describe it to people."""

    w3: Web3
    anchorer: AnchorSender
    name: str
    embedded: bool


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(
        max_fee_per_gas=int(settings.ledger.max_fee_gwei * GWEI),
        gas_limit_ceiling=settings.ledger.gas_limit_ceiling,
    )


def anchor_worker(settings: Settings, ledger: LedgerStore, chain: Chain) -> AnchorWorker:
    """The hub's anchoring worker: the batch policy from the settings, a unique holder
    name for the ledger's lease (several hubs may share one ledger). It audits the
    confirmed batches against the chain now, so the hub knows at open which anchors
    its chain no longer holds; if the chain cannot be asked, its first step does."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    policy = BatchPolicy(
        max_leaves=settings.chain.max_batch,
        max_age_s=settings.chain.anchor_interval_s,
        confirmations=settings.ledger.confirmations,
        lease_ttl_s=settings.ledger.lease_ttl_s,
    )
    worker = AnchorWorker(ledger, chain.anchorer, holder, policy)
    try:
        worker.audit()
    except ChainError as exc:
        log.warning("could not check the anchored batches against the chain yet: %s", exc)
    return worker


def connect_chain(settings: Settings, keys: KeyStore | None = None) -> Chain:
    """The embedded EVM (a new anchor contract each run) or a JSON-RPC node.

    Anchors are always signed locally by the anchoring account: the key in
    ``TRACEHUB_CHAIN_PRIVATE_KEY`` if set (development), else the keystore's
    encrypted account key (generated on first run). On the embedded EVM, and on a
    development node (``TRACEHUB_CHAIN_DEV_NODE``: the anvil ``tracehub run``
    spawns), that account is funded and allowed to anchor by the node's unlocked
    account, which deploys the contract. On a JSON-RPC node the deployed contract's
    address is remembered in the state folder with the chain's genesis hash, so a
    restarted hub keeps anchoring into the same contract, and a reset chain gets a
    new one.
    """
    cfg = settings.chain
    keys = keys or open_keystore(settings)
    key = cfg.private_key.get_secret_value() if cfg.private_key else keys.account_key()
    fees = fee_policy(settings)
    if cfg.rpc_url is None:
        w3 = embedded_web3()
        address = deploy_anchor_contract(w3)
        sender = _dev_funded(w3, AnchorSender(w3, address, key, fees))
        return Chain(w3, sender, "embedded EVM (lost when the hub stops)", True)
    w3 = rpc_web3(cfg.rpc_url)
    deployer = None if cfg.dev_node else key
    address = cfg.contract or _remembered_contract(settings, w3, deployer)
    sender = AnchorSender(w3, address, key, fees)
    if cfg.dev_node:
        name = f"local anvil (state in {settings.hub.state_dir / 'chain'})"
        return Chain(w3, _dev_funded(w3, sender), name, False)
    return Chain(w3, sender, "EVM (JSON-RPC)", False)


def _dev_funded(w3: Web3, sender: AnchorSender) -> AnchorSender:
    """Fund the anchoring account and allow it to anchor, from the node's unlocked
    account (the contract's owner): the embedded EVM and development nodes only."""
    if sender.balance() < EMBEDDED_FUNDING_WEI // 2:
        fund_account(w3, sender.sender, EMBEDDED_FUNDING_WEI)
    if not sender.is_anchorer(sender.sender):
        AnchorContract(w3, sender.contract).set_anchorer(sender.sender, True)
    return sender


def contract_file(settings: Settings) -> Path:
    """Where the deployed anchor contract is remembered: beside the ledger keys when
    their folder is named (every instance of a deployment shares it, so all anchor into
    one contract), else in the state folder."""
    if settings.ledger.keys_dir is not None:
        return settings.ledger.keys_dir / CONTRACT_FILE
    return settings.hub.state_dir / CONTRACT_FILE


def _remembered_contract(settings: Settings, w3: Web3, key: str | None) -> str:
    path = contract_file(settings)
    earlier = settings.hub.state_dir / CONTRACT_FILE  # where it was kept before
    if not path.exists() and earlier.exists():
        path = earlier
    chain_id = int(w3.eth.chain_id)
    genesis = genesis_hash(w3)
    if path.exists():
        saved = json.loads(path.read_text())
        same_chain = saved.get("chain_id") == chain_id and saved.get("genesis_hash") in (
            None,  # remembered before the genesis hash was
            genesis,
        )
        if same_chain and w3.eth.get_code(saved["address"]):
            return str(saved["address"])
        log.warning(
            "the anchor contract %s remembered in %s is not on this chain (chain %s, genesis "
            "%s): the chain was reset or replaced; deploying a new one",
            saved.get("address"),
            path,
            chain_id,
            genesis,
        )
    address = deploy_anchor_contract(w3, key)
    path = contract_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"chain_id": chain_id, "genesis_hash": genesis, "address": address}) + "\n"
    )
    log.info("deployed anchor contract %s on chain %s", address, chain_id)
    return address
