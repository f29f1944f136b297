"""``tracehub grafana``: generate, check and publish the dashboards and alert rules."""

from __future__ import annotations

import click

from tracehub.console import Problem, console


@click.group()
def grafana() -> None:
    """Grafana dashboards and alert rules, as code (docs/grafana.md)."""


@grafana.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is out of date.")
def generate(check: bool) -> None:
    """Write grafana/dashboards/*.json and the alerting provisioning from the code."""
    from grafana import generate as generator

    if check:
        stale = generator.stale()
        for path in stale:
            console.print(f"stale: {path}")
        if stale:
            raise SystemExit(1)
        console.print("dashboards and alerting provisioning are up to date")
        return
    for path in generator.write():
        console.print(f"wrote {path}")


@grafana.command()
@click.option(
    "--url", required=True, metavar="URL", help="Grafana's URL, e.g. http://localhost:3000"
)
@click.option(
    "--token",
    envvar="TRACEHUB_GRAFANA_TOKEN",
    metavar="TOKEN",
    help="Service account token (Editor or Admin); default $TRACEHUB_GRAFANA_TOKEN.",
)
@click.option(
    "--datasource-uid",
    default="tracehub-influxdb",
    show_default=True,
    help="uid of that Grafana's InfluxDB (InfluxQL) data source.",
)
@click.option(
    "--webhook-url",
    envvar="TRACEHUB_ALERT_WEBHOOK_URL",
    metavar="URL",
    help="Where the tracehub contact point POSTs alerts; needed the first time.",
)
def publish(url: str, token: str | None, datasource_uid: str, webhook_url: str | None) -> None:
    """Push dashboards, alert rules and the contact point to a running Grafana.

    Idempotent: each resource is read first and written only if it differs, so
    a second run changes nothing. Needs the optional extra: URLLIB3_NO_OVERRIDE=1
    pip install --no-binary urllib3-future 'tracehub[grafana]'. Exit codes: 0 done,
    2 usage, connection or permission problem.
    """
    from grafana.errors import PublishError
    from grafana.publish import Publisher

    try:
        from grafana.client import GrafanaClientApi

        with GrafanaClientApi(url, token) as api:
            publisher = Publisher(api, datasource_uid=datasource_uid, webhook_url=webhook_url)
            report = publisher.publish()
    except (ImportError, ValueError, PublishError) as exc:
        raise Problem(str(exc)) from exc
    for label, items in (("created", report.created), ("updated", report.updated)):
        for item in items:
            console.print(f"{label} {item}")
    if report.changed:
        console.print(
            f"published to {url}: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged"
        )
    else:
        console.print(f"{url} is up to date ({len(report.unchanged)} resources unchanged)")
