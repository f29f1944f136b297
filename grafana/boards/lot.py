"""Lot drill-down: where a lot was, the temperatures there, and its status."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models.dashboard import Threshold, ThresholdsMode

from grafana.boards import InfluxAnnotation, new_dashboard
from grafana.panels import (
    STATUS_COLOURS,
    band_timeseries_panel,
    level_thresholds,
    query,
    stat_panel,
    state_timeline_panel,
    table_panel,
    table_query,
    tag_variable,
)
from grafana.policy import Policy

UID = "tracehub-lot"

_LOT = "\"gtin\" = '$gtin' AND \"lot\" = '$lot'"

# Budget left: red once nothing is left (exhausted or spent beyond every step), green
# while any is.
_LEFT = (
    dash.ThresholdsConfig()
    .mode(ThresholdsMode.ABSOLUTE)
    .steps([Threshold(value=None, color="red"), Threshold(value=0.001, color="green")])
)


def dashboard(policy: Policy) -> dash.Dashboard:
    return (
        new_dashboard(
            UID,
            "Lot drill-down",
            "One lot (GTIN + lot number): its custody timeline from traceability's "
            "lot_location, the temperatures of the locations it was in, and its status.",
            "now-30d",
        )
        .with_variable(
            tag_variable(
                "gtin", "GTIN", 'SHOW TAG VALUES FROM "lot_status" WITH KEY = "gtin"', multi=False
            )
        )
        .with_variable(
            tag_variable(
                "lot",
                "Lot",
                'SHOW TAG VALUES FROM "lot_status" WITH KEY = "lot" WHERE "gtin" = \'$gtin\'',
                multi=False,
            )
        )
        .with_variable(
            tag_variable(
                "lot_location",
                "Locations of the lot",
                f'SHOW TAG VALUES FROM "lot_location" WITH KEY = "location" WHERE {_LOT}',
                hidden=True,
                all_value=None,
            )
        )
        .annotation(
            InfluxAnnotation(
                "Custody",
                f'SELECT "present" FROM "lot_location" WHERE {_LOT} AND $timeFilter '
                f'GROUP BY "location"',
            )
            .colour("purple")
            .tags_column("location")
        )
        .with_panel(
            stat_panel(
                "Status",
                "ok, at_risk (excursion within budget) or compromised, as traceability "
                "last assessed it.",
                table_query(
                    f'SELECT last("status") AS "status" FROM "lot_status" '
                    f"WHERE {_LOT} AND $timeFilter"
                ),
                text_values=STATUS_COLOURS,
            )
        )
        .with_panel(
            stat_panel(
                "Mean kinetic temperature",
                "MKT of the lot's exposure over its custody timeline.",
                table_query(
                    f'SELECT last("mkt_c") AS "mkt_c" FROM "lot_status" '
                    f"WHERE {_LOT} AND $timeFilter"
                ),
                unit="celsius",
            )
        )
        .with_panel(
            stat_panel(
                "Exposure range",
                "Lowest and highest temperature the lot saw.",
                table_query(
                    f'SELECT last("min_c") AS "min_c", last("max_c") AS "max_c" '
                    f'FROM "lot_status" WHERE {_LOT} AND $timeFilter'
                ),
                unit="celsius",
            )
        )
        .with_panel(
            stat_panel(
                "Minutes out of band",
                f"Excursion minutes against a budget of {policy.excursion_budget_minutes}.",
                table_query(
                    f'SELECT last("excursion_minutes") AS "excursion_minutes" '
                    f'FROM "lot_status" WHERE {_LOT} AND $timeFilter'
                ),
                unit="m",
                thresholds=level_thresholds(1, policy.excursion_budget_minutes),
            )
        )
        .with_panel(
            stat_panel(
                "Stability budget left",
                "What the lot's time out of range left of its product's stability budget "
                "(per temperature step, across every leg and site): the least minutes left "
                "over its steps and that as a percentage of the step's allowance; 0 once a "
                "step is overrun or the lot was at a temperature no step allows (the status "
                "history shows those minutes as beyond_min). Empty: no budget.",
                table_query(
                    f'SELECT last("budget_left_min") AS "minutes_left", '
                    f'last("share_left") * 100 AS "percent_left" '
                    f'FROM "lot_status" WHERE {_LOT} AND $timeFilter'
                ),
                thresholds=_LEFT,
            )
        )
        .with_panel(
            state_timeline_panel(
                "Where the lot was",
                "Presence per location: 1 from arrival, 0 from departure.",
                query(
                    f'SELECT last("present") FROM "lot_location" WHERE {_LOT} AND $timeFilter '
                    f'GROUP BY time($__interval), "location" fill(previous)',
                    alias="$tag_location",
                ),
                colours={"1": "green", "0": "transparent"},
                width=24,
            )
        )
        .with_panel(
            band_timeseries_panel(
                "Temperature at the lot's locations",
                "Probe temperature of every location the lot passed through; the "
                "custody annotations mark when it was there.",
                policy,
                query(
                    'SELECT mean("celsius") FROM "temperature" '
                    'WHERE "location" =~ /^$lot_location$/ AND $timeFilter '
                    'GROUP BY time($__interval), "location" fill(none)',
                    alias="$tag_location",
                ),
                width=24,
            )
        )
        .with_panel(
            table_panel(
                "Status history",
                "Every assessment traceability wrote for the lot.",
                table_query(
                    f'SELECT "status", "mkt_c", "min_c", "max_c", "excursion_minutes", '
                    f'"budget_left_min", "share_left", "beyond_min" '
                    f'FROM "lot_status" WHERE {_LOT} AND $timeFilter'
                ),
                width=24,
            )
        )
    )
