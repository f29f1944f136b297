"""``tracehub status``: where the local hub is reached, every running instance (from
the heartbeats in the records), the hub's readiness, and the gateways' health and
dead-letter counters from InfluxDB.

The endpoints are those a ``tracehub run`` on this state folder wrote
(``<state>/endpoints.json``, ``tracehub.endpoints``); a file whose hub no longer runs
(killed) is said to be stale, not shown as live.

Readiness is the running hub's ``/readyz`` (its components, their last errors, the
records set aside), found at ``--hub``, else the configured public URL, else the URL a
hub started from this state folder wrote (``<state>/web/url``).
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from tracehub.console import console
from tracehub.settings import Settings


@click.command()
@click.option(
    "--hub", "hub_url", help="The hub's URL (default: its public URL, or <state>/web/url)."
)
@click.option(
    "--token",
    envvar="TRACEHUB_HUB_TOKEN",
    help="An admin client's token (`tracehub clients add NAME --scope admin`; env "
    "TRACEHUB_HUB_TOKEN): a hub on another machine shows its errors and set-aside records "
    "only to an admin.",
)
@click.option("--influx-url", help="InfluxDB v1 API URL (default: TRACEHUB_INFLUX_URL).")
@click.option("--database", help="Database (default: TRACEHUB_INFLUX_DATABASE).")
@click.pass_obj
def status(
    settings: Settings,
    hub_url: str | None,
    token: str | None,
    influx_url: str | None,
    database: str | None,
) -> None:
    """Show where the local hub is reached, its readiness (components, last errors,
    records set aside), then each gateway's latest health point (ingest rate, lag,
    spool) and dead letters.

    The endpoints (web, console, MQTT, InfluxDB, chain, databases) are those a
    `tracehub run` on this TRACEHUB_STATE_DIR wrote to <state>/endpoints.json. The
    instances are every `tracehub run` process on the same records database (any
    machine): role, version, health and when each last said so (a heartbeat every 5 s;
    one silent for 15 s is shown as not running). Exits 1
    when the hub answers that it is not ready (0 when ready, or when no hub could be
    reached, which it says).

    \b
    Example:
      TRACEHUB_STATE_DIR=/var/lib/tracehub tracehub status
    """
    local_endpoints(settings)
    running_instances(settings)
    ready = hub_readiness(settings, hub_url, token)

    certificate_expiry(settings)
    gateway_health(settings, influx_url, database)
    if ready is False:  # a script or a probe can act on it (an unreachable hub is said, not 1)
        raise SystemExit(1)


def gateway_health(settings: Settings, influx_url: str | None, database: str | None) -> None:
    """Print each gateway's latest health point and its dead letters, from InfluxDB."""
    from influx.client import InfluxClient
    from influx.errors import InfluxError
    from tracehub.localstack import local_influx_url

    # The influxd a local hub spawned is found as `tracehub verify` finds it.
    url = influx_url or settings.influx.url or local_influx_url(settings)
    if url is None:
        raise click.UsageError("set TRACEHUB_INFLUX_URL or pass --influx-url")
    with InfluxClient(url, database or settings.influx.database) as influx:
        try:
            health = influx.query("SELECT last(*) FROM gateway_health GROUP BY gateway")
            dead = influx.query("SELECT last(count) FROM dead_letter GROUP BY gateway, reason")
        except InfluxError as exc:
            raise click.ClickException(f"cannot read InfluxDB at {url}: {exc}") from exc
    if not health:
        console.print("no gateway has reported health yet (gateway_health is empty)")
        return
    table = Table(title="gateways")
    columns = ["received", "written", "captured", "dead_lettered", "rate_msgs_s", "lag_ms",
               "spool_depth", "spool_bytes", "spool_full_pct"]  # fmt: skip
    table.add_column("gateway")
    table.add_column("as of")
    for column in columns:
        table.add_column(column, justify="right")
    for series in health:
        row = series.rows()[0]
        table.add_row(
            series.tags.get("gateway", "?"),
            _time(row.get("time")),
            *(_fmt(row.get(f"last_{c}")) for c in columns),
        )
    console.print(table)
    if dead:
        letters = Table(title="dead letters (cumulative)")
        for column in ("gateway", "reason", "count"):
            letters.add_column(column, justify="right" if column == "count" else "left")
        for series in dead:
            letters.add_row(
                series.tags.get("gateway", "?"), series.tags.get("reason", "?"),
                _fmt(series.rows()[0].get("last")),
            )  # fmt: skip
        console.print(letters)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _time(ns: Any) -> str:
    from datetime import UTC, datetime

    if not isinstance(ns, int):
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def certificate_expiry(settings: Settings) -> int:
    """Print what of the device registry expires within the warning window (identity
    certificates, the broker's, the CRL, the CA); the number of items. Reads only the
    public files: no passphrase needed, nothing created."""
    from datetime import UTC, datetime, timedelta

    from gateway.devices.expiry import expiring
    from gateway.devices.folder import RegistryFolder
    from gateway.errors import IdentityError

    folder = settings.devices_dir
    if not (folder / "registry.json").exists():
        return 0
    days = settings.devices.expiry_warning_days
    now = datetime.now(UTC)
    try:
        due = expiring(RegistryFolder(folder, None).expiries(settings.hub.site), now,
                       timedelta(days=days))  # fmt: skip
    except IdentityError as exc:
        console.print(f"certificates: cannot read {folder}: {exc}")
        return 0
    if not due:
        console.print(f"certificates: none expires within {days} days")
        return 0
    table = Table(title=f"certificates expiring within {days} days")
    for column in ("what", "expires", "days left"):
        table.add_column(column)
    for item in due:
        left = item.left(now).total_seconds() / 86_400
        subject = item.subject if item.kind == "identity" else item.kind
        table.add_row(subject, f"{item.not_after:%Y-%m-%d %H:%MZ}", f"{left:.0f}")
    console.print(table)
    console.print(f"renew with `tracehub devices rotate --expiring {days}` (docs/security.md)")
    return len(due)


def local_endpoints(settings: Settings) -> bool:
    """Print the endpoints a hub on this state folder wrote; True if that hub runs."""
    from tracehub.endpoints import endpoints_file, read_endpoints
    from tracehub.processes import alive, cmdline

    state = settings.hub.state_dir
    points = read_endpoints(state)
    if points is None:
        return False
    if not alive(points.pid) or "tracehub" not in cmdline(points.pid):  # or a reused pid
        console.print(
            f"endpoints: {endpoints_file(state)} names hub pid {points.pid}, which no longer "
            "runs (killed?); the next `tracehub run` writes it anew",
            soft_wrap=True,
            highlight=False,
        )
        return False
    console.print(f"endpoints of the hub on {points.state_dir} (pid {points.pid}):")
    for line in points.lines():
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    return True


def hub_url_of(settings: Settings, given: str | None) -> str | None:
    """``--hub``, else the public URL, else what a running hub wrote in the state folder."""
    from tracehub.hub import url_file

    if given:
        return given.rstrip("/")
    if settings.web.public_url:
        return settings.web.public_url.rstrip("/")
    written = url_file(settings.hub.state_dir)
    try:
        return written.read_text(encoding="utf-8").strip().rstrip("/") or None
    except OSError:
        return None


def hub_readiness(settings: Settings, given: str | None, token: str | None = None) -> bool | None:
    """Print the hub's readiness; None when no hub is reachable (said so), else ready."""
    import httpx

    from supervision.status import Readiness

    url = hub_url_of(settings, given)
    if url is None:
        console.print(
            "hub: not reachable: no URL (pass --hub URL, set TRACEHUB_WEB_PUBLIC_URL, or "
            f"start the hub with this state folder, {settings.hub.state_dir})"
        )
        return None
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = httpx.get(f"{url}/readyz", headers=headers, timeout=5.0).json()
        report = Readiness.from_json(body)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        console.print(f"hub: not reachable at {url}: {exc}")
        return None
    verdict = "ready" if report.ready else "NOT READY"
    table = Table(title=f"hub {url}: {verdict}")
    for column in ("component", "ready", "state", "restarts", "last error", "detail"):
        table.add_column(column, justify="right" if column == "restarts" else "left")
    for c in report.components:
        error = "-" if c.last_error is None else f"{c.last_error} ({c.last_error.at:%H:%M:%SZ})"
        table.add_row(
            c.name,
            "yes" if c.ready else "NO",
            c.state.value,
            str(c.restarts) if c.supervised else "-",
            error,
            c.detail or "-",
        )
    console.print(table)
    if isinstance(body.get("detail"), str):  # the summary anyone gets: say how to see more
        console.print(f"{body['detail']} (--token)")
    if report.set_aside_count:
        aside = Table(title=f"records set aside ({report.set_aside_count}), newest first")
        for column in ("when", "pipeline", "record", "reason"):
            aside.add_column(column)
        for item in report.set_aside:
            aside.add_row(f"{item.at:%Y-%m-%d %H:%M:%SZ}", item.pipeline, item.record, item.reason)
        console.print(aside)
    else:
        console.print("records set aside: none")
    return report.ready


def running_instances(settings: Settings) -> None:
    """Print every instance whose heartbeat is in the records (none yet: said so)."""
    from datetime import UTC, datetime

    from traceability.errors import TraceabilityError
    from traceability.records.store import RecordStore
    from tracehub.heartbeat import STALE_AFTER_S

    if settings.records.url is None and not (settings.hub.state_dir / "records.db").exists():
        console.print("instances: no records database yet")
        return
    try:
        store = RecordStore.open(settings.records_url)
        try:
            found = store.hub_instances()
        finally:
            store.close()
    except TraceabilityError as exc:
        console.print(f"instances: cannot read the records database: {exc}")
        return
    if not found:
        console.print("instances: none running")
        return
    now = datetime.now(UTC)
    table = Table(title=f"instances ({len(found)})")
    for column in ("roles", "instance", "version", "health", "last seen", "since", "where"):
        table.add_column(column)
    for beat in found:
        age = (now - beat.beat_at).total_seconds()
        waiting = ", ".join(beat.detail.get("not_ready", ()))
        if age > STALE_AFTER_S:
            health = f"NOT RUNNING (silent {_age(age)}: killed?)"
        else:
            health = "healthy" if beat.healthy else f"NOT READY: {waiting}"
        where = beat.detail.get("web") or beat.detail.get("mqtt_client_id") or "-"
        table.add_row(
            ",".join(beat.roles), beat.id, beat.version, health, f"{_age(age)} ago",
            f"{beat.started_at:%Y-%m-%d %H:%M:%SZ}", str(where),
        )  # fmt: skip
    console.print(table)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
