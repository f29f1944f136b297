"""``tracehub devices``: device identities and broker security (docs/security.md).

The registry lives in ``TRACEHUB_DEVICES_DIR`` (default ``<state>/devices``), its keys
encrypted with ``TRACEHUB_DEVICES_PASSPHRASE``. Every change rewrites mosquitto's ACL,
password file and CRL; a local broker started by the hub is reloaded (SIGHUP) at once,
any other one needs ``kill -HUP`` (compose: ``docker compose kill -s HUP mosquitto``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from tracehub.auditing import reason_option
from tracehub.commands.devicetrail import audited_registry
from tracehub.console import console
from tracehub.settings import Settings

KINDS = ("temperature", "rfid", "agv", "gateway")
BUNDLE_PASSPHRASE_ENV = "TRACEHUB_DEVICE_BUNDLE_PASSPHRASE"


def _registry(settings: Settings) -> Any:
    from tracehub.site import open_device_registry

    return open_device_registry(settings)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _reload(registry: Any, reload: bool) -> None:
    if not reload:
        console.print("broker not signalled (--no-reload): send it SIGHUP to apply")
    elif registry.reload_broker():
        console.print("local broker reloaded (ACL, password file, CRL)")
    else:
        console.print(
            "no local broker running on this registry: reload yours with SIGHUP "
            "(docker compose kill -s HUP mosquitto)"
        )


def _apply(registry: Any, broker_dir: Path | None, reload: bool) -> None:
    if broker_dir is not None:
        registry.export_broker(broker_dir)
        console.print(f"broker files updated in {broker_dir}")
    _reload(registry, reload)


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


reload_option = click.option(
    "--reload/--no-reload", default=True, show_default=True,
    help="SIGHUP the local broker started on this registry so the change applies now.",
)  # fmt: skip
broker_dir_option = click.option(
    "--broker-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy the broker's files (ca.crt server.crt server.key crl.pem acl passwd; "
    "no other keys) here, for a broker in another container.",
)


@click.group()
def devices() -> None:
    """Device identities: site CA, client certificates, passwords, broker ACL."""


@devices.command()
@click.option(
    "--broker-name",
    "names",
    multiple=True,
    help="Host name or IP devices use to reach the broker (repeatable; localhost, "
    "127.0.0.1 and mosquitto are always included).",
)
@click.pass_obj
def init(settings: Settings, names: tuple[str, ...]) -> None:
    """Create the site CA and the broker's certificate (idempotent)."""
    from gateway.errors import IdentityError

    registry = _registry(settings)
    try:
        registry.init(names)
        files = registry.broker_files()
    except IdentityError as exc:
        raise _fail(exc) from exc
    _emit({"registry": str(registry.folder), "broker": files.model_dump(mode="json")})


@devices.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("device_id")
@click.option("--site", help="Site of a temperature/rfid device (default TRACEHUB_SITE).")
@click.option("--manufacturer", help="VDA 5050 manufacturer of an AGV.")
@click.option("--password", "with_password", is_flag=True, help="Also issue a username/password.")
@click.option(
    "--no-cert", is_flag=True, help="Password only (no client certificate); implies --password."
)
@click.option("--days", default=365, show_default=True, help="Certificate validity in days.")
@click.option(
    "--location",
    help="Where a temperature probe or RFID reader is placed (SGLN URN): a probe's readings "
    "are stored there, a reader's reads are observed there (its read point), whatever the "
    "payload says. Move it later with `tracehub devices assign`.",
)
@broker_dir_option
@reload_option
@reason_option
@click.pass_obj
def provision(
    settings: Settings,
    kind: str,
    device_id: str,
    site: str | None,
    manufacturer: str | None,
    with_password: bool,
    no_cert: bool,
    days: int,
    location: str | None,
    broker_dir: Path | None,
    reload: bool,
    reason: str | None,
) -> None:
    """Register a device (or gateway) and issue its credentials.

    Prints the identity, its certificate/key paths and, once only, its password.
    A temperature probe or RFID reader without --location is refused by the gateway
    (``unassigned``) until it is placed with `tracehub devices assign`.
    """
    from gateway.devices.access import Identity
    from gateway.errors import IdentityError

    try:
        identity = Identity(
            kind=kind,
            device_id=device_id,
            site=(site or settings.hub.site) if kind in ("temperature", "rfid") else None,
            manufacturer=manufacturer,
        )
    except ValidationError as exc:
        raise click.BadParameter(exc.errors()[0]["msg"]) from exc
    with audited_registry(settings, "device.provision", reason) as registry:
        try:
            issued = registry.provision(
                identity,
                certificate=not no_cert,
                password=with_password or no_cert,
                days=days,
                location=location,
            )
        except IdentityError as exc:
            raise _fail(exc) from exc
    _emit(_handout(issued))
    _apply(registry, broker_dir, reload)


@devices.command()
@click.argument("identity")
@click.argument("location")
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="When the device was placed there (RFC 3339 with an offset, e.g. "
    "2026-11-22T10:00:00+00:00); default now. Readings (reads) taken from then on are "
    "stored (observed) there.",
)
@reason_option
@click.pass_obj
def assign(
    settings: Settings, identity: str, location: str, at: datetime | None, reason: str | None
) -> None:
    """Place the temperature probe or RFID reader IDENTITY (e.g.
    demo/temperature/probe-cold1-01, demo/rfid/dock-door-1) at LOCATION (an SGLN URN): a
    probe moved to another room or truck, a reader to another dock door (its read point).
    The gateway picks the change up at once (no broker reload: ACLs do not change)."""
    from gateway.errors import IdentityError

    with audited_registry(settings, "device.assign", reason) as registry:
        try:
            record = registry.assign(identity, location, at)
        except IdentityError as exc:
            raise _fail(exc) from exc
    _emit(
        {
            "identity": record.username,
            "placements": [p.model_dump(mode="json") for p in record.placements],
        }
    )


def _handout(issued: Any) -> dict[str, Any]:
    auth = issued.auth
    out: dict[str, Any] = {
        "identity": issued.record.username,
        "topics": [f"{g.access} {g.topic}" for g in issued.record.identity.grants],
        "ca_file": str(auth.ca_file),
    }
    if auth.cert_file is not None:
        out |= {"cert_file": str(auth.cert_file), "key_file": str(auth.key_file)}
        out["cert_not_after"] = issued.record.cert_not_after
    if issued.record.placements:
        out["location"] = issued.record.placements[-1].location
    if issued.password is not None:
        out["username"] = issued.record.username
        out["password"] = issued.password.get_secret_value()  # shown this once
    return out


@devices.command()
@click.argument("identity")
@broker_dir_option
@reload_option
@reason_option
@click.pass_obj
def revoke(
    settings: Settings, identity: str, broker_dir: Path | None, reload: bool, reason: str | None
) -> None:
    """Revoke IDENTITY (e.g. demo/temperature/probe-cold1-01): CRL, ACL, password file."""
    from gateway.errors import IdentityError

    with audited_registry(settings, "device.revoke", reason) as registry:
        try:
            record = registry.revoke(identity)
        except IdentityError as exc:
            raise _fail(exc) from exc
    _emit({"identity": record.username, "status": record.status, "revoked_at": record.revoked_at})
    _apply(registry, broker_dir, reload)


@devices.command()
@click.argument("identity", required=False)
@click.option("--days", default=365, show_default=True, help="Certificate validity in days.")
@click.option(
    "--expiring",
    type=click.IntRange(min=1),
    metavar="DAYS",
    help="Instead of IDENTITY: renew every active certificate, the broker's certificate "
    "and the CRL that expire within DAYS; old device certificates stay valid until they "
    "expire, so devices keep connecting until their new bundles are installed.",
)
@broker_dir_option
@reload_option
@reason_option
@click.pass_obj
def rotate(
    settings: Settings,
    identity: str | None,
    days: int,
    expiring: int | None,
    broker_dir: Path | None,
    reload: bool,
    reason: str | None,
) -> None:
    """New key and certificate (and password) for IDENTITY; the old ones stop working
    at once (the old serial goes on the CRL). With --expiring DAYS: renewal, see above."""
    from gateway.errors import IdentityError

    if (identity is None) == (expiring is None):
        raise click.UsageError("give either IDENTITY or --expiring DAYS")
    action = "device.rotate" if expiring is None else "device.renew"
    with audited_registry(settings, action, reason) as registry:
        try:
            if expiring is not None:
                _emit(_renewal(registry, expiring, days))
            else:
                _emit(_handout(registry.rotate(identity, days=days)))
        except IdentityError as exc:
            raise _fail(exc) from exc
    _apply(registry, broker_dir, reload)


def _start_check(registry: Any, settings: Settings) -> None:
    """The broker's certificate and the CRL renewed if they lapse soon; warned otherwise."""
    from datetime import timedelta

    from gateway.devices.renewal import check

    check(registry, timedelta(days=settings.devices.expiry_warning_days), broker=True)


def _renewal(registry: Any, within_days: int, days: int) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    from gateway.devices.renewal import renew_expiring

    done = renew_expiring(registry, timedelta(days=within_days), days=days)
    now = datetime.now(UTC)
    return {
        "renewed": [_handout(issued) for issued in done.identities],
        "broker_certificate_renewed": done.broker,
        "crl_renewed": done.crl,
        # Each renewed device needs its new bundle (`tracehub devices export`).
        "still_expiring": [item.describe(now) for item in done.left],
    }


@devices.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (for scripts).")
@click.pass_obj
def list_(settings: Settings, as_json: bool) -> None:
    """Every identity with its status, credentials and certificate expiry."""
    from rich.table import Table

    rows = _expiry_marked(_registry(settings).summary(), settings.devices.expiry_warning_days)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("identity", "kind", "status", "auth", "cert valid until", "revoked at")
    for row in rows:
        table.add_row(
            row["identity"], row["kind"], row["status"], row["auth"],
            _valid_until(row), row["revoked_at"] or "",
        )  # fmt: skip
    console.print(table)
    if soon := sum(1 for row in rows if row["expiring_soon"]):
        days = settings.devices.expiry_warning_days
        console.print(
            f"{soon} certificate(s) expire within {days} days: "
            f"renew with `tracehub devices rotate --expiring {days}`"
        )


def _expiry_marked(rows: list[dict[str, Any]], within_days: int) -> list[dict[str, Any]]:
    """Each row with ``expiring_soon``: an active certificate ending within the window."""
    from datetime import UTC, datetime, timedelta

    limit = datetime.now(UTC) + timedelta(days=within_days)
    for row in rows:
        end = row["cert_not_after"]
        soon = row["status"] == "active" and end is not None
        row["expiring_soon"] = soon and datetime.fromisoformat(end) <= limit
    return rows


def _valid_until(row: dict[str, Any]) -> str:
    end = row["cert_not_after"] or ""
    return f"{end}  EXPIRES SOON" if row["expiring_soon"] else end


@devices.command()
@click.argument("identity")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for ca.crt, client.crt, client.key.",
)
@click.pass_obj
def export(settings: Settings, identity: str, out: Path) -> None:
    """Write IDENTITY's bundle for the device; its key is encrypted with
    $TRACEHUB_DEVICE_BUNDLE_PASSPHRASE (the device's own secret, not the registry's)."""
    from gateway.errors import IdentityError

    secret = os.environ.get(BUNDLE_PASSPHRASE_ENV)
    if not secret:
        raise click.UsageError(f"set {BUNDLE_PASSPHRASE_ENV} to the passphrase for the device")
    try:
        paths = _registry(settings).export(identity, out, secret)
    except IdentityError as exc:
        raise _fail(exc) from exc
    _emit({"identity": identity, "files": [str(p) for p in paths]})


@devices.command(name="provision-demo")
@broker_dir_option
@reload_option
@click.option("--gateway", "gateways", multiple=True, metavar="NAME", help="A gateway "
              "replica's TRACEHUB_MQTT_CLIENT_ID; repeat per replica (default: ours).")  # fmt: skip
@click.pass_obj
def provision_demo(
    settings: Settings, broker_dir: Path | None, reload: bool, gateways: tuple[str, ...]
) -> None:
    """The gateways and the demo site's devices, each probe placed at its scenario
    location and each reader at its read point (docker compose runs this at start)."""
    from gateway.devices.access import Identity
    from tracehub.demo import scenario_devices
    from tracehub.site import provision_devices

    registry = _registry(settings)
    registry.init()
    names = gateways or (settings.mqtt.client_id,)
    made = [registry.ensure(Identity(kind="gateway", device_id=n)).username for n in names]
    made += [r.username for r in provision_devices(registry, scenario_devices(settings.hub.site))]
    _start_check(registry, settings)  # compose runs this at every start, like a hub start
    files = registry.export_broker(broker_dir) if broker_dir else registry.broker_files()
    _emit({"identities": made, "broker": files.model_dump(mode="json")})
    _reload(registry, reload)
