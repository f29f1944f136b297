"""``tracehub grafana``: generate, check and publish the dashboards and alert rules.

The temperature alert rules come from the hub's alarm rules (``TRACEHUB_ALARMS_FILE`` or
the defaults), translated by ``temperature_alerts``, so Grafana and the hub alarm on the
same limits. Grafana cannot see master data, so a ``band: product`` rule alerts on the
policy band, and a rule's ``applies_to`` reaches Grafana only through its location URNs
and sites (tag regular expressions); kinds and products scope the hub's alarm alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracehub.console import Problem, console

if TYPE_CHECKING:
    from grafana.alerts import TemperatureAlert
    from grafana.policy import Policy
    from traceability.alarms.rules import RuleSet

_UID_MAX = 40  # Grafana's limit on a rule uid


def temperature_alerts(rules: RuleSet, policy: Policy) -> tuple[TemperatureAlert, ...]:
    """The hub's temperature alarm rules as Grafana temperature alerts."""
    from grafana.alerts import TemperatureAlert
    from traceability.alarms.rules import TemperatureRule

    out = []
    for rule in rules.rules:
        if not isinstance(rule, TemperatureRule):
            continue
        low: float | None
        high: float | None
        if rule.band == "product":
            low, high, title = policy.band_low_c, policy.band_high_c, "Temperature out of band"
        else:
            low, high = rule.below_c, rule.above_c
            title = f"Temperature rule {rule.id}"
        out.append(
            TemperatureAlert(
                uid=_uid(rule.id),
                title=title,
                location=_any_of(rule.applies_to.locations),
                site=_any_of(rule.applies_to.sites),
                low=low,
                high=high,
                minutes=rule.for_min,
                severity=rule.severity,
            )
        )
    return tuple(out)


def _uid(rule_id: str) -> str:
    uid = f"tracehub-{rule_id}".replace(".", "-")
    if len(uid) <= _UID_MAX:
        return uid
    digest = hashlib.sha256(rule_id.encode()).hexdigest()[:8]
    return f"{uid[: _UID_MAX - 9]}-{digest}"


def _any_of(values: Sequence[str]) -> str | None:
    return None if not values else "^(" + "|".join(re.escape(v) for v in values) + ")$"


def _rule_set(alarms_file: Path | None) -> RuleSet:
    from traceability.alarms.rules import RuleSet
    from traceability.errors import RuleFileError

    if alarms_file is None:
        return RuleSet.default()
    try:
        return RuleSet.load(alarms_file)
    except RuleFileError as exc:
        raise Problem(str(exc)) from exc


@click.group()
def grafana() -> None:
    """Grafana dashboards and alert rules, as code (docs/grafana.md)."""


alarms_file_option = click.option(
    "--alarms-file",
    envvar="TRACEHUB_ALARMS_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Alarm rule file whose temperature rules become the alert rules; "
    "default $TRACEHUB_ALARMS_FILE, else the hub's default rules.",
)


@grafana.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is out of date.")
@alarms_file_option
def generate(check: bool, alarms_file: Path | None) -> None:
    """Write grafana/dashboards/*.json and the alerting provisioning from the code."""
    from grafana import generate as generator
    from grafana.policy import Policy

    policy = Policy()
    temperature = temperature_alerts(_rule_set(alarms_file), policy)
    if check:
        stale = generator.stale(policy, temperature)
        for path in stale:
            console.print(f"stale: {path}")
        if stale:
            raise SystemExit(1)
        console.print("dashboards and alerting provisioning are up to date")
        return
    for path in generator.write(policy, temperature):
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
@alarms_file_option
def publish(
    url: str,
    token: str | None,
    datasource_uid: str,
    webhook_url: str | None,
    alarms_file: Path | None,
) -> None:
    """Push dashboards, alert rules and the contact point to a running Grafana.

    Idempotent: each resource is read first and written only if it differs, so
    a second run changes nothing. Needs the optional extra: URLLIB3_NO_OVERRIDE=1
    pip install --no-binary urllib3-future 'tracehub[grafana]'. Exit codes: 0 done,
    2 usage, connection or permission problem.
    """
    from grafana.errors import PublishError
    from grafana.policy import Policy
    from grafana.publish import Publisher

    try:
        from grafana.client import GrafanaClientApi

        with GrafanaClientApi(url, token) as api:
            policy = Policy()
            publisher = Publisher(
                api,
                policy,
                datasource_uid=datasource_uid,
                webhook_url=webhook_url,
                temperature=temperature_alerts(_rule_set(alarms_file), policy),
            )
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
