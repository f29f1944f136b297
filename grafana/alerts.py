"""Alert rules and their contact point, as Grafana unified alerting resources.

Rules (one group, evaluated every minute):

- **Temperature out of band**: a location's latest 1-minute mean outside the
  band for longer than the excursion budget (the rule's pending period).
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
from typing import Any

from grafana_foundation_sdk.builders import alerting
from grafana_foundation_sdk.builders import expr as expr_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.alerting import RelativeTimeRange

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


def _rule(uid: str, title: str, minutes: int) -> alerting.Rule:
    return (
        alerting.Rule(title)
        .uid(uid)
        .folder_uid(FOLDER_UID)
        .rule_group(GROUP)
        .org_id(1)
        .condition("C")
        .for_val(f"{minutes}m")
        .exec_err_state("Error")
        .notification_settings(alerting.NotificationSettings().receiver(CONTACT_POINT))
    )


def rule_builders(policy: Policy) -> list[alerting.Rule]:
    low, high = policy.band_low_c, policy.band_high_c
    budget = policy.excursion_budget_minutes
    return [
        _rule(TEMPERATURE_UID, "Temperature out of band", budget)
        .queries(
            [
                _influx(
                    "A",
                    'SELECT mean("celsius") FROM "temperature" WHERE $timeFilter '
                    'GROUP BY time(1m), "site", "location" fill(none)',
                    300,
                ),
                _reduce("B", "A", "last"),
                _threshold("C", "B", "outside_range", [low, high]),
            ]
        )
        .no_data_state("OK")
        .labels({"severity": "critical", "area": "cold-chain"})
        .annotations(
            {
                "summary": "{{ $labels.location }} is out of the " + f"{low:g}–{high:g} °C band",
                "description": "{{ $labels.location }} (site {{ $labels.site }}) read "
                "{{ $values.B }} °C and has been outside "
                f"{low:g}–{high:g} °C for more than {budget} minutes, the product's "
                "excursion budget. Move the product or fix the cooling.",
            }
        ),
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


def rules(policy: Policy) -> list[dict[str, Any]]:
    """The rules as the HTTP provisioning API takes them (``/api/v1/provisioning/alert-rules``)."""
    return [_json(rule.build()) for rule in rule_builders(policy)]


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


def provisioning(policy: Policy) -> dict[str, Any]:
    """The file provisioning document (``grafana/provisioning/alerting/tracehub.yaml``)."""
    file_rules = []
    for rule in rules(policy):
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
