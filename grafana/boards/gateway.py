"""Gateway health: ingest rate, lag, spool and dead letters."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from grafana.boards import new_dashboard
from grafana.panels import (
    level_thresholds,
    query,
    table_panel,
    table_query,
    tag_variable,
    timeseries_panel,
)
from grafana.policy import Policy

UID = "tracehub-gateway"

_WHERE = '"gateway" =~ /^$gateway$/ AND $timeFilter'


def dashboard(policy: Policy) -> dash.Dashboard:
    near_full = policy.spool_near_full_bytes
    return (
        new_dashboard(
            UID,
            "Gateway health",
            "Each gateway's heartbeat (every 10 s): ingest rate, lag, spool and dead letters.",
            "now-6h",
        )
        .with_variable(
            tag_variable(
                "gateway", "Gateway", 'SHOW TAG VALUES FROM "gateway_health" WITH KEY = "gateway"'
            )
        )
        .with_panel(
            timeseries_panel(
                "Ingest rate",
                "Messages received per second, as the gateway measured it.",
                query(
                    f'SELECT mean("rate_msgs_s") FROM "gateway_health" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Lag",
                "Median time from the device's timestamp to the InfluxDB write.",
                query(
                    f'SELECT mean("lag_ms") FROM "gateway_health" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway",
                ),
                unit="ms",
            )
        )
        .with_panel(
            timeseries_panel(
                "Spool depth",
                "Messages spooled but not yet written to InfluxDB.",
                query(
                    f'SELECT max("spool_depth") FROM "gateway_health" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway",
                ),
                unit="short",
            )
        )
        .with_panel(
            timeseries_panel(
                "Spool size",
                f"Bytes in the spool; near full from {near_full} bytes "
                f"({policy.spool_near_full_ratio:.0%} of {policy.spool_capacity_bytes}).",
                query(
                    f'SELECT max("spool_bytes") FROM "gateway_health" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway",
                ),
                unit="bytes",
            ).thresholds(level_thresholds(near_full, policy.spool_capacity_bytes))
        )
        .with_panel(
            timeseries_panel(
                "Throughput",
                "Messages written to InfluxDB and events captured, per second "
                "(from the cumulative counters).",
                query(
                    f'SELECT non_negative_derivative(last("written"), 1s) AS "written", '
                    f'non_negative_derivative(last("captured"), 1s) AS "captured" '
                    f'FROM "gateway_health" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway $col",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Dead letters",
                "Messages dead-lettered per interval, by reason.",
                query(
                    f'SELECT non_negative_difference(last("count")) FROM "dead_letter" '
                    f'WHERE {_WHERE} GROUP BY time($__interval), "gateway", "reason" fill(none)',
                    alias="$tag_gateway $tag_reason",
                ),
                unit="short",
                bars=True,
            )
        )
        .with_panel(
            table_panel(
                "Dead letters by reason",
                "Cumulative dead letters per gateway and reason (last value in range).",
                table_query(
                    f'SELECT last("count") AS "dead_lettered" FROM "dead_letter" WHERE {_WHERE} '
                    f'GROUP BY "gateway", "reason"'
                ),
                width=24,
            )
        )
    )
