"""Fuzzing the HTTP surface as the device decoders are fuzzed: capture documents,
Digital Link paths and JSON-RPC bodies, hostile where it matters (numeric strings,
huge literals, deep nesting, long strings, many segments), against the ASGI app with
its limits, called directly (httpx refuses URLs over 64 KiB; the app must not). No
input may cost more than ``BUDGET_S`` or get a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from ledger.evm.contract import deploy_anchor_contract, embedded_web3
from tests.support.events import GTIN, object_event
from tests.support.webapp import bearer
from traceability.records.store import RecordStore
from web.app import create_app
from web.limits import Limits
from web.server import rpc_route

# The 1 s, doubled for a loaded 2-core CI machine; the inputs that once took
# 12-55 s would still fail it by far.
BUDGET_S = 2.0
FUZZ = settings(
    max_examples=150,
    deadline=None,  # the budget below is the test's own, measured per request
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Site:
    app: ASGIApp
    portal: BlockingPortal
    token: dict[str, str]

    def request(self, method: str, target: str, body: bytes = b"", json_body: bool = True) -> int:
        """One request straight into the ASGI app, timed; its status."""
        path, _, query = target.partition("?")
        headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in self.token.items()]
        if json_body:
            headers.append((b"content-type", b"application/json"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        began = time.perf_counter()
        status: int = self.portal.call(_call, self.app, scope, body)
        elapsed = time.perf_counter() - began
        assert elapsed < BUDGET_S, f"{method} {target[:80]} took {elapsed:.2f} s"
        assert status < 500, f"{method} {target[:80]} → {status}"
        return status


async def _call(app: ASGIApp, scope: dict[str, Any], body: bytes) -> int:
    received = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)  # type: ignore[arg-type]
    assert statuses, "the app sent no response"
    return statuses[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    store = RecordStore.open(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'records.db'}")
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    w3 = embedded_web3()
    deploy_anchor_contract(w3)
    limits = Limits(rpc_burst=1_000_000)  # the fuzzer is one client; rates are tested apart
    app = Starlette(
        routes=[rpc_route(w3, limits), Mount("/", create_app(store, None, "fuzz", limits=limits))]
    )
    with start_blocking_portal() as portal:
        yield Site(app, portal, bearer(store, "capture", "read"))
    store.close()


# --- values a hostile sender puts where numbers and strings go -----------------------

numeric_text = st.one_of(
    st.from_regex(r"[+-]?\d{1,40}(\.\d{0,40})?([eE][+-]?\d{1,9})?", fullmatch=True),
    st.integers(1, 40_000).map(lambda n: "1" * n),
    st.integers(1, 40_000).map(lambda n: "1" * n + "x"),
    st.sampled_from(["1e1000000", "-1e-1000000", "NaN", "Infinity", "0x10", ".", "1e"]),
)
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    numeric_text,
)
json_value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
# Raw literals json.dumps would never write (huge, non-finite, deep).
raw_literal = st.one_of(
    st.integers(1, 40_000).map(lambda n: "9" * n),
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", '"\\ud800"', "1" * 5000 + ".5"]),
    st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
)


@st.composite
def capture_bodies(draw: st.DrawFn) -> bytes:
    events = []
    for _ in range(draw(st.integers(0, 3))):
        event = object_event(serial=str(draw(st.integers(1001, 1010))))
        for _ in range(draw(st.integers(0, 3))):
            key = draw(
                st.sampled_from(["example:x", "quantityList", "eventTime", "epcList", "ilmd"])
            )
            event[key] = draw(json_value)
        events.append(event)
    doc = {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"example": "https://example.com/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-22T11:00:00.000Z",
        "epcisBody": {"eventList": events},
    }
    text = json.dumps(doc)
    if draw(st.booleans()):  # one value replaced by a raw literal
        text = text.replace('"OBSERVE"', draw(raw_literal), 1)
    return text.encode()


@FUZZ
@given(body=st.one_of(capture_bodies(), st.binary(max_size=200)))
def test_capture_documents(site: Site, body: bytes) -> None:
    site.request("POST", "/epcis/capture", body)


ai = st.sampled_from(["01", "10", "21", "22", "235", "00", "414", "254", "gtin", "lot", "ser", "x"])
segment = st.one_of(ai, st.text(st.characters(codec="ascii"), min_size=1, max_size=25))


@FUZZ
@given(
    segments=st.one_of(
        st.lists(segment, min_size=1, max_size=12),
        st.integers(1, 100_000).map(lambda n: ["01", "09520123456788"] * n),
    ),
    query=st.text(st.characters(codec="ascii"), max_size=40),
)
def test_digital_link_paths(site: Site, segments: list[str], query: str) -> None:
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    if not path.startswith(("/01/", "/gtin/")):
        path = "/01" + path
    site.request("GET", f"{path}?{quote(query, safe='=&')}", json_body=False)


rpc_call = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.one_of(st.integers(), st.text(max_size=8), st.none()),
        "method": st.sampled_from(
            [
                "eth_chainId",
                "eth_call",
                "eth_getLogs",
                "eth_getBlockByNumber",
                "eth_getCode",
                "eth_estimateGas",
                "eth_sendRawTransaction",
                "debug_traceCall",
            ]
        ),
        "params": st.one_of(
            st.lists(json_value, max_size=3),
            st.just([{"to": "0x" + "00" * 20, "data": "0x", "gas": hex(10**9)}, "latest"]),
            st.just([{"fromBlock": "0x0", "toBlock": hex(10**12)}]),
            json_value,
        ),
    }
)


@FUZZ
@given(body=st.one_of(rpc_call, st.lists(rpc_call, max_size=60), json_value))
def test_rpc_bodies(site: Site, body: Any) -> None:
    site.request("POST", "/rpc", json.dumps(body).encode())
