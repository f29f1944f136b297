"""The hub's operator console (``/console``, issue #17), wired over the parts the hub
opened: accounts and sessions (``web.console.auth`` over ``traceability.accounts``),
the places board and its live stream, incidents (the audited service: each step an
audit entry, a disposition with the user's e-signature), lots and recall, devices (the
gateway's registry; a revocation is e-signed and audited here), health, and the
master-data import (admin; written through the hub's ``MasterData`` as the signing user).

The console's session secret is ``<state>/console/session.key`` (32 random bytes,
created on first use, mode 0600): every web replica on the same state signs and checks
the same cookies; deleting it logs everyone out. Building does no I/O beyond that file.

``TRACEHUB_GRAFANA_URL`` (the Grafana ``tracehub grafana publish --url`` publishes the
dashboards to), when set, puts "Open in Grafana" on the overview, linking the cold-chain
dashboard; unset, the console links no Grafana.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import BaseRoute

from influx.client import InfluxClient
from ledger.batch import StoredEntry
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from traceability.accounts.policy import SessionPolicy
from traceability.accounts.service import AccountService
from traceability.alarms.places import RecordPlaces
from traceability.audit.entry import AuditActor, AuditSubject, ESignature
from traceability.audit.trail import AuditTrail
from traceability.coldchain.doortelemetry import InfluxDoorReader
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.epclinks import lot_stream
from traceability.incidents.service import IncidentService
from traceability.masterdata.calibration import ProbeCalibrations
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from traceability.reports.release import ReportReleases
from tracehub.consoledevices import InfluxLastSeen, RegistryDevices
from tracehub.settings import Settings
from tracehub.site import open_device_registry
from web.console.auth import ConsoleAuth
from web.console.calibrations import calibration_routes
from web.console.devices import device_routes
from web.console.gate import Signature
from web.console.health import health_routes
from web.console.lots import lot_routes
from web.console.masterimport import import_routes
from web.console.pages import console_routes
from web.console.render import ConsoleRenderer
from web.console.reportpages import report_routes
from web.health import ReadinessSource
from web.pagecache import PageCache
from web.report.rendering import ReportPdfs

SECRET_BYTES = 32
GRAFANA_URL = "TRACEHUB_GRAFANA_URL"
# grafana.boards.coldchain.UID, written out: the hub does not load the dashboards' SDK.
COLDCHAIN_UID = "tracehub-coldchain"


def grafana_dashboard(environ: Mapping[str, str] | None = None) -> str | None:
    """The overview's matching Grafana dashboard (module docstring), None when unset; a
    value that is no http(s) URL is a ``ValueError`` naming the variable."""
    base = (os.environ if environ is None else environ).get(GRAFANA_URL, "").strip()
    if not base:
        return None
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"{GRAFANA_URL}={base!r}: give Grafana's http(s) address, e.g. "
            "https://grafana.example.com or http://localhost:3000"
        )
    return f"{base.rstrip('/')}/d/{COLDCHAIN_UID}"


def console_secret(state_dir: Path) -> bytes:
    """The console's session secret (module docstring), created once. A secret file
    that group or others may read is refused: it signs every operator's session."""
    path = state_dir / "console" / "session.key"
    if not path.exists():
        _create_secret(path)
    mode = path.stat().st_mode
    if mode & 0o077:
        raise ValueError(
            f"{path}: the console secret is readable by group or others "
            f"(mode {mode & 0o777:o}); run chmod 600 on it"
        )
    secret = path.read_bytes()
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"{path}: the console secret is shorter than {SECRET_BYTES} bytes")
    return secret


def _create_secret(path: Path) -> None:
    """Writes the secret whole into a private temp file, then links it into place, so
    a replica starting at the same moment never reads a half-written one: the first
    link wins and the others read the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".session.key.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(SECRET_BYTES))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another replica's came first: read it
            os.link(temp, path)
    finally:
        os.unlink(temp)


def console_accounts(settings: Settings, store: RecordStore) -> AccountService:
    """The site's operator accounts (``tracehub users``; the console's logins), their
    sessions ending after ``TRACEHUB_CONSOLE_IDLE_MIN`` unused."""
    idle = timedelta(minutes=settings.hub.console_idle_min)
    return AccountService(
        store, issuer=f"tracehub {settings.hub.site}", sessions=SessionPolicy(idle=idle)
    )


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


class _LotRecords:
    """Signs a lot's own record into its stream with the site's current key."""

    def __init__(self, ledger: LedgerStore, renew: Callable[[], Signer]) -> None:
        self._submitter = RecordSubmitter(ledger, renew(), renew=renew)

    def __call__(self, kind: str, gtin: str, lot: str, record: dict[str, Any]) -> StoredEntry:
        return self._submitter.submit(kind, record, streams=[lot_stream(gtin, lot)])


def console_site(
    settings: Settings,
    store: RecordStore,
    ledger: LedgerStore,
    telemetry: InfluxTemperatureReader,
    series: TemperatureSeries,
    exposure: ExposureService,
    reports: ReportPdfs,
    pages: PageCache,
    audit: AuditTrail,
    incidents: IncidentService | None,
    readiness: ReadinessSource | None,
    stack: ExitStack,
    master: MasterData,
    renew: Callable[[], Signer],
) -> Sequence[BaseRoute]:
    """Every ``/console`` route of the hub (module docstring); ``stack`` closes the
    InfluxDB clients it opens; ``master`` (with the audit trail) takes the imports;
    ``reports`` renders the temperature reports a quality user releases, whose hashes
    are signed with the site's current key (``renew``)."""
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
        *import_routes(gate, renderer, master, on_imported=pages.invalidate_all),
        # Probe calibration certificates (issue #20), signed and audited as master data.
        *calibration_routes(
            gate, renderer, ProbeCalibrations(store, ledger, renew(), renew=renew, audit=audit)
        ),
        *report_routes(
            gate,
            renderer,
            store,
            reports,
            ReportReleases(store, _LotRecords(ledger, renew), audit, ledger),
        ),
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
        grafana=grafana_dashboard(),
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
