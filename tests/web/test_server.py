"""The web server over a real socket, and the read-only RPC route to the embedded chain."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_typing import HexStr
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from web3 import Web3

from ledger.evm.contract import embedded_web3
from tests.support.hostile import ANSWER_WITHIN_S, HEALTHZ_WITHIN_S, serving, under_attack
from web.health import healthz
from web.limits import Limits
from web.server import WebServer, rpc_route


def _hello() -> Starlette:
    return Starlette(routes=[Route("/", lambda _request: PlainTextResponse("hello"))])


def test_building_binds_nothing_and_start_serves_at_once() -> None:
    server = WebServer(_hello(), "127.0.0.1", 0)
    with pytest.raises(RuntimeError, match="no socket yet"):
        _ = server.url
    server.start()
    try:
        assert server.port != 0
        assert httpx.get(server.url, timeout=10).text == "hello"
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_a_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = WebServer(_hello(), "127.0.0.1", port)
        server.bind()
        try:
            assert server.port not in (0, port)
        finally:
            server.stop()


def test_rpc_route_reads_the_chain_and_refuses_bad_json() -> None:
    w3 = embedded_web3()
    server = WebServer(Starlette(routes=[rpc_route(w3)]), "127.0.0.1", 0)
    server.start()
    try:
        url = f"{server.url}/rpc"
        call = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        assert httpx.post(url, json=call, timeout=10).json() == {
            "jsonrpc": "2.0",
            "id": 1,
            "result": hex(w3.eth.chain_id),
        }
        broken = httpx.post(url, content=b"{not json", timeout=10)
        assert broken.status_code == 400
        error = broken.json()["error"]
        assert (error["code"], error["message"]) == (-32700, "parse error")
        assert "is not JSON" in error["data"]
        assert httpx.get(url, timeout=10).status_code == 405  # POST only
    finally:
        server.stop()


# --- bounded work of the /rpc bridge, against the running server ---------------------

RPC_LIMITS = Limits(rpc_burst=60, rpc_rate_per_s=1.0)


@pytest.fixture(scope="module")
def chain() -> tuple[Web3, str]:
    """An embedded chain with a contract that loops until its gas runs out."""
    w3 = embedded_web3()
    # init code: PUSH4 <JUMPDEST PUSH1 0 JUMP> PUSH1 0 MSTORE PUSH1 4 PUSH1 28 RETURN
    init = "0x635b6000566000526004601cf3"
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": HexStr(init)})
    address = w3.eth.get_transaction_receipt(tx)["contractAddress"]
    assert address is not None
    assert w3.eth.get_code(address).hex() == "5b600056"
    return w3, address


@pytest.fixture
def rpc(chain: tuple[Web3, str]) -> Iterator[str]:
    app = Starlette(routes=[rpc_route(chain[0], RPC_LIMITS), Route("/healthz", healthz)])
    with serving(app, RPC_LIMITS) as url:
        yield url


def _call(address: str, **extra: str) -> dict[str, Any]:
    call = {"to": address, "data": "0x", **extra}
    return {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}


def test_a_loop_contract_runs_out_of_the_capped_gas_at_once(
    rpc: str, chain: tuple[Web3, str]
) -> None:
    outcome = under_attack(rpc, lambda: httpx.post(f"{rpc}/rpc", json=_call(chain[1]), timeout=30))
    assert outcome.result.status_code == 200  # the chain's answer: the call failed
    assert outcome.result.json()["error"]["code"] == 3
    assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()


def test_a_call_asking_for_more_gas_is_refused(rpc: str, chain: tuple[Web3, str]) -> None:
    heavy = _call(chain[1], gas=hex(30_000_000))
    outcome = under_attack(rpc, lambda: httpx.post(f"{rpc}/rpc", json=heavy, timeout=30))
    assert outcome.result.status_code == 400
    error = outcome.result.json()["error"]
    assert error["code"] == -32602
    assert f"cap of {RPC_LIMITS.rpc_gas}" in error["message"]
    assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()


def test_a_batch_of_10000_calls_is_refused(rpc: str, chain: tuple[Web3, str]) -> None:
    batch = [_call(chain[1]) for _ in range(10_000)]  # ~1 MB: over the body limit
    outcome = under_attack(rpc, lambda: httpx.post(f"{rpc}/rpc", json=batch, timeout=30))
    assert outcome.result.status_code == 413
    assert outcome.seconds < ANSWER_WITHIN_S, outcome.describe()
    assert outcome.healthz_p90 < HEALTHZ_WITHIN_S, outcome.describe()
    small = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1000)]
    answer = httpx.post(f"{rpc}/rpc", json=small, timeout=30)  # under the body limit
    assert answer.status_code == 413
    assert f"limit is {RPC_LIMITS.rpc_batch}" in answer.json()["detail"]


def test_calls_per_client_are_rate_limited(rpc: str) -> None:
    chain_id = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    batch = [chain_id] * RPC_LIMITS.rpc_batch
    assert httpx.post(f"{rpc}/rpc", json=batch, timeout=30).status_code == 200  # 50 of 60
    assert httpx.post(f"{rpc}/rpc", json=batch[:10], timeout=30).status_code == 200
    refused = httpx.post(f"{rpc}/rpc", json=chain_id, timeout=30)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "retry in" in refused.json()["detail"]


def test_methods_off_the_allow_list_are_refused(rpc: str) -> None:
    for method in ("eth_estimateGas", "eth_sendRawTransaction", "debug_traceCall"):
        answer = httpx.post(
            f"{rpc}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method}, timeout=30
        )
        assert answer.status_code == 400
        assert answer.json()["error"]["message"] == "method not allowed"
