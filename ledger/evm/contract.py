"""The web3 adapter: the anchor contract on an embedded EVM or any JSON-RPC node.

This is the only module that imports web3; every web3, requests and
eth-tester exception is translated here into ``ledger.errors``.

Thread safety: py-evm is not thread-safe, and the hub anchors from one thread
while the web server reads the chain from another. ``embedded_web3()`` therefore
returns a Web3 whose provider holds a re-entrant lock around every request
(``_LockedEthereumTesterProvider``), so any code sharing that Web3 — an
``AnchorContract``, the JSON-RPC bridge, a direct ``w3.eth`` call — is
serialised at the one point where it touches the EVM. ``AnchorContract`` also
serialises its own owner transactions, so two threads never race for a nonce.
Anchors themselves are sent by ``ledger.evm.sender.AnchorSender`` (the worker's
``AnchorChain``), the one anchoring path.
"""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3Exception,
    Web3RPCError,
)
from web3.middleware import combine_middleware
from web3.types import RPCEndpoint, RPCResponse, TxParams, TxReceipt, Wei

from ledger.anchor import Located, OnChainAnchor
from ledger.errors import AnchorRejected, ChainError, ChainUnavailable

ARTIFACT = Path(__file__).resolve().parent / "contracts" / "TracehubAnchor.json"
RECEIPT_POLL_LATENCY = 0.005  # seconds; web3's 0.1 s default adds ~100 ms per tx on anvil
RECEIPT_TIMEOUT = 30.0
RPC_REQUEST_TIMEOUT = 10.0
EXECUTION_REVERTED = 3  # the JSON-RPC error code geth and anvil use for a revert

T = TypeVar("T")
_ANCHORED_TOPIC = "0x" + keccak(text="Anchored(bytes32,uint64,bytes32,address)").hex()


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


class _LockedEthereumTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider whose requests are serialised (py-evm is not thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self.lock:
            return super().make_request(method, params)


def embedded_web3() -> Web3:
    """A fresh in-process EVM (py-evm via eth-tester), safe to share between threads."""
    return Web3(_LockedEthereumTesterProvider())


def rpc_web3(url: str, timeout: float = RPC_REQUEST_TIMEOUT) -> Web3:
    """A Web3 talking JSON-RPC over HTTP to ``url`` (anvil, a testnet, an L2 …).

    Retries are off: a dead node should surface at once as ``ChainUnavailable``,
    and the anchoring worker decides when to try again.
    """
    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    return Web3(provider)


@cache
def load_artifact() -> dict[str, Any]:
    """The committed solc artifact of TracehubAnchor (abi, bytecode, settings)."""
    artifact: dict[str, Any] = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    return artifact


def deploy_anchor_contract(w3: Web3, private_key: str | None = None) -> str:
    """Deploy TracehubAnchor; return its checksum address.

    ``private_key`` None sends from the node's first unlocked account (the
    embedded EVM); otherwise the transaction is signed locally with that key.
    The deployer becomes the owner and the first allowed anchorer.
    """
    if private_key is not None:
        _check_private_key(private_key)
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = _guard(lambda: _send(w3, factory.constructor(), private_key), "deploy")
    address = receipt["contractAddress"]
    if address is None:
        raise ChainError("deployment receipt carries no contract address")
    return str(address)


class AnchorContract:
    """A deployed TracehubAnchor contract: look roots up, manage who may anchor."""

    def __init__(self, w3: Web3, address: str, private_key: str | None = None) -> None:
        """Bind to the contract at ``address``.

        Owner transactions (``set_anchorer``) are signed locally with ``private_key``
        when given; otherwise they are sent from the node's first unlocked account
        (the embedded EVM's deployer).
        """
        if not Web3.is_address(address):
            raise ChainError(f"address {address!r} is not an EVM address: pass the deployed one")
        if private_key is not None:
            _check_private_key(private_key)
        self._w3 = w3
        self._private_key = private_key
        self._lock = threading.Lock()
        artifact = load_artifact()
        self.contract: str = Web3.to_checksum_address(address)
        self._contract: Contract = w3.eth.contract(address=self.contract, abi=artifact["abi"])
        self._errors = _error_table(artifact["abi"])
        self.chain_id: int = _guard(lambda: int(w3.eth.chain_id), "read chain id")
        self.genesis_hash: str | None = genesis_hash(w3)

    def lookup(self, root: bytes) -> OnChainAnchor | None:
        """What the contract recorded for ``root``; None when it was never anchored."""
        _require_bytes32(root, "root")
        size, metadata, block_number, timestamp, anchorer = self._guard(
            lambda: self._contract.functions.anchorOf(root).call(), "lookup"
        )
        if size == 0:
            return None
        return OnChainAnchor(
            root=root,
            size=size,
            metadata=bytes(metadata),
            block_number=block_number,
            timestamp=timestamp,
            anchorer=Web3.to_checksum_address(anchorer),
        )

    def locate(self, root: bytes) -> Located | None:
        """Where ``root`` is anchored on the chain as it is now (None: not anchored)."""
        found = self.lookup(root)
        if found is None:
            return None
        number = found.block_number
        block = self._guard(lambda: self._w3.eth.get_block(number), "read block")
        logs = self._guard(
            lambda: self._w3.eth.get_logs(
                {
                    "address": Web3.to_checksum_address(self.contract),
                    "fromBlock": number,
                    "toBlock": number,
                    "topics": [_ANCHORED_TOPIC, _hex(root)],
                }
            ),
            "read logs",
        )
        return Located(
            tx_hash=_hex(logs[0]["transactionHash"]) if logs else None,
            block_number=number,
            block_hash=_hex(block["hash"]),
            block_time=datetime.fromtimestamp(int(block["timestamp"]), UTC),
        )

    def has_code(self, address: str) -> bool:
        """Whether a contract is deployed at ``address`` (a reset chain has none)."""
        checksum = Web3.to_checksum_address(address)
        return bool(self._guard(lambda: self._w3.eth.get_code(checksum), "read code"))

    def set_anchorer(self, account: str, allowed: bool) -> None:
        """Allow or deny ``account`` to anchor (only the owner may)."""
        call = self._contract.functions.setAnchorer(Web3.to_checksum_address(account), allowed)
        with self._lock:
            self._guard(lambda: _send(self._w3, call, self._private_key), "set anchorer")

    def is_anchorer(self, account: str) -> bool:
        """Whether ``account`` may anchor."""
        checksum = Web3.to_checksum_address(account)
        return bool(
            self._guard(lambda: self._contract.functions.isAnchorer(checksum).call(), "read")
        )

    def _guard(self, action: Callable[[], T], what: str) -> T:
        return _guard(action, what, self._errors)


def genesis_hash(w3: Web3) -> str:
    """The hash of block 0: a chain's identity (a reset or replaced chain has another)."""
    block = _guard(lambda: w3.eth.get_block(0), "read the genesis block")
    return _hex(block["hash"])


def raw_request(w3: Web3, method: str, params: list[Any]) -> dict[str, Any]:
    """Send one wire-format JSON-RPC request to ``w3``'s node, bypassing web3's formatters.

    For the embedded EVM the request passes only the provider's own middleware
    (wire ↔ eth-tester translation), not the user-facing ones (ENS names, result
    formatting), so it behaves like a plain JSON-RPC node. A revert comes back
    as the error geth and anvil send: code 3, "execution reverted", the data.
    """
    provider = w3.provider
    if isinstance(provider, EthereumTesterProvider):
        send = combine_middleware(
            middleware=provider._middleware,
            w3=w3,
            provider_request_fn=provider.make_request,
        )
    else:
        send = provider.make_request
    try:
        response = send(RPCEndpoint(method), params)
    except TransactionFailed as exc:
        data = revert_data(exc)
        error: dict[str, Any] = {"code": EXECUTION_REVERTED, "message": "execution reverted"}
        if data is not None:
            error["data"] = "0x" + data.hex()
        return {"error": error}
    return dict(response)


def _send(w3: Web3, call: Any, private_key: str | None) -> TxReceipt:
    if private_key is None:
        tx_hash = call.transact({"from": w3.eth.accounts[0]})
    else:
        account = Account.from_key(private_key)
        latest = w3.eth.get_block("latest")
        priority = w3.eth.max_priority_fee
        params: TxParams = {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
            "maxPriorityFeePerGas": priority,
            # Room for the base fee to double before the tx stops being includable.
            "maxFeePerGas": Wei(2 * int(latest.get("baseFeePerGas", 0)) + priority),
        }
        tx = call.build_transaction(params)
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(
        tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=RECEIPT_POLL_LATENCY
    )


def _check_private_key(private_key: str) -> None:
    try:
        Account.from_key(private_key)
    except (ValueError, TypeError) as exc:
        raise ChainError(
            "private_key is not a valid secp256k1 key: pass 32 bytes as 0x-prefixed hex"
        ) from exc


def _require_bytes32(value: bytes, field: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise AnchorRejected(f"{field} must be 32 bytes (a SHA-256 digest)")


# Contract custom errors → the reason callers see (and can match on).
_REASONS: dict[str, Callable[[tuple[Any, ...]], str]] = {
    "ZeroRoot": lambda _: "root is zero: anchor the Merkle root of a non-empty batch",
    "ZeroSize": lambda _: "size is zero: a batch has at least one leaf",
    "AlreadyAnchored": lambda a: f"root already anchored: 0x{bytes(a[0]).hex()}",
    "NotAnchorer": lambda a: (
        f"account {Web3.to_checksum_address(a[0])} is not an allowed anchorer: "
        "ask the contract owner to call setAnchorer"
    ),
    "NotOwner": lambda a: f"account {Web3.to_checksum_address(a[0])} is not the contract owner",
}


def _error_table(abi: list[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {}
    for item in abi:
        if item.get("type") == "error":
            types = [i["type"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            table[selector] = (item["name"], types)
    return table


def _guard(
    action: Callable[[], T],
    what: str,
    errors: dict[bytes, tuple[str, list[str]]] | None = None,
) -> T:
    errors = errors if errors is not None else _error_table(load_artifact()["abi"])
    try:
        return action()
    except (requests.ConnectionError, requests.Timeout, ProviderConnectionError) as exc:
        raise ChainUnavailable(f"{what}: the chain node cannot be reached ({exc})") from exc
    except TimeExhausted as exc:
        raise ChainUnavailable(f"{what}: no receipt within {RECEIPT_TIMEOUT:.0f}s") from exc
    except ContractLogicError as exc:
        raise AnchorRejected(_revert_reason(exc, errors)) from exc
    except TransactionFailed as exc:
        # The embedded EVM reports reverts with eth-tester's own exception, not web3's.
        raise AnchorRejected(_revert_reason(exc, errors)) from exc
    except (Web3RPCError, Web3Exception, requests.RequestException) as exc:
        raise ChainError(f"{what} failed: {exc}") from exc


def _revert_reason(exc: BaseException, errors: dict[bytes, tuple[str, list[str]]]) -> str:
    for data in _revert_payloads(exc):
        entry = errors.get(data[:4])
        if entry is not None:
            name, types = entry
            args = tuple(abi_decode(types, data[4:])) if types else ()
            explain = _REASONS.get(name)
            return explain(args) if explain else f"contract reverted with {name}{args}"
    return f"contract reverted: {exc}"


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data (selector + ABI-encoded args) behind a revert, if any."""
    return next(_revert_payloads(exc), None)


def _revert_payloads(exc: BaseException) -> Iterator[bytes]:
    """Candidate revert data carried by ``exc`` or the exceptions it wraps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        data = getattr(current, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            yield bytes.fromhex(data[2:])
        for arg in current.args:
            if isinstance(arg, bytes):
                yield arg
            elif isinstance(arg, BaseException) and arg.args and isinstance(arg.args[0], bytes):
                yield arg.args[0]
            elif isinstance(arg, str) and arg.startswith("execution reverted: b"):
                # eth-tester re-raises custom-error data as the repr of the bytes.
                literal = ast.literal_eval(arg.removeprefix("execution reverted: "))
                if isinstance(literal, bytes):
                    yield literal
        current = current.__cause__ or current.__context__
