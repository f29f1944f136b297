"""Cold-chain overview: every room, reefer and box against its band."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from grafana.boards import InfluxAnnotation, new_dashboard
from grafana.panels import (
    band_timeseries_panel,
    query,
    stat_panel,
    table_panel,
    table_query,
    tag_variable,
    timeseries_panel,
)
from grafana.policy import Policy

UID = "tracehub-coldchain"

_WHERE = '"site" =~ /^$site$/ AND "location" =~ /^$location$/ AND $timeFilter'
# The 15-minute rollup the hub's continuous query keeps for years (TRACEHUB_RETENTION_ROLLUP_*
# defaults, docs/retention.md): long ranges read it instead of every raw reading.
ROLLUP = '"rollup"."temperature_15m"'


def dashboard(policy: Policy) -> dash.Dashboard:
    low, high = policy.band_low_c, policy.band_high_c
    out_of_band = f'("celsius" < {low} OR "celsius" > {high})'
    k = policy.mkt_activation_k
    return (
        new_dashboard(
            UID,
            "Cold chain overview",
            f"Product temperature per location against the {low}–{high} °C band; "
            f"excursions and door openings are annotated.",
            "now-24h",
        )
        .with_variable(
            tag_variable("site", "Site", 'SHOW TAG VALUES FROM "temperature" WITH KEY = "site"')
        )
        .with_variable(
            tag_variable(
                "location",
                "Location",
                'SHOW TAG VALUES FROM "temperature" WITH KEY = "location" '
                'WHERE "site" =~ /^$site$/',
            )
        )
        .annotation(
            InfluxAnnotation(
                "Excursions",
                f'SELECT max("celsius") AS "max_c", min("celsius") AS "min_c" '
                f'FROM "temperature" WHERE {out_of_band} AND {_WHERE} '
                f'GROUP BY time(5m), "location" fill(none)',
            )
            .colour("red")
            .text_column("max_c")
            .tags_column("location")
        )
        .annotation(
            InfluxAnnotation(
                "Door opened",
                'SELECT "door_open", "temperature_c" FROM "coldroom" '
                'WHERE "door_open" = true AND "site" =~ /^$site$/ AND $timeFilter '
                'GROUP BY "location"',
            )
            .colour("orange")
            .text_column("temperature_c")
            .tags_column("location")
        )
        .with_panel(
            band_timeseries_panel(
                "Temperature per location",
                f"Mean probe temperature per location (rooms, reefers, boxes); "
                f"the band {low}–{high} °C is green.",
                policy,
                query(
                    f'SELECT mean("celsius") FROM "temperature" WHERE {_WHERE} '
                    f'GROUP BY time($__interval), "location" fill(none)',
                    alias="$tag_location",
                ),
                width=24,
            )
        )
        .with_panel(
            band_timeseries_panel(
                "Temperature per location, months to years (15-minute rollup)",
                "Mean, lowest and highest reading per 15 minutes, kept as long as the "
                "rollup policy (10 years by default) after raw readings expire: for "
                "ranges of months and years.",
                policy,
                query(
                    f'SELECT mean("mean") AS "mean", min("min") AS "min", max("max") AS "max" '
                    f"FROM {ROLLUP} WHERE {_WHERE} "
                    f'GROUP BY time($__interval), "location" fill(none)',
                    alias="$tag_location $col",
                ),
                width=24,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cold rooms: temperature and setpoint",
                "PLC air temperature and setpoint per cold room (OPC UA).",
                query(
                    'SELECT mean("temperature_c") AS "temperature", '
                    'mean("setpoint_c") AS "setpoint" FROM "coldroom" '
                    'WHERE "site" =~ /^$site$/ AND $timeFilter '
                    'GROUP BY time($__interval), "location" fill(none)',
                    alias="$tag_location $col",
                ),
                unit="celsius",
            )
        )
        .with_panel(
            timeseries_panel(
                "Compressor power",
                "Compressor electrical power per cold room.",
                query(
                    'SELECT mean("compressor_kw") FROM "coldroom" '
                    'WHERE "site" =~ /^$site$/ AND $timeFilter '
                    'GROUP BY time($__interval), "location" fill(none)',
                    alias="$tag_location",
                ),
                unit="kwatt",
            )
        )
        .with_panel(
            table_panel(
                "Mean kinetic temperature per location",
                f"MKT over the selected range (ΔH/R = {k:g} K), with min, max and "
                f"the number of readings out of band.",
                table_query(
                    f'SELECT -{k} / LN(MEAN("a")) - 273.15 AS "mkt_c" FROM '
                    f'(SELECT EXP(-{k} / ("celsius" + 273.15)) AS "a" FROM "temperature" '
                    f'WHERE {_WHERE} GROUP BY "location") GROUP BY "location"',
                    "A",
                ),
                table_query(
                    f'SELECT min("celsius") AS "min_c", max("celsius") AS "max_c", '
                    f'count("celsius") AS "readings" FROM "temperature" WHERE {_WHERE} '
                    f'GROUP BY "location"',
                    "B",
                ),
                table_query(
                    f'SELECT count("celsius") AS "out_of_band" FROM "temperature" '
                    f'WHERE {out_of_band} AND {_WHERE} GROUP BY "location"',
                    "C",
                ),
            )
        )
        .with_panel(
            stat_panel(
                "Door openings",
                "Door-open events per cold room in the range (the PLC reports changes).",
                table_query(
                    'SELECT count("door_open") AS "openings" FROM "coldroom" '
                    'WHERE "door_open" = true AND "site" =~ /^$site$/ AND $timeFilter '
                    'GROUP BY "location"'
                ),
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Readings out of band",
                f"Probe readings outside {low}–{high} °C in the range.",
                table_query(
                    f'SELECT count("celsius") AS "out_of_band" FROM "temperature" '
                    f"WHERE {out_of_band} AND {_WHERE}"
                ),
                width=6,
            )
        )
    )
