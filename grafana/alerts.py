"""Alert rules and their contact point, as Grafana unified alerting resources.

Rules (one group, evaluated every minute):

- **Temperature** (one rule per :class:`TemperatureAlert`): a location's latest
  1-minute mean outside the limits for longer than the rule's minutes (its pending
  period). The definitions are the hub's alarm rules (``traceability.alarms.rules``),
  translated by ``tracehub grafana generate``; without them, :func:`default_temperature`
  is the translation of the hub's default rule set (the policy band for 15 minutes), so
  the committed provisioning and the hub alarm on the same limits.
- **Spool near full**: a gateway's spool above the near-full share of its
  capacity.
- **Gateway silent**: no heartbeat from a gateway for ~3 minutes (each
  gateway writes ``gateway_health`` every 10 s; the query counts heartbeats
  per minute with ``fill(0)`` so a silent gateway still has a series to alert
  on); ``noDataState: Alerting`` covers every gateway being gone.
- **Gateway ingest stopped**: a gateway alive but receiving nothing.

Each rule routes straight to the ``tracehub`` contact point (a webhook whose
URL comes from ``$TRACEHUB_ALERT_WEBHOOK_URL`` when Grafana provisions the
file; Grafana expands environment variables in contact point settings, not in
rule queries, so ``$timeFilter`` is safe there).

:func:`rules` gives the HTTP provisioning API's shape (built with the
foundation SDK's alerting builders, used by ``publish``); :func:`provisioning`
the file provisioning document Grafana reads at start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from grafana_foundation_sdk.builders import alerting
from grafana_foundation_sdk.builders import expr as expr_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.alerting import RelativeTimeRange
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grafana.influxql import DATASOURCE_UID, InfluxQueryBuilder
from grafana.policy import Policy

FOLDER_UID = "tracehub"
FOLDER_TITLE = "tracehub"
GROUP = "tracehub"
GROUP_INTERVAL_S = 60
CONTACT_POINT = "tracehub"
CONTACT_POINT_UID = "tracehub-webhook"
WEBHOOK_URL_ENV = "TRACEHUB_ALERT_WEBHOOK_URL"
EXPRESSION_UID = "__expr__"

TEMPERATURE_UID = "tracehub-temperature-band"
SPOOL_UID = "tracehub-spool-near-full"
SILENT_UID = "tracehub-gateway-silent"
INGEST_UID = "tracehub-gateway-no-ingest"

_HEARTBEAT_WINDOW_S = 6 * 3600  # a dead gateway keeps alerting this long
# The hub's default temperature alarm holds for 15 minutes (RuleSet.default()).
DEFAULT_TEMPERATURE_MINUTES = 15.0


class TemperatureAlert(BaseModel):
    """One temperature alert rule: limits, where, and how long before it fires."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    title: str = Field(min_length=1, max_length=190)
    location: str | None = None  # a regular expression on the location tag; None: all
    site: str | None = None  # a regular expression on the site tag; None: all
    low: float | None = None  # alert below this
    high: float | None = None  # alert above this
    minutes: float = Field(ge=0)
    severity: Literal["warning", "critical"] = "critical"

    @model_validator(mode="after")
    def _limits(self) -> TemperatureAlert:
        if self.low is None and self.high is None:
            raise ValueError("low/high: give at least one limit")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    @property
    def band(self) -> str:
        if self.low is not None and self.high is not None:
            return f"the {self.low:g}–{self.high:g} °C band"
        if self.high is not None:
            return f"{self.high:g} °C"
        return f"{self.low:g} °C"


def default_temperature(policy: Policy) -> tuple[TemperatureAlert, ...]:
    """The temperature alerts when none are given: the policy band, everywhere."""
    return (
        TemperatureAlert(
            uid=TEMPERATURE_UID,
            title="Temperature out of band",
            low=policy.band_low_c,
            high=policy.band_high_c,
            minutes=DEFAULT_TEMPERATURE_MINUTES,
        ),
    )


def _influx(ref_id: str, influxql: str, seconds: int) -> alerting.Query:
    return (
        alerting.Query(ref_id)
        .datasource_uid(DATASOURCE_UID)
        .relative_time_range(RelativeTimeRange(from_val=seconds, to=0))
        .model(InfluxQueryBuilder(influxql).ref_id(ref_id))
    )


def _expression(ref_id: str, model: cogbuilder.Builder[cogvariants.Dataquery]) -> alerting.Query:
    return alerting.Query(ref_id).datasource_uid(EXPRESSION_UID).model(model)


def _reduce(ref_id: str, source: str, reducer: str) -> alerting.Query:
    model = (
        expr_builders.TypeReduce()
        .ref_id(ref_id)
        .expression(source)
        .reducer(reducer)  # type: ignore[arg-type]
        .settings(expr_builders.ExprTypeReduceSettings().mode("dropNN"))
    )
    return _expression(ref_id, model)


def _threshold(ref_id: str, source: str, kind: str, params: list[float]) -> alerting.Query:
    evaluator = expr_builders.ExprTypeThresholdConditionsEvaluator().type(kind).params(params)  # type: ignore[arg-type]
    model = (
        expr_builders.TypeThreshold()
        .ref_id(ref_id)
        .expression(source)
        .conditions([expr_builders.ExprTypeThresholdConditions().evaluator(evaluator)])
    )
    return _expression(ref_id, model)


def _rule(uid: str, title: str, minutes: float) -> alerting.Rule:
    pending = f"{minutes:g}m" if float(minutes).is_integer() else f"{round(minutes * 60)}s"
    return (
        alerting.Rule(title)
        .uid(uid)
        .folder_uid(FOLDER_UID)
        .rule_group(GROUP)
        .org_id(1)
        .condition("C")
        .for_val(pending)
        .exec_err_state("Error")
        .notification_settings(alerting.NotificationSettings().receiver(CONTACT_POINT))
    )


def _temperature_rule(alert: TemperatureAlert) -> alerting.Rule:
    where = [
        f'"{tag}" =~ /{_regex(pattern)}/'
        for tag, pattern in (("location", alert.location), ("site", alert.site))
        if pattern is not None
    ]
    if alert.low is not None and alert.high is not None:
        threshold = _threshold("C", "B", "outside_range", [alert.low, alert.high])
        reads = "outside"
    elif alert.high is not None:
        threshold = _threshold("C", "B", "gt", [alert.high])
        reads = "above"
    else:
        assert alert.low is not None  # the model requires one limit
        threshold = _threshold("C", "B", "lt", [alert.low])
        reads = "below"
    return (
        _rule(alert.uid, alert.title, alert.minutes)
        .queries(
            [
                _influx(
                    "A",
                    'SELECT mean("celsius") FROM "temperature" WHERE '
                    + "".join(f"{w} AND " for w in where)
                    + '$timeFilter GROUP BY time(1m), "site", "location" fill(none)',
                    300,
                ),
                _reduce("B", "A", "last"),
                threshold,
            ]
        )
        .no_data_state("OK")
        .labels({"severity": alert.severity, "area": "cold-chain"})
        .annotations(
            {
                "summary": "{{ $labels.location }} is " + f"{reads} {alert.band}",
                "description": "{{ $labels.location }} (site {{ $labels.site }}) read "
                "{{ $values.B }} °C and has been "
                f"{reads} {alert.band} for more than {alert.minutes:g} minutes "
                f"(rule {alert.uid}). Move the product or fix the cooling.",
            }
        )
    )


def _regex(pattern: str) -> str:
    """``pattern`` inside InfluxQL's ``/…/`` (a slash would end it)."""
    return pattern.replace("/", "\\/")


def rule_builders(
    policy: Policy, temperature: Sequence[TemperatureAlert] | None = None
) -> list[alerting.Rule]:
    """Every rule: the temperature alerts (default :func:`default_temperature`), then the
    gateway's."""
    alerts = default_temperature(policy) if temperature is None else tuple(temperature)
    return [
        *(_temperature_rule(alert) for alert in alerts),
        _rule(SPOOL_UID, "Gateway spool near full", 2)
        .queries(
            [
                _influx(
                    "A",
                    'SELECT max("spool_bytes") FROM "gateway_health" WHERE $timeFilter '
                    'GROUP BY time(1m), "gateway" fill(none)',
                    300,
                ),
                _reduce("B", "A", "last"),
                _threshold("C", "B", "gt", [float(policy.spool_near_full_bytes)]),
            ]
        )
        .no_data_state("OK")
        .labels({"severity": "warning", "area": "gateway"})
        .annotations(
            {
                "summary": "Gateway {{ $labels.gateway }} spool is near full",
                "description": "The spool holds {{ $values.B }} bytes, over "
                f"{policy.spool_near_full_ratio:.0%} of {policy.spool_capacity_bytes} bytes: "
                "InfluxDB is not keeping up or is down. When the spool is full the "
                "gateway stops acknowledging and the broker queues.",
            }
        ),
        _rule(SILENT_UID, "Gateway silent", 0)
        .queries(
            [
                _influx(
                    "A",
                    'SELECT moving_average(count("rate_msgs_s"), 3) FROM "gateway_health" '
                    'WHERE $timeFilter GROUP BY time(1m), "gateway" fill(0)',
                    _HEARTBEAT_WINDOW_S,
                ),
                _reduce("B", "A", "last"),
                _threshold("C", "B", "lt", [0.5]),
            ]
        )
        .no_data_state("Alerting")
        .labels({"severity": "critical", "area": "gateway"})
        .annotations(
            {
                "summary": "Gateway {{ $labels.gateway }} is silent",
                "description": "No health heartbeat from gateway {{ $labels.gateway }} for "
                "about 3 minutes (it sends one every 10 s). Check the process and its "
                "connection to InfluxDB.",
            }
        ),
        _rule(INGEST_UID, "Gateway ingest stopped", policy.gateway_silent_minutes)
        .queries(
            [
                _influx(
                    "A",
                    'SELECT mean("rate_msgs_s") FROM "gateway_health" WHERE $timeFilter '
                    'GROUP BY time(1m), "gateway" fill(none)',
                    300,
                ),
                _reduce("B", "A", "last"),
                _threshold("C", "B", "lt", [0.01]),
            ]
        )
        .no_data_state("OK")
        .labels({"severity": "warning", "area": "gateway"})
        .annotations(
            {
                "summary": "Gateway {{ $labels.gateway }} receives no messages",
                "description": "Gateway {{ $labels.gateway }} is alive but has received "
                f"nothing for {policy.gateway_silent_minutes} minutes: check the broker and "
                "the devices.",
            }
        ),
    ]


def rules(
    policy: Policy, temperature: Sequence[TemperatureAlert] | None = None
) -> list[dict[str, Any]]:
    """The rules as the HTTP provisioning API takes them (``/api/v1/provisioning/alert-rules``)."""
    return [_json(rule.build()) for rule in rule_builders(policy, temperature)]


def contact_point() -> dict[str, Any]:
    """The webhook contact point, its URL left to Grafana's environment expansion."""
    point = (
        alerting.ContactPoint()
        .uid(CONTACT_POINT_UID)
        .name(CONTACT_POINT)
        .type("webhook")
        .settings({"url": f"${WEBHOOK_URL_ENV}", "httpMethod": "POST"})
        .disable_resolve_message(False)
    )
    return _json(point.build())


def provisioning(
    policy: Policy, temperature: Sequence[TemperatureAlert] | None = None
) -> dict[str, Any]:
    """The file provisioning document (``grafana/provisioning/alerting/tracehub.yaml``)."""
    file_rules = []
    for rule in rules(policy, temperature):
        # The file format names the group and folder once, on the group.
        file_rules.append(
            {k: v for k, v in rule.items() if k not in {"folderUID", "ruleGroup", "orgID"}}
        )
    point = contact_point()
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": 1,
                "name": CONTACT_POINT,
                "receivers": [
                    {
                        "uid": point["uid"],
                        "type": point["type"],
                        "settings": point["settings"],
                        "disableResolveMessage": point["disableResolveMessage"],
                    }
                ],
            }
        ],
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER_TITLE,
                "interval": f"{GROUP_INTERVAL_S}s",
                "rules": file_rules,
            }
        ],
    }


def _json(value: object) -> dict[str, Any]:
    """A built SDK object as plain JSON data (its encoder resolves nested models)."""
    loaded: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(value))
    return loaded
