"""The hub's lifecycle: build (no I/O), open (connect and wire), start, stop.

``Hub(settings)`` only checks the settings. ``open()`` opens the stores, keys and
chain and wires the parts (``tracehub.bootstrap.wire``), so records can be seeded
before anything runs; ``start()`` (or ``with Hub(...)``) opens if needed and starts
the web server, the anchoring loop, the gateway and the alerting (alarms,
notifications); ``stop()`` undoes it all in reverse order.

The background loops run under one ``supervision.Supervisor`` (``Hub.supervisor``):
restarted when they die, reported by ``/readyz`` and ``tracehub status``. A started
hub writes its URL to ``<state>/web/url`` (removed at stop), so ``tracehub status``
finds the running hub without being told.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

from gateway.observation import ReadPointProfile
from gateway.runtime import GatewayRuntime
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from supervision.supervisor import Supervisor
from traceability.anchoring.loop import AnchorLoop
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.incidents.service import IncidentService
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub.alerting import Alerting
from tracehub.bootstrap import HubParts, wire
from tracehub.chain import Chain
from tracehub.heartbeat import Heartbeat, instance_id
from tracehub.readiness import HubReadiness
from tracehub.roles import ALL, Role
from tracehub.settings import Settings
from web.pagecache import PageCache
from web.server import WebServer


class _Part(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Hub:
    """Gateway, records, anchoring and web, wired from resolved settings.

    ``roles`` (``tracehub.roles``): which parts this process starts; every part is
    built either way (building does no I/O beyond opening the stores and the chain).
    """

    def __init__(
        self,
        settings: Settings,
        read_points: Mapping[str, ReadPointProfile] | None = None,
        roles: frozenset[Role] = ALL,
    ) -> None:
        if settings.influx.url is None or ("gateway" in roles and settings.mqtt.port is None):
            raise ValueError("resolve the MQTT port and InfluxDB URL first (start_local_services)")
        self.settings = settings
        self.roles = roles
        self.instance = instance_id()  # this process in the heartbeats and leases
        self._read_points = dict(read_points or {})
        self._parts: HubParts | None = None
        self._stack = ExitStack()

    def open(self) -> HubParts:
        """Connect and wire every part (once); nothing runs yet."""
        if self._parts is None:
            with ExitStack() as opening:  # a failure halfway closes what was opened
                self._parts = wire(
                    self.settings, self._read_points, opening, self.instance, self.roles
                )
                self._stack = opening.pop_all()
        return self._parts

    def start(self) -> None:
        parts = self.open()
        roles = self.roles
        try:
            if "web" in roles:
                parts.web.start()  # stopped by the wiring's stack, after the others
            else:
                parts.supervisor.unwatch("web")  # not this process's: not its health
            # Stopped in reverse: stop alarming (no half-told incident), then stop taking
            # messages, then anchor what was captured, then stop serving.
            # Capture jobs stop before anchoring, so what they captured is anchored.
            parts_in_order: tuple[tuple[Role, _Part], ...] = (
                ("anchor", parts.anchoring),
                ("web", parts.subscriptions),  # delivers what others capture: stops after
                ("web", parts.capture_jobs),
                ("web", parts.freshness),  # what other processes write reaches its pages
                *((("gateway", parts.gateway),) if parts.gateway is not None else ()),
                ("alarm", parts.alerting),
            )
            for role, part in parts_in_order:
                if role in roles:
                    part.start()
                    self._stack.callback(part.stop)
            beat = Heartbeat(
                parts.store, parts.supervisor, self.instance, tuple(sorted(roles)), self._detail
            )
            beat.start()
            self._stack.callback(beat.stop)
            if "web" in roles:
                self._publish_url()
        except BaseException:
            self.stop()
            raise

    def _detail(self) -> dict[str, str]:
        """What the heartbeat says of this instance beside its health."""
        found = {"state_dir": str(self.settings.hub.state_dir.absolute())}
        if "web" in self.roles and self._parts is not None:
            found["web"] = self.url
        if "gateway" in self.roles:
            found["mqtt_client_id"] = self.settings.mqtt.client_id
        return found

    def stop(self) -> None:
        """Stop and close everything; the parts stay readable, a stopped hub is not reused."""
        self._stack.close()

    def _publish_url(self) -> None:
        """Tell local tools where this hub serves (``tracehub status``)."""
        path = url_file(self.settings.hub.state_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.parts.web.url + "\n", encoding="utf-8")
        # Removed first at stop (callbacks run last in, first out): no stale URL.
        self._stack.callback(_forget, path)

    def __enter__(self) -> Hub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def parts(self) -> HubParts:
        if self._parts is None:
            raise RuntimeError("the hub is not open: call open() or start() first")
        return self._parts

    @property
    def url(self) -> str:
        return self.settings.web.public_url or self.parts.web.url

    @property
    def rpc_url(self) -> str | None:
        """Where other processes read the chain: /rpc for the embedded EVM."""
        if self.parts.chain.embedded:
            return f"{self.parts.web.url}/rpc"
        return self.settings.chain.rpc_url

    @property
    def store(self) -> RecordStore:
        return self.parts.store

    @property
    def ledger(self) -> LedgerStore:
        return self.parts.ledger

    @property
    def signer(self) -> Signer:
        return self.parts.signer

    @property
    def chain(self) -> Chain:
        return self.parts.chain

    @property
    def pages(self) -> PageCache:
        return self.parts.pages

    @property
    def gateway(self) -> GatewayRuntime:
        if self.parts.gateway is None:
            raise RuntimeError("this hub does not run the gateway role")
        return self.parts.gateway

    @property
    def anchoring(self) -> AnchorLoop:
        return self.parts.anchoring

    @property
    def alerting(self) -> Alerting:
        """Alarm rules, incidents and notifications (``tracehub.alerting``)."""
        return self.parts.alerting

    @property
    def incidents(self) -> IncidentService:
        return self.parts.alerting.incidents

    @property
    def coldroom_power(self) -> InfluxColdRoomPower:
        return self.parts.coldroom_power

    @property
    def web(self) -> WebServer:
        return self.parts.web

    @property
    def supervisor(self) -> Supervisor:
        """Runs the background loops (``supervisor.statuses()``: how each is doing)."""
        return self.parts.supervisor

    @property
    def readiness(self) -> HubReadiness:
        """What ``/readyz`` serves."""
        return self.parts.readiness

    @property
    def master(self) -> MasterData:
        """Products, lots and locations written and signed (``traceability.masterdata``)."""
        return self.parts.master


def _forget(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def url_file(state_dir: Path) -> Path:
    """Where a started hub writes its URL: ``<state>/web/url``."""
    return state_dir / "web" / "url"
