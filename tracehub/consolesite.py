"""The hub's operator console (``/console``, issue #17), wired over the parts the hub
opened: accounts and sessions (``web.console.auth`` over ``traceability.accounts``),
the places board and its live stream, incidents (the audited service: each step an
audit entry, a disposition with the user's e-signature), lots and recall, devices (the
gateway's registry; a revocation is e-signed and audited here) and health.

The console's session secret is ``<state>/console/session.key`` (32 random bytes,
created on first use, mode 0600): every web replica on the same state signs and checks
the same cookies; deleting it logs everyone out. Building does no I/O beyond that file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from pathlib import Path

from starlette.routing import BaseRoute

from influx.client import InfluxClient
from ledger.store.sqlstore import LedgerStore
from traceability.accounts.service import AccountService
from traceability.alarms.places import RecordPlaces
from traceability.audit.entry import AuditActor, AuditSubject, ESignature
from traceability.audit.trail import AuditTrail
from traceability.coldchain.doortelemetry import InfluxDoorReader
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore
from tracehub.consoledevices import InfluxLastSeen, RegistryDevices
from tracehub.settings import Settings
from tracehub.site import open_device_registry
from web.console.auth import ConsoleAuth
from web.console.devices import device_routes
from web.console.gate import Signature
from web.console.health import health_routes
from web.console.lots import lot_routes
from web.console.pages import console_routes
from web.console.render import ConsoleRenderer
from web.health import ReadinessSource
from web.pagecache import PageCache

SECRET_BYTES = 32


def console_secret(state_dir: Path) -> bytes:
    """The console's session secret (module docstring), created once."""
    path = state_dir / "console" / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another replica made it first: read theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(SECRET_BYTES))
    secret = path.read_bytes()
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"{path}: the console secret is shorter than {SECRET_BYTES} bytes")
    return secret


def console_accounts(settings: Settings, store: RecordStore) -> AccountService:
    """The site's operator accounts (``tracehub users``; the console's logins)."""
    return AccountService(store, issuer=f"tracehub {settings.hub.site}")


class _SignedRevocation:
    """A device revocation the console took: an audit entry with the user's signature."""

    def __init__(self, audit: AuditTrail) -> None:
        self._audit = audit

    def __call__(self, signature: Signature, action: str, subject: str) -> None:
        self._audit.record(
            AuditActor(name=signature.name, kind="user", role=signature.role),
            "device.revoke",
            AuditSubject(kind="device", key=subject),
            {"revoked": False},
            {"revoked": True},
            signature.meaning,
            signature=ESignature(**signature.model_dump()),
        )


def console_site(
    settings: Settings,
    store: RecordStore,
    ledger: LedgerStore,
    telemetry: InfluxTemperatureReader,
    series: TemperatureSeries,
    exposure: ExposureService,
    pages: PageCache,
    audit: AuditTrail,
    incidents: IncidentService | None,
    readiness: ReadinessSource | None,
    stack: ExitStack,
) -> Sequence[BaseRoute]:
    """Every ``/console`` route of the hub (module docstring); ``stack`` closes the
    InfluxDB clients it opens."""
    influx = settings.influx
    assert influx.url is not None  # the hub resolves it before wiring
    renderer = ConsoleRenderer()
    gate = ConsoleAuth(
        console_accounts(settings, store),
        console_secret(settings.hub.state_dir),
        renderer=renderer,
    )
    devices = RegistryDevices(
        open_device_registry(settings),
        InfluxLastSeen(stack.enter_context(closing(InfluxClient(influx.url, influx.database)))),
    )
    extra = [
        *lot_routes(
            gate,
            renderer,
            store,
            exposure=exposure,
            near_expiry_days=settings.records.near_expiry_days,
        ),
        *device_routes(
            gate,
            renderer,
            devices,
            on_signed=_SignedRevocation(audit),
            places=lambda: {place.urn: place.name for place in store.locations()},
        ),
        *health_routes(gate, renderer, readiness, ledger=ledger),
    ]
    return console_routes(
        gate,
        renderer,
        RecordPlaces(store, CustodyService(store), lambda: datetime.now(UTC), ttl_s=30),
        incidents,
        telemetry,
        series=series,
        doors=stack.enter_context(closing(InfluxDoorReader(influx.url, influx.database))),
        on_step=pages.invalidate,
        extra_routes=extra,
    )


def first_admin(settings: Settings, store: RecordStore) -> str:
    """How to log in to a site's console: a new ``admin`` and its one-time password when
    the site has no user yet (the demo's first start), else the command that issues one."""
    accounts = console_accounts(settings, store)
    if accounts.users():
        return "log in as your user (a new password: tracehub users reset NAME)"
    issued = accounts.add("admin", "admin", "Site administrator")
    return f"user admin, one-time password {issued.password} (set your own at first login)"
