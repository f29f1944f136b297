"""The read-only JSON-RPC bridge, served over a real HTTP socket to a real web3 client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account import Account
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3

from ledger.digest import sha256
from ledger.errors import ChainError
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3, rpc_web3
from ledger.evm.rpcbridge import DEFAULT_GAS_CAP, MAX_LOG_BLOCKS, handle_jsonrpc, is_refusal
from ledger.evm.sender import AnchorSender
from tests.ledger.conftest import anchoring_account, send_anchor


@dataclass(frozen=True)
class Bridge:
    hub: Web3  # the in-process embedded chain
    address: ChecksumAddress
    url: str


@pytest.fixture(scope="module")
def bridge() -> Iterator[Bridge]:
    hub = embedded_web3()
    address = Web3.to_checksum_address(deploy_anchor_contract(hub))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reply = json.dumps(handle_jsonrpc(hub, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Bridge(hub, address, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_another_process_view_reads_anchors_through_the_bridge(bridge: Bridge) -> None:
    hub_side = AnchorContract(bridge.hub, bridge.address)
    _, sender = anchoring_account(bridge.hub, hub_side, bridge.address)
    root, metadata = sha256(b"batch-root"), sha256(b"metadata")
    receipt = send_anchor(sender, root, 7, metadata)

    remote = rpc_web3(bridge.url)
    assert remote.eth.chain_id == bridge.hub.eth.chain_id
    assert remote.eth.block_number == bridge.hub.eth.block_number
    reader = AnchorContract(remote, bridge.address)
    found = reader.lookup(root)
    assert found == hub_side.lookup(root)
    assert found is not None
    assert (found.size, found.block_number) == (7, receipt.block_number)
    assert reader.lookup(sha256(b"never anchored")) is None

    tx = remote.eth.get_transaction_receipt(HexStr(receipt.tx_hash))
    assert tx["status"] == 1
    block = remote.eth.get_block(receipt.block_number)
    assert block["hash"] == bridge.hub.eth.get_block(receipt.block_number)["hash"]
    logs = remote.eth.get_logs({"fromBlock": 0, "address": bridge.address})
    assert any(log["topics"][1] == root for log in logs)
    assert remote.eth.get_code(bridge.address) == bridge.hub.eth.get_code(bridge.address)


def test_writes_through_the_bridge_are_refused(bridge: Bridge) -> None:
    remote = rpc_web3(bridge.url)
    # eth-tester's funded account 0 is the key 0x…01; the sender's first step, gas
    # estimation, is refused already (the bridge offers no gas estimation).
    key = "0x" + "00" * 31 + "01"
    assert Account.from_key(key).address == bridge.hub.eth.accounts[0]
    with pytest.raises(ChainError, match="method not allowed"):
        send_anchor(AnchorSender(remote, bridge.address, key), sha256(b"x"), 1, sha256(b"y"))


def test_wire_format_is_plain_json_rpc(bridge: Bridge) -> None:
    reply = handle_jsonrpc(
        bridge.hub,
        {"jsonrpc": "2.0", "id": 9, "method": "eth_getBlockByNumber", "params": ["0x0", False]},
    )
    assert isinstance(reply, dict)
    block = reply["result"]
    assert block["number"] == "0x0"
    assert len(block["logsBloom"]) == 2 + 512
    assert "state_root" not in json.dumps(reply)


def test_revert_comes_back_as_execution_reverted(bridge: Bridge) -> None:
    call = {"to": bridge.address, "data": "0xdeadbeef"}
    reply = handle_jsonrpc(
        bridge.hub, {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}
    )
    assert reply == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": 3, "message": "execution reverted", "data": "0x"},
    }


def test_batch_mixes_answers_and_errors(bridge: Bridge) -> None:
    reply = handle_jsonrpc(
        bridge.hub,
        [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction", "params": ["0x00"]},
            {"jsonrpc": "2.0", "id": 3, "method": "net_version"},
        ],
    )
    assert isinstance(reply, list)
    assert reply[0] == {"jsonrpc": "2.0", "id": 1, "result": hex(bridge.hub.eth.chain_id)}
    assert reply[1]["error"] == {"code": -32601, "message": "method not allowed"}
    assert reply[2]["result"] == bridge.hub.net.version


@pytest.mark.parametrize(
    ("request_body", "code", "message"),
    [
        ([], -32600, "the batch is empty"),
        ("eth_chainId", -32600, "expected a JSON object"),
        ({"id": 1, "method": "eth_chainId"}, -32600, '"jsonrpc" must be "2.0"'),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, -32600, '"method" must be a string'),
        ({"jsonrpc": "2.0", "id": 1, "method": "eth_accounts"}, -32601, "method not allowed"),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": {}},
            -32602,
            '"params" must be an array',
        ),
    ],
)
def test_malformed_requests(bridge: Bridge, request_body: Any, code: int, message: str) -> None:
    reply = handle_jsonrpc(bridge.hub, request_body)
    assert isinstance(reply, dict)
    assert reply["error"]["code"] == code
    assert message in reply["error"]["message"]


def test_calls_get_at_most_the_gas_cap(bridge: Bridge) -> None:
    anchor_of = {"to": bridge.address, "data": "0x" + "d0" * 36}
    for gas, code in ((None, 3), (hex(DEFAULT_GAS_CAP), 3), (hex(DEFAULT_GAS_CAP + 1), -32602)):
        call = anchor_of if gas is None else {**anchor_of, "gas": gas}
        reply = handle_jsonrpc(
            bridge.hub,
            {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]},
        )
        assert isinstance(reply, dict)
        assert reply["error"]["code"] == code  # 3: the contract's revert (unknown selector)
    refused = handle_jsonrpc(
        bridge.hub,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [{**anchor_of, "gas": "0x" + "f" * 70}],
        },
    )
    assert isinstance(refused, dict)
    assert is_refusal(refused)


def test_batches_and_log_ranges_are_bounded(bridge: Bridge) -> None:
    one = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    long = handle_jsonrpc(bridge.hub, [one] * 3, max_batch=2)
    assert isinstance(long, dict)
    assert "limit is 2" in long["error"]["message"]
    wide = handle_jsonrpc(
        bridge.hub,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [{"fromBlock": "0x0", "toBlock": hex(MAX_LOG_BLOCKS)}],
        },
    )
    assert isinstance(wide, dict)
    assert "limit is" in wide["error"]["message"]
    assert is_refusal(wide)
