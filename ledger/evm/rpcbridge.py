"""A read-only JSON-RPC view of an in-process chain, for other processes.

The embedded EVM lives inside the hub process; ``tracehub verify`` in another
shell reads it through the hub's HTTP ``/rpc`` route, which hands each request
body to ``handle_jsonrpc``. Only the reads ``tracehub verify`` (``ledger.evm.reader``)
and a plain web3 client make are allowed, so the bridge can never move funds or anchor
anything. Every call runs pure-Python EVM code under the chain's one lock, so the work
is bounded: ``eth_call`` gets at most ``gas_cap`` gas (the anchor contract's reads
need ~36,000; an ``eth_call`` without ``gas`` would otherwise get the block's 30M, ~9 s
of py-evm), ``eth_getLogs`` spans at most ``MAX_LOG_BLOCKS`` blocks, and a batch has
at most ``max_batch`` calls. Gas estimation is not offered (it runs a call many times,
and only senders of transactions need it).

Results are turned back into JSON-RPC wire form (quantities as ``0x`` hex,
byte strings as ``0x`` hex), so any client — web3.py, ethers, curl — can read
them. A notification (a request without ``id``) is answered like any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ledger.evm.contract import raw_request

if TYPE_CHECKING:
    from web3 import Web3

JSONRPC_VERSION = "2.0"
INVALID_REQUEST = -32600
METHOD_NOT_ALLOWED = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

ALLOWED_METHODS = frozenset(
    {
        # what ledger.evm.reader / AnchorContract read for `tracehub verify`
        "eth_chainId",
        "eth_call",
        "eth_getCode",
        "eth_getBlockByNumber",
        "eth_getLogs",
        # what a client checking a receipt by hand reads
        "net_version",
        "eth_blockNumber",
        "eth_getBlockByHash",
        "eth_getTransactionReceipt",
    }
)
# The anchor contract's reads (anchorOf, isAnchorer) use ~36,000 gas with the 21,000
# of the call itself; ten times that, so a loop contract runs ~0.1 s at most.
DEFAULT_GAS_CAP = 400_000
DEFAULT_MAX_BATCH = 50
MAX_LOG_BLOCKS = 10_000
_REFUSALS = frozenset({INVALID_REQUEST, METHOD_NOT_ALLOWED, INVALID_PARAMS})
_LOGS_BLOOM_BYTES = 256
_NOT_WIRE_FIELDS = frozenset({"state_root"})  # eth-tester extras no JSON-RPC node sends


def handle_jsonrpc(
    w3: Web3,
    request: Mapping[str, Any] | list[Any],
    *,
    gas_cap: int = DEFAULT_GAS_CAP,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer one JSON-RPC 2.0 request or a batch, reading from ``w3``'s chain."""
    if isinstance(request, list):
        if not request:
            return _error(None, INVALID_REQUEST, "invalid request: the batch is empty")
        if len(request) > max_batch:
            return _error(
                None,
                INVALID_REQUEST,
                f"invalid request: a batch of {len(request)} calls; the limit is {max_batch}",
            )
        return [_handle_one(w3, item, gas_cap) for item in request]
    return _handle_one(w3, request, gas_cap)


def is_refusal(reply: Mapping[str, Any]) -> bool:
    """Whether ``reply`` refuses the request itself (malformed, not allowed, over a
    limit) rather than reporting what the chain answered (a revert, a node error)."""
    error = reply.get("error")
    return isinstance(error, Mapping) and error.get("code") in _REFUSALS


def _bounded(method: str, params: list[Any], w3: Web3, gas_cap: int) -> list[Any] | str:
    """``params`` with the call's work bounded, or why they are refused."""
    if method == "eth_call":
        if not params or not isinstance(params[0], Mapping):
            return 'invalid params: eth_call takes [{"to": …, "data": …}, block]'
        call = dict(params[0])
        gas = _quantity(call.get("gas", hex(gas_cap)))
        if gas is None:
            return 'invalid params: "gas" must be a 0x-hex quantity'
        if gas > gas_cap:
            return f"invalid params: gas {gas} is above this bridge's cap of {gas_cap}; send less"
        call["gas"] = hex(gas)
        return [call, *params[1:]]
    if method == "eth_getLogs":
        if not params or not isinstance(params[0], Mapping):
            return 'invalid params: eth_getLogs takes [{"fromBlock": …, "toBlock": …}]'
        query = params[0]
        if "blockHash" in query:
            return params
        latest = int(w3.eth.block_number)
        start = _block(query.get("fromBlock", "latest"), latest)
        end = _block(query.get("toBlock", "latest"), latest)
        if start is None or end is None:
            return "invalid params: fromBlock/toBlock must be 0x-hex numbers or tags"
        if end - start >= MAX_LOG_BLOCKS:
            return (
                f"invalid params: logs of {end - start + 1} blocks; the limit is "
                f"{MAX_LOG_BLOCKS} per call: ask for a smaller range"
            )
    return params


def _quantity(value: Any) -> int | None:
    # At most 64 hex digits: a uint256; int() of a longer string is wasted work.
    if not isinstance(value, str) or not value.startswith("0x") or not 2 < len(value) <= 66:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _block(value: Any, latest: int) -> int | None:
    if value in ("latest", "pending", "safe", "finalized"):
        return latest
    if value == "earliest":
        return 0
    return _quantity(value)


def _handle_one(w3: Web3, request: Any, gas_cap: int) -> dict[str, Any]:
    if not isinstance(request, Mapping):
        return _error(None, INVALID_REQUEST, "invalid request: expected a JSON object")
    request_id = request.get("id")
    if request.get("jsonrpc") != JSONRPC_VERSION:
        return _error(request_id, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
    method = request.get("method")
    if not isinstance(method, str):
        return _error(request_id, INVALID_REQUEST, 'invalid request: "method" must be a string')
    if method not in ALLOWED_METHODS:
        return _error(request_id, METHOD_NOT_ALLOWED, "method not allowed")
    params = request.get("params", [])
    if not isinstance(params, list):
        return _error(request_id, INVALID_PARAMS, 'invalid params: "params" must be an array')
    try:
        bounded = _bounded(method, params, w3, gas_cap)
        if isinstance(bounded, str):
            return _error(request_id, INVALID_PARAMS, bounded)
        response = raw_request(w3, method, bounded)
    except Exception as exc:
        # Whatever the node or eth-tester raised, the caller gets a JSON-RPC error,
        # and the web route serving the bridge keeps running.
        return _error(request_id, INTERNAL_ERROR, f"{method} failed: {exc}")
    if "error" in response:
        error = dict(response["error"])
        if "data" in error:
            error["data"] = _to_wire(error["data"])
        return {"jsonrpc": JSONRPC_VERSION, "id": request_id, "error": error}
    return {"jsonrpc": JSONRPC_VERSION, "id": request_id, "result": _to_wire(response["result"])}


def _to_wire(value: Any, key: str = "") -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if key == "logsBloom":
            return "0x" + value.to_bytes(_LOGS_BLOOM_BYTES, "big").hex()
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: _to_wire(v, k) for k, v in value.items() if k not in _NOT_WIRE_FIELDS}
    if isinstance(value, list | tuple):
        return [_to_wire(v, key) for v in value]
    return str(value)


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC_VERSION, "id": request_id, "error": error}
