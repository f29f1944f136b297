"""One module per dashboard; this module holds what they share.

Each board module exposes ``UID`` and ``dashboard(policy)``; :data:`BOARDS`
lists them in the order the generator writes them.
"""

from __future__ import annotations

from typing import Self

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from grafana.influxql import DATASOURCE, InfluxQuery

TAGS = ["tracehub"]


def new_dashboard(uid: str, title: str, description: str, time_from: str) -> dash.Dashboard:
    """A dashboard with tracehub's defaults: stable uid, UTC, shared crosshair."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([*TAGS, uid.removeprefix("tracehub-")])
        .timezone("utc")
        .time(time_from, "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .editable()
    )


class _InfluxAnnotationQuery(models.AnnotationQuery):
    """An annotation whose events come from an InfluxQL query.

    The SDK's annotation target is the built-in (tags/limit) kind; Grafana's
    InfluxDB plugin reads ``target.query`` with the text and tags columns.
    """

    def __init__(self, name: str, query: InfluxQuery, colour: str, text: str, tags: str) -> None:
        super().__init__(name=name, datasource=DATASOURCE, enable=True, icon_color=colour)
        self.query = query
        self.text_column = text
        self.tags_column = tags

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload["target"] = {
            **self.query.to_json(),
            "fromAnnotations": True,
            "textColumn": self.text_column,
            "tagsColumn": self.tags_column,
        }
        return payload


class InfluxAnnotation(cogbuilder.Builder[models.AnnotationQuery]):
    """Builder for an InfluxQL annotation (``Dashboard.annotation(...)``)."""

    def __init__(self, name: str, influxql: str) -> None:
        self._internal = _InfluxAnnotationQuery(
            name, InfluxQuery(influxql, ref_id="Anno", result_format="table"), "red", "", ""
        )

    def build(self) -> models.AnnotationQuery:
        return self._internal

    def colour(self, colour: str) -> Self:
        self._internal.icon_color = colour
        return self

    def text_column(self, column: str) -> Self:
        self._internal.text_column = column
        return self

    def tags_column(self, column: str) -> Self:
        self._internal.tags_column = column
        return self
