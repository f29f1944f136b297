"""The web server over a real socket, and the read-only RPC route to the embedded chain."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ledger.evm.contract import embedded_web3
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
        broken = httpx.post(url, content=b"{not json", timeout=10).json()
        assert broken["error"] == {"code": -32700, "message": "parse error"}
        assert httpx.get(url, timeout=10).status_code == 405  # POST only
    finally:
        server.stop()
