"""A read-only JSON-RPC view of an in-process chain, for other processes.

The embedded EVM lives inside the hub process; ``tracehub verify`` in another
shell reads it through the hub's HTTP ``/rpc`` route, which hands each request
body to ``handle_jsonrpc``. Only methods that read chain state are allowed, so
the bridge can never move funds or anchor anything.

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
        "web3_clientVersion",
        "net_version",
        "eth_chainId",
        "eth_blockNumber",
        "eth_call",
        "eth_estimateGas",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "eth_getBalance",
        "eth_getCode",
        "eth_getStorageAt",
        "eth_getTransactionCount",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_getLogs",
    }
)
_LOGS_BLOOM_BYTES = 256
_NOT_WIRE_FIELDS = frozenset({"state_root"})  # eth-tester extras no JSON-RPC node sends


def handle_jsonrpc(
    w3: Web3, request: Mapping[str, Any] | list[Any]
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer one JSON-RPC 2.0 request or a batch, reading from ``w3``'s chain."""
    if isinstance(request, list):
        if not request:
            return _error(None, INVALID_REQUEST, "invalid request: the batch is empty")
        return [_handle_one(w3, item) for item in request]
    return _handle_one(w3, request)


def _handle_one(w3: Web3, request: Any) -> dict[str, Any]:
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
        response = raw_request(w3, method, params)
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
