"""The chain batch roots are anchored on (embedded EVM or JSON-RPC node), and the
worker that anchors on it.

``connect_chain`` connects and, where needed, deploys the anchor contract: the hub
calls it from ``Hub.open()``, never at construction.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from web3 import Web3

from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3, rpc_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.fees import GWEI, FeePolicy
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy
from tracehub.keys import open_keystore
from tracehub.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_FUNDING_WEI = 10 * 10**18


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
    name for the ledger's lease (several hubs may share one ledger)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    policy = BatchPolicy(
        max_leaves=settings.chain.max_batch,
        max_age_s=settings.chain.anchor_interval_s,
        confirmations=settings.ledger.confirmations,
        lease_ttl_s=settings.ledger.lease_ttl_s,
    )
    return AnchorWorker(ledger, chain.anchorer, holder, policy)


def connect_chain(settings: Settings, keys: KeyStore | None = None) -> Chain:
    """The embedded EVM (a new anchor contract each run) or a JSON-RPC node.

    Anchors are always signed locally by the anchoring account: the key in
    ``TRACEHUB_CHAIN_PRIVATE_KEY`` if set (development), else the keystore's
    encrypted account key (generated on first run). On the embedded EVM that
    account is funded and allowed to anchor by the deployer. On a JSON-RPC node the
    deployed contract's address is remembered in the state folder, so a restarted
    hub keeps anchoring into the same contract.
    """
    cfg = settings.chain
    keys = keys or open_keystore(settings)
    key = cfg.private_key.get_secret_value() if cfg.private_key else keys.account_key()
    fees = fee_policy(settings)
    if cfg.rpc_url is None:
        w3 = embedded_web3()
        address = deploy_anchor_contract(w3)
        sender = AnchorSender(w3, address, key, fees)
        fund_account(w3, sender.sender, EMBEDDED_FUNDING_WEI)
        AnchorContract(w3, address).set_anchorer(sender.sender, True)
        return Chain(w3, sender, "embedded EVM", True)
    w3 = rpc_web3(cfg.rpc_url)
    address = cfg.contract or _remembered_contract(settings, w3, key)
    return Chain(w3, AnchorSender(w3, address, key, fees), "EVM (JSON-RPC)", False)


def _remembered_contract(settings: Settings, w3: Web3, key: str | None) -> str:
    path = settings.hub.state_dir / "anchor-contract.json"
    chain_id = int(w3.eth.chain_id)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("chain_id") == chain_id and w3.eth.get_code(saved["address"]):
            return str(saved["address"])
    address = deploy_anchor_contract(w3, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"chain_id": chain_id, "address": address}) + "\n")
    log.info("deployed anchor contract %s on chain %s", address, chain_id)
    return address
