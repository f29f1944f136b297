"""Test harness: evaluate a Grafana alert rule over a real InfluxDB, minute by minute.

Implements the parts of Grafana's rule evaluation our rules use: data
queries over their relative time range, ``reduce`` (dropNN), ``threshold``,
and the alert state machine (Normal → Pending → Alerting after ``for``;
``noDataState`` when the query returns no series).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from grafana.macros import TimeRange
from tests.grafana.influx import Influx

Labels = tuple[tuple[str, str], ...]


def _series(db: Influx, query: dict[str, Any], at: datetime) -> dict[Labels, list[float | None]]:
    window = query["relativeTimeRange"]
    time_range = TimeRange(
        start=at - timedelta(seconds=window["from"]), end=at - timedelta(seconds=window["to"])
    )
    result = db.run(query["model"]["query"], time_range, max_data_points=43_200)
    out: dict[Labels, list[float | None]] = {}
    for item in result:
        labels = tuple(sorted(item.tags.items()))
        out[labels] = [row[1] for row in item.values]
    return out


def _reduce(values: list[float | None], reducer: str) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return None
    if reducer == "last":
        return kept[-1]
    if reducer == "max":
        return max(kept)
    if reducer == "min":
        return min(kept)
    if reducer == "mean":
        return sum(kept) / len(kept)
    raise AssertionError(f"reducer {reducer} not simulated")


def _threshold(value: float, kind: str, params: list[float]) -> bool:
    checks = {
        "gt": lambda: value > params[0],
        "lt": lambda: value < params[0],
        "outside_range": lambda: value < params[0] or value > params[1],
        "within_range": lambda: params[0] < value < params[1],
    }
    return checks[kind]()


def condition(db: Influx, rule: dict[str, Any], at: datetime) -> dict[Labels, bool]:
    """The rule's condition per label set at ``at``; empty when there is no data."""
    values: dict[str, dict[Labels, Any]] = {}
    for query in rule["data"]:
        model = query["model"]
        ref = query["refId"]
        if query["datasourceUid"] != "__expr__":
            values[ref] = _series(db, query, at)
        elif model["type"] == "reduce":
            assert model["settings"]["mode"] == "dropNN"
            reduced = {
                k: _reduce(v, model["reducer"]) for k, v in values[model["expression"]].items()
            }
            values[ref] = {k: v for k, v in reduced.items() if v is not None}
        elif model["type"] == "threshold":
            evaluator = model["conditions"][0]["evaluator"]
            values[ref] = {
                k: _threshold(v, evaluator["type"], evaluator["params"])
                for k, v in values[model["expression"]].items()
            }
        else:
            raise AssertionError(f"expression {model['type']} not simulated")
    return values[rule["condition"]]


def _minutes(text: str) -> int:
    assert text.endswith("m"), text
    return int(text[:-1])


def firing(
    db: Influx, rule: dict[str, Any], times: Sequence[datetime]
) -> dict[Labels | str, datetime]:
    """When each label set first reached Alerting (``"NoData"`` for the no-data state)."""
    hold = timedelta(minutes=_minutes(rule["for"]))
    pending: dict[Labels, datetime] = {}
    fired: dict[Labels | str, datetime] = {}
    for at in times:
        state = condition(db, rule, at)
        if not state:
            if rule["noDataState"] == "Alerting":
                fired.setdefault("NoData", at)
            pending.clear()
            continue
        for labels, true in state.items():
            if not true:
                pending.pop(labels, None)
                continue
            since = pending.setdefault(labels, at)
            if at - since >= hold:
                fired.setdefault(labels, at)
        for labels in set(pending) - set(state):
            del pending[labels]
    return fired
