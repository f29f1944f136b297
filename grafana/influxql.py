"""The InfluxQL query type the foundation SDK lacks, and the data source it targets.

grafana-foundation-sdk ships typed queries for Prometheus, Loki and friends but
none for InfluxDB; Grafana's InfluxDB plugin takes raw InfluxQL in ``query``
with ``rawQuery: true``. :class:`InfluxQuery` carries exactly that, as a
:class:`~grafana_foundation_sdk.cog.variants.Dataquery` so panels and alert
rules accept it like any built-in query.
"""

from __future__ import annotations

from typing import Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE_TYPE = "influxdb"
# Matches grafana/provisioning/datasources/influxdb.yml; `tracehub grafana publish
# --datasource-uid` rewrites it for a Grafana whose InfluxDB has another uid.
DATASOURCE_UID = "tracehub-influxdb"
DATASOURCE = DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)

ResultFormat = Literal["time_series", "table", "logs"]


class InfluxQuery(cogvariants.Dataquery):
    """One raw InfluxQL query of a panel, annotation or alert rule."""

    def __init__(
        self,
        query: str,
        ref_id: str = "A",
        result_format: ResultFormat = "time_series",
        alias: str | None = None,
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.result_format = result_format
        self.alias = alias

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": DATASOURCE.to_json(),
            "query": self.query,
            "rawQuery": True,
            "refId": self.ref_id,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        return payload


class InfluxQueryBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder for :class:`InfluxQuery`, in the SDK's fluent style."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQuery(query)

    def build(self) -> InfluxQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def table(self) -> Self:
        """Return rows (one frame per series) instead of time series."""
        self._internal.result_format = "table"
        return self

    def alias(self, alias: str) -> Self:
        """Legend name; ``$tag_location`` is replaced by the series' tag."""
        self._internal.alias = alias
        return self
