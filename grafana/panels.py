"""Panel and variable builders with tracehub's defaults, on the foundation SDK.

Every panel reads the provisioned InfluxDB data source with raw InfluxQL; the
helpers here keep units, sizes, legends and the band thresholds consistent
across dashboards so each ``boards`` module only says what it shows.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import (
    common as common_builders,
)
from grafana_foundation_sdk.builders import (
    dashboard as dash,
)
from grafana_foundation_sdk.builders import (
    stat as stat_builders,
)
from grafana_foundation_sdk.builders import (
    statetimeline,
    table,
    timeseries,
    xychart,
)
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from grafana.influxql import DATASOURCE, InfluxQueryBuilder
from grafana.policy import Policy

# Status strings written by traceability into lot_status.
STATUS_COLOURS = {"ok": "green", "at_risk": "orange", "compromised": "red"}


def query(influxql: str, ref_id: str = "A", alias: str | None = None) -> InfluxQueryBuilder:
    """A time-series InfluxQL target."""
    target = InfluxQueryBuilder(influxql).ref_id(ref_id)
    return target.alias(alias) if alias is not None else target


def table_query(influxql: str, ref_id: str = "A") -> InfluxQueryBuilder:
    """An InfluxQL target returned as table rows."""
    return InfluxQueryBuilder(influxql).ref_id(ref_id).table()


def band_thresholds(policy: Policy) -> dash.ThresholdsConfig:
    """Blue below the band, green inside, red above: drawn as lines and areas."""
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color="blue"),
                Threshold(value=policy.band_low_c, color="green"),
                Threshold(value=policy.band_high_c, color="red"),
            ]
        )
    )


def level_thresholds(warn: float, critical: float) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color="green"),
                Threshold(value=warn, color="orange"),
                Threshold(value=critical, color="red"),
            ]
        )
    )


def _legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(["mean", "min", "max", "lastNotNull"])
    )


def timeseries_panel(
    title: str,
    description: str,
    *targets: InfluxQueryBuilder,
    unit: str,
    width: int = 12,
    bars: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .legend(_legend())
        .span_nulls(False)
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def band_timeseries_panel(
    title: str, description: str, policy: Policy, *targets: InfluxQueryBuilder, width: int = 12
) -> timeseries.Panel:
    """Temperatures with the product band drawn as threshold lines and areas."""
    style = common_builders.GraphThresholdsStyleConfig().mode(
        common.GraphThresholdsStyleMode.LINE_AND_AREA
    )
    return (
        timeseries_panel(title, description, *targets, unit="celsius", width=width)
        .thresholds(band_thresholds(policy))
        .thresholds_style(style)
    )


def stat_panel(
    title: str,
    description: str,
    *targets: InfluxQueryBuilder,
    unit: str = "none",
    width: int = 6,
    thresholds: dash.ThresholdsConfig | None = None,
    text_values: dict[str, str] | None = None,
) -> stat_builders.Panel:
    """A big number; ``text_values`` colours string values (e.g. lot status)."""
    reduce = (
        common_builders.ReduceDataOptions()
        .calcs(["lastNotNull"])
        .values(False)
        .fields("/.*/" if text_values else "")
    )
    panel = (
        stat_builders.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .reduce_options(reduce)
        .color_mode(
            common.BigValueColorMode.BACKGROUND if text_values else common.BigValueColorMode.VALUE
        )
    )
    if thresholds is not None:
        panel = panel.thresholds(thresholds)
    if text_values:
        options = {
            value: ValueMappingResult(text=value, color=colour, index=i)
            for i, (value, colour) in enumerate(text_values.items())
        }
        panel = panel.mappings([ValueMap(options=options)])
    for target in targets:
        panel = panel.with_target(target)
    return panel


def table_panel(
    title: str, description: str, *targets: InfluxQueryBuilder, width: int = 12
) -> table.Panel:
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(8)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def state_timeline_panel(
    title: str,
    description: str,
    *targets: InfluxQueryBuilder,
    colours: dict[str, str],
    width: int = 12,
) -> statetimeline.Panel:
    options = {
        value: ValueMappingResult(text=value, color=colour, index=i)
        for i, (value, colour) in enumerate(colours.items())
    }
    panel = (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(8)
        .mappings([ValueMap(options=options)])
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def xy_panel(
    title: str, description: str, *targets: InfluxQueryBuilder, width: int = 12
) -> xychart.Panel:
    panel = (
        xychart.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(10)
        .unit("lengthm")
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def tag_variable(
    name: str,
    label: str,
    influxql: str,
    *,
    multi: bool = True,
    hidden: bool = False,
    all_value: str | None = ".*",
) -> dash.QueryVariable:
    """A variable listing tag values (``SHOW TAG VALUES``), "All" selected by default.

    Multi-value variables are used as ``=~ /^$name$/`` so Grafana regex-escapes
    and ORs the selection. "All" is ``.*`` (cheap, and never an empty regex)
    unless ``all_value`` is None: then "All" means exactly the listed values,
    which is what a variable restricted by another (the lot's locations) needs.
    """
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(DataSourceRef(type_val=DATASOURCE.type_val, uid=DATASOURCE.uid))
        .query(influxql)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
        )
        if all_value is not None:
            variable = variable.all_value(all_value)
    if hidden:
        variable = variable.hide(VariableHide.HIDE_VARIABLE)
    return variable
