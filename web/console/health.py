"""The console's health page: is the hub doing its work (viewer and up).

``GET /console/health`` shows the readiness report ``/readyz`` serves (the
``HealthSource``: ``tracehub.readiness.HubReadiness``, the model ``web.health`` takes),
grouped: the gateway's components (``gateway.*``: drain, sealer, health, MQTT/OPC UA
connections), anchoring (the anchoring loop and its ``ledger`` and ``chain`` checks) and
the rest (records, alarms, notifications, web ...), each with its state, restarts and
last error; the records the ledger set aside; and, from the ledger
(``AnchoringLedger``: ``LedgerStore`` serves it as it is), the newest confirmed batch
and how many leaves wait for one, since when.

Unlike the public ``/readyz``, the console shows every component's last error to any
signed-in user: its users are the site's staff, and a monitor needs to know why the
chain is down. The AGV fleet is not shown: the gateway writes VDA 5050 positions to
InfluxDB (``agv_state``), but no reader in ``traceability`` serves them yet; the page
says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ledger.batch import AnchorTarget, BatchRecord, BatchStatus, PendingSummary
from ledger.errors import LedgerError
from supervision.status import ComponentStatus, Readiness
from web.console.gate import ConsoleGate
from web.console.render import ConsoleRenderer
from web.health import ReadinessSource

HealthSource = ReadinessSource  # the readiness report, as ``/readyz`` takes it

# Components of the anchoring path: the loop, and the readiness checks it depends on.
_ANCHORING = frozenset({"anchoring", "ledger", "chain"})


class AnchoringLedger(Protocol):
    """What the page reads of the ledger (``ledger.store.sqlstore.LedgerStore``)."""

    def pending(self) -> PendingSummary: ...

    def anchor_targets(self) -> list[tuple[AnchorTarget, BatchStatus]]: ...

    def newest_confirmed(self, target: AnchorTarget, limit: int) -> list[BatchRecord]: ...


class Group(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # gateway, anchoring, other
    components: tuple[ComponentStatus, ...]

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.components)


class Anchoring(BaseModel):
    """The ledger's newest confirmed batch and its queue."""

    model_config = ConfigDict(frozen=True)

    last: BatchRecord | None
    pending: PendingSummary


class Health(BaseModel):
    model_config = ConfigDict(frozen=True)

    readiness: Readiness | None  # None: no readiness source wired
    groups: tuple[Group, ...]
    anchoring: Anchoring | None  # None: no ledger wired
    anchoring_error: str | None = None  # the ledger did not answer


def health_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    source: HealthSource | None,
    *,
    ledger: AnchoringLedger | None = None,
) -> list[Route]:
    """``/console/health``; without ``source`` (or ``ledger``) the page says what is not
    wired rather than failing."""

    async def health_page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        health = await run_in_threadpool(gather, source, ledger)
        return renderer.page(
            request,
            "health.html",
            user=user,
            csrf=gate.csrf_token(request),
            health=health,
        )

    return [Route("/console/health", health_page, methods=["GET"])]


def gather(source: HealthSource | None, ledger: AnchoringLedger | None) -> Health:
    """The page's data (blocking: the readiness checks and the ledger's queries)."""
    report = None if source is None else source.readiness()
    anchoring, error = None, None
    if ledger is not None:
        try:
            anchoring = Anchoring(last=newest_batch(ledger), pending=ledger.pending())
        except LedgerError as exc:  # StoreUnavailable: say so, and show the rest
            error = f"{type(exc).__name__}: {exc}"[:300]
    return Health(
        readiness=report,
        groups=grouped(report.components if report is not None else ()),
        anchoring=anchoring,
        anchoring_error=error,
    )


def grouped(components: Sequence[ComponentStatus]) -> tuple[Group, ...]:
    """Gateway, anchoring and other components, each group in report order; empty
    groups left out."""
    found: dict[str, list[ComponentStatus]] = {"gateway": [], "anchoring": [], "other": []}
    for component in components:
        if component.name.startswith("gateway"):
            found["gateway"].append(component)
        elif component.name in _ANCHORING:
            found["anchoring"].append(component)
        else:
            found["other"].append(component)
    return tuple(Group(name=n, components=tuple(c)) for n, c in found.items() if c)


def newest_batch(ledger: AnchoringLedger) -> BatchRecord | None:
    """The newest confirmed batch over every chain and contract the ledger anchored on."""
    newest: BatchRecord | None = None
    for target, status in ledger.anchor_targets():
        if status != BatchStatus.CONFIRMED:
            continue
        for batch in ledger.newest_confirmed(target, 1):
            if newest is None or batch.id > newest.id:
                newest = batch
    return newest
