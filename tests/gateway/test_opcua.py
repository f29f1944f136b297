"""OPC UA source against the simulated cold-room PLC (a real asyncua server):
data changes reach the spool with server timestamps; the source reconnects and
subscribes again after the server goes away."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.decode import ColdRoomObservation, decode
from gateway.opcua import OpcUaEndpoint, OpcUaNode, OpcUaSource
from gateway.spool import Incoming
from sensors.coldroom_server import ColdRoomServer
from tracehub.services import free_port

pytestmark = pytest.mark.integration

ROOM = "urn:epc:id:sgln:4012345.00007.0"
WAIT = 30.0


class Collect:
    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.cond = threading.Condition()

    def __call__(self, items: Sequence[Incoming], stop: threading.Event) -> bool:
        with self.cond:
            self.items.extend(items)
            self.cond.notify_all()
        return True

    def wait_for(self, n: int, timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.items) >= n, timeout)


def endpoint(server: ColdRoomServer) -> OpcUaEndpoint:
    return OpcUaEndpoint(
        url=server.url,
        site="site1",
        plc="plc-cold1",
        location=ROOM,
        nodes=tuple(OpcUaNode(quantity=q, node_id=n) for q, n in server.node_ids["cold1"].items()),
        publishing_interval_ms=100,
        reconnect_initial_s=0.2,
        reconnect_max_s=1.0,
    )


def test_data_changes_reach_the_spool_and_survive_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    server = ColdRoomServer(port, interval_s=0.1)
    server.start()
    spool = Collect()
    source = OpcUaSource(endpoint(server), spool)
    source.start()
    try:
        assert source.connected.wait(WAIT)
        assert spool.wait_for(20)
        server.stop()
        before = len(spool.items)
        # The server is gone: the source notices and keeps trying.
        restarted = ColdRoomServer(port, interval_s=0.1, seed=1)
        restarted.start()
        try:
            assert spool.wait_for(before + 20)
            assert source.connects >= 2
        finally:
            restarted.stop()
    finally:
        source.stop()
    decoded = [decode(i.topic, i.payload) for i in spool.items]
    assert all(isinstance(d, ColdRoomObservation) for d in decoded), decoded[:3]
    changes = [d.change for d in decoded if isinstance(d, ColdRoomObservation)]
    assert {c.quantity for c in changes} >= {"temperature_c", "compressor_kw", "setpoint_c"}
    assert {(c.site, c.plc, c.location) for c in changes} == {("site1", "plc-cold1", ROOM)}
    assert all(i.topic == "opcua/site1/plc-cold1" for i in spool.items)
    assert json.loads(spool.items[0].payload)["ts"].endswith("Z")


def test_endpoint_config_is_validated() -> None:
    with pytest.raises(ValueError, match="url"):
        OpcUaEndpoint(url="http://x", site="s", plc="p", location=ROOM, nodes=())
