"""A simulated cold-room PLC: an OPC UA server (asyncua) with one object per room.

Each room has four variables, string node ids ``ns={idx};s={room}.{quantity}``
(temperature_c, setpoint_c, door_open, compressor_kw). A background task moves
them every ``interval_s``: the temperature follows the compressor and the door,
the door opens now and then. The server runs its own event loop in a thread so
tests and ``tracehub simulate`` can start and stop it like the other simulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
import zlib
from typing import Any

from asyncua.server.server import Server
from asyncua.ua import QualifiedName

from sensors.coldroom import QUANTITIES
from sensors.errors import SimulatorError

NAMESPACE = "urn:tracehub:coldroom"


class ColdRoomServer:
    """OPC UA server for ``rooms`` (ids); ``node_ids[room][quantity]`` are the node ids."""

    def __init__(
        self,
        port: int,
        rooms: tuple[str, ...] = ("cold1",),
        *,
        host: str = "127.0.0.1",
        interval_s: float = 1.0,
        setpoint_c: float = 4.0,
        seed: int = 0,
    ) -> None:
        self.url = f"opc.tcp://{host}:{port}/tracehub/"
        self.rooms = rooms
        self._interval_s = interval_s
        self._setpoint_c = setpoint_c
        self._seed = seed
        self.node_ids: dict[str, dict[str, str]] = {}
        self._vars: dict[str, dict[str, Any]] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.ready = threading.Event()
        self.updates = 0
        self._error: BaseException | None = None

    async def _serve(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("tracehub cold-room PLC simulator")
        idx = await server.register_namespace(NAMESPACE)
        for room in self.rooms:
            obj = await server.nodes.objects.add_object(
                f"ns={idx};s={room}", QualifiedName(room, idx)
            )
            self.node_ids[room] = {}
            self._vars[room] = {}
            for quantity in QUANTITIES:
                initial: Any = False if quantity == "door_open" else 0.0
                if quantity in ("temperature_c", "setpoint_c"):
                    initial = self._setpoint_c
                node = await obj.add_variable(
                    f"ns={idx};s={room}.{quantity}", QualifiedName(quantity, idx), initial
                )
                self.node_ids[room][quantity] = node.nodeid.to_string()
                self._vars[room][quantity] = node
        self._stop = asyncio.Event()
        async with server:
            self.ready.set()
            await self._simulate()

    async def _simulate(self) -> None:
        assert self._stop is not None
        rngs = {r: random.Random(self._seed * 7919 + zlib.crc32(r.encode())) for r in self.rooms}
        temps = dict.fromkeys(self.rooms, self._setpoint_c)
        tick = 0
        while not self._stop.is_set():
            for room in self.rooms:
                rng = rngs[room]
                door = rng.random() < 0.05
                compressor = 2.0 + 1.5 * math.tanh(temps[room] - self._setpoint_c)
                temps[room] += (0.8 if door else 0.0) - 0.3 * (temps[room] - self._setpoint_c)
                temps[room] += rng.gauss(0.0, 0.05)
                nodes = self._vars[room]
                await nodes["temperature_c"].write_value(round(temps[room], 3))
                await nodes["door_open"].write_value(door)
                await nodes["compressor_kw"].write_value(round(max(0.0, compressor), 3))
                if tick == 0:
                    await nodes["setpoint_c"].write_value(self._setpoint_c)
            self.updates += 1
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval_s)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._serve()

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="opcua-server", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout) or self._error is not None:
            raise SimulatorError(f"OPC UA server {self.url} did not start: {self._error!r}")

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # already stopped
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> ColdRoomServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
