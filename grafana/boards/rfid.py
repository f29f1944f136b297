"""RFID docks: tag reads and distinct tags observed per read point."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from grafana.boards import new_dashboard
from grafana.panels import query, table_panel, table_query, tag_variable, timeseries_panel
from grafana.policy import Policy

UID = "tracehub-rfid"

_WHERE = '"site" =~ /^$site$/ AND "read_point" =~ /^$read_point$/ AND $timeFilter'


def dashboard(policy: Policy) -> dash.Dashboard:
    del policy  # reads have no band
    return (
        new_dashboard(
            UID,
            "RFID docks",
            "Tag reads per dock read point; an observation is a distinct tag (EPC) "
            "seen in the interval, which the gateway turns into one EPCIS event.",
            "now-6h",
        )
        .with_variable(
            tag_variable("site", "Site", 'SHOW TAG VALUES FROM "rfid_read" WITH KEY = "site"')
        )
        .with_variable(
            tag_variable(
                "read_point",
                "Read point",
                'SHOW TAG VALUES FROM "rfid_read" WITH KEY = "read_point" '
                'WHERE "site" =~ /^$site$/',
            )
        )
        .with_panel(
            timeseries_panel(
                "Reads per read point",
                "Raw tag reads (every antenna hit) per interval.",
                query(
                    f'SELECT count("epc") FROM "rfid_read" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "read_point" fill(0)',
                    alias="$tag_read_point",
                ),
                unit="short",
                bars=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Observations per read point",
                "Distinct tags (EPCs) seen per interval.",
                query(
                    f'SELECT count(distinct("epc")) FROM "rfid_read" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "read_point" fill(0)',
                    alias="$tag_read_point",
                ),
                unit="short",
                bars=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Signal strength",
                "Mean RSSI per reader; a falling line is a moved antenna or a blocked door.",
                query(
                    f'SELECT mean("rssi") FROM "rfid_read" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "reader" fill(none)',
                    alias="$tag_reader",
                ),
                unit="dBm",
            )
        )
        .with_panel(
            table_panel(
                "Read points in range",
                "Reads, distinct tags and mean RSSI per reader and read point.",
                table_query(
                    f'SELECT count("epc") AS "reads", count(distinct("epc")) AS "tags", '
                    f'mean("rssi") AS "rssi" FROM "rfid_read" WHERE {_WHERE} '
                    f'GROUP BY "reader", "read_point"'
                ),
            )
        )
    )
