"""AGV fleet (VDA 5050 state): battery, operating mode, errors, positions."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models.dashboard import Threshold, ThresholdsMode

from grafana.boards import new_dashboard
from grafana.panels import (
    query,
    state_timeline_panel,
    table_panel,
    table_query,
    tag_variable,
    timeseries_panel,
    xy_panel,
)
from grafana.policy import Policy

UID = "tracehub-agv"

_WHERE = '"map_id" =~ /^$map_id$/ AND "serial" =~ /^$serial$/ AND $timeFilter'

# VDA 5050 operatingMode values.
_MODES = {
    "AUTOMATIC": "green",
    "SEMIAUTOMATIC": "blue",
    "MANUAL": "yellow",
    "SERVICE": "orange",
    "TEACHIN": "purple",
}


def dashboard(policy: Policy) -> dash.Dashboard:
    del policy  # the fleet has no product band
    return (
        new_dashboard(
            UID,
            "AGV fleet",
            "VDA 5050 state of every vehicle: battery, operating mode, errors and "
            "positions on the warehouse map.",
            "now-6h",
        )
        .with_variable(
            tag_variable("map_id", "Map", 'SHOW TAG VALUES FROM "agv_state" WITH KEY = "map_id"')
        )
        .with_variable(
            tag_variable(
                "serial",
                "Vehicle",
                'SHOW TAG VALUES FROM "agv_state" WITH KEY = "serial" '
                'WHERE "map_id" =~ /^$map_id$/',
            )
        )
        .with_panel(
            timeseries_panel(
                "Battery charge",
                "State of charge per vehicle.",
                query(
                    f'SELECT mean("battery_charge") FROM "agv_state" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "serial" fill(none)',
                    alias="$tag_serial",
                ),
                unit="percent",
            ).thresholds(_battery())
        )
        .with_panel(
            state_timeline_panel(
                "Operating mode",
                "VDA 5050 operatingMode per vehicle.",
                query(
                    f'SELECT last("operating_mode") FROM "agv_state" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "serial" fill(previous)',
                    alias="$tag_serial",
                ),
                colours=_MODES,
            )
        )
        .with_panel(
            timeseries_panel(
                "Errors",
                "Number of active VDA 5050 errors per vehicle.",
                query(
                    f'SELECT max("errors") FROM "agv_state" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "serial" fill(none)',
                    alias="$tag_serial",
                ),
                unit="none",
                bars=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Speed",
                "Speed over ground per vehicle.",
                query(
                    f'SELECT mean("velocity") FROM "agv_state" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "serial" fill(none)',
                    alias="$tag_serial",
                ),
                unit="velocityms",
            )
        )
        .with_panel(
            xy_panel(
                "Positions",
                "Where each vehicle drove on the map (x, y in metres, one point per interval).",
                table_query(
                    f'SELECT mean("x") AS "x", mean("y") AS "y" FROM "agv_state" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "serial" fill(none)'
                ),
            )
        )
        .with_panel(
            table_panel(
                "Fleet now",
                "Last reported state of each vehicle.",
                table_query(
                    f'SELECT last("battery_charge") AS "battery_charge", '
                    f'last("operating_mode") AS "operating_mode", last("errors") AS "errors", '
                    f'last("error_types") AS "error_types", last("load_ids") AS "load_ids" '
                    f'FROM "agv_state" WHERE {_WHERE} GROUP BY "serial"'
                ),
            )
        )
    )


def _battery() -> dash.ThresholdsConfig:
    """Red below 20 %, orange below 40 %: low charge is the fleet's first warning."""
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color="red"),
                Threshold(value=20, color="orange"),
                Threshold(value=40, color="green"),
            ]
        )
    )
