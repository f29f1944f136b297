"""OPC UA source (asyncua): data-change subscriptions on a cold-room PLC, into the spool.

asyncua is asyncio-only and the rest of the gateway is threads, so each endpoint
gets one thread running its own event loop. The bridge is explicit: the
subscription callback only puts the change on an ``asyncio.Queue``; a consumer
task takes what has gathered and hands the batch to the spool's blocking
``append`` through ``run_in_executor``, so an fsync never stalls the event loop
(and with it the keep-alives and publish responses).

The session is watched by asyncua's supervisor (``connection_lost_callback``);
on a loss the source drops the client, reconnects with capped exponential
backoff, and subscribes again. Data changes carry the server's source timestamp,
so a value re-sent after a reconnect lands on the same InfluxDB point.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from asyncua.client.client import Client
from asyncua.ua.uaerrors import UaError
from pydantic import BaseModel, ConfigDict, Field

from gateway.decode import OPCUA_TOPIC_PREFIX
from gateway.mqtt import SpoolAppend
from gateway.spool import Incoming
from sensors.coldroom import ColdRoomChange, Quantity
from sensors.fields import DeviceId, SglnUrn

log = logging.getLogger(__name__)


class OpcUaNode(BaseModel):
    """One PLC variable and the cold-room quantity it holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: Quantity
    node_id: str = Field(min_length=1, description="e.g. ns=2;s=ColdRoom1.temperature_c")


class OpcUaEndpoint(BaseModel):
    """A cold-room PLC: where it is, which nodes to subscribe and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^opc\.tcp://")
    site: DeviceId
    plc: DeviceId
    location: SglnUrn
    nodes: tuple[OpcUaNode, ...] = Field(min_length=1)
    publishing_interval_ms: float = Field(default=500.0, gt=0)
    # asyncua coalesces changes between publishes: a queue keeps every sample.
    queue_size: int = Field(default=100, ge=1)
    reconnect_initial_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=10.0, gt=0)
    timeout_s: float = Field(default=4.0, gt=0)


def coldroom_payload(endpoint: OpcUaEndpoint, quantity: Quantity, val: Any, ts: Any) -> bytes:
    """The spooled JSON of one data change; never raises (a PLC sends what it sends).

    A value that is not a valid reading is still spooled, as a document the pipeline
    dead-letters with the reason, so nothing from the PLC vanishes silently.
    """
    try:
        value: float | bool = bool(val) if quantity == "door_open" else float(val)
        if not isinstance(ts, datetime):
            raise TypeError(f"source timestamp {ts!r} is not a date-time")
        change = ColdRoomChange(
            site=endpoint.site,
            plc=endpoint.plc,
            location=endpoint.location,
            ts=ts if ts.tzinfo else ts.replace(tzinfo=UTC),
            quantity=quantity,
            value=value,
        )
        return change.to_json()
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        # OverflowError: float() of an integer beyond the double range (found by fuzzing).
        return json.dumps(
            {"plc": endpoint.plc, "quantity": quantity, "value": repr(val)[:200],
             "error": str(exc)[:500]}
        ).encode()  # fmt: skip


class _Handler:
    def __init__(self, source: OpcUaSource, quantities: dict[str, Quantity]) -> None:
        self._source = source
        self._quantities = quantities

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        value = data.monitored_item.Value
        ts = value.SourceTimestamp or value.ServerTimestamp or datetime.now(UTC)
        quantity = self._quantities.get(node.nodeid.to_string())
        if quantity is not None:
            self._source._on_change(quantity, val, ts)

    def status_change_notification(self, status: Any) -> None:
        log.warning("OPC UA subscription status changed: %s", status)


class OpcUaSource:
    """Runs one endpoint's subscription in a thread of its own until ``stop()``."""

    def __init__(self, endpoint: OpcUaEndpoint, append: SpoolAppend) -> None:
        self.endpoint = endpoint
        self._append = append
        self._topic = f"{OPCUA_TOPIC_PREFIX}{endpoint.site}/{endpoint.plc}"
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.connects = 0
        self.changes = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Incoming] | None = None
        self._lost: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None

    # --- event loop thread ---------------------------------------------------------
    def _on_change(self, quantity: Quantity, val: Any, ts: datetime) -> None:
        payload = coldroom_payload(self.endpoint, quantity, val, ts)
        assert self._queue is not None
        self._queue.put_nowait(Incoming(self._topic, payload, time.time_ns()))

    async def _consume(self) -> None:
        assert self._queue is not None
        assert self._loop is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            while not self._stop.is_set():
                try:
                    if await self._loop.run_in_executor(None, self._append, batch, self._stop):
                        self.changes += len(batch)
                        break
                except Exception as exc:
                    log.warning("OPC UA changes not spooled yet: %s", exc)
                    await asyncio.sleep(self.endpoint.reconnect_initial_s)

    async def _session(self) -> None:
        """Connect, subscribe, and wait until the connection is lost or stop is asked."""
        ep = self.endpoint
        client = Client(ep.url, timeout=ep.timeout_s, watchdog_intervall=1.0)
        lost = asyncio.Event()
        self._lost = lost

        async def on_lost(exc: Exception) -> None:
            log.warning("OPC UA connection to %s lost: %s", ep.url, exc)
            lost.set()

        client.connection_lost_callback = on_lost
        await client.connect()
        try:
            quantities = {}
            nodes = []
            for spec in ep.nodes:
                node = client.get_node(spec.node_id)
                quantities[node.nodeid.to_string()] = spec.quantity
                nodes.append(node)
            sub = await client.create_subscription(
                ep.publishing_interval_ms, _Handler(self, quantities)
            )
            await sub.subscribe_data_change(nodes, queuesize=ep.queue_size)
            self.connects += 1
            self.connected.set()
            log.info("OPC UA subscribed to %d node(s) at %s", len(nodes), ep.url)
            await lost.wait()
        finally:
            self.connected.clear()
            try:
                await asyncio.wait_for(client.disconnect(), ep.timeout_s)
            except Exception:
                client.disconnect_socket()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._stopping = asyncio.Event()
        consumer = asyncio.create_task(self._consume())
        delay = self.endpoint.reconnect_initial_s
        while not self._stop.is_set():
            try:
                await self._session()
                delay = self.endpoint.reconnect_initial_s
            except (OSError, TimeoutError, UaError, ConnectionError) as exc:
                log.warning(
                    "OPC UA %s unavailable (%s); retry in %.1fs", self.endpoint.url, exc, delay
                )
            if self._stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.endpoint.reconnect_max_s)
        # Let what was received reach the spool before the loop ends.
        for _ in range(100):
            if self._queue.empty():
                break
            await asyncio.sleep(0.05)
        consumer.cancel()

    # --- control -------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()),
            name=f"opcua-{self.endpoint.plc}",
            daemon=True,
        )
        self._thread.start()

    def _wake(self) -> None:
        if self._lost is not None:
            self._lost.set()
        if self._stopping is not None:
            self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have finished
                loop.call_soon_threadsafe(self._wake)
        if self._thread is not None:
            self._thread.join(timeout)
