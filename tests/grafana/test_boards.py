"""Every dashboard query, run against a real InfluxDB seeded with a known hour.

Each panel target, annotation and template variable of the generated
dashboards is expanded the way Grafana would (variables resolved from their
own queries, "All" selected, a panel six data points wide so ``$__interval``
is 10m over the hour) and its result compared with the numbers the seed
implies (see seed.py). A query added to a dashboard without an expectation
here fails :func:`test_every_query_has_an_expectation`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from grafana.generate import dashboards
from grafana.macros import TimeRange, Variable
from influx.retentionplan import Downsample, RetentionPlan
from tests.grafana.influx import Influx, Target, close, rows, targets
from tests.grafana.seed import DOCK, GTIN, HOUR_END, REEFER, ROOM, RP1, RP2, T0, everything, ns
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

HOUR = TimeRange(start=T0, end=HOUR_END)
TENS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)


def _mkt(celsius: list[float], k: float = 10_000.0) -> float:
    mean = sum(math.exp(-k / (c + 273.15)) for c in celsius) / len(celsius)
    return -k / math.log(mean) - 273.15


ROOM_C = [4.0] * 30 + [10.0] * 15 + [5.0] * 15
ROOM_10M = [(0.0, 4.0), (10.0, 4.0), (20.0, 4.0), (30.0, 10.0), (40.0, 7.5), (50.0, 5.0)]
REEFER_10M = [(m, 6.0) for m in TENS]
LAST_BEAT = 359 / 6  # minute of the last heartbeat (10 s steps)

CC, LOT, AGV, RFID, GW = (
    "tracehub-coldchain",
    "tracehub-lot",
    "tracehub-agv",
    "tracehub-rfid",
    "tracehub-gateway",
)

# (dashboard, kind, title, refId) -> values (variables) or {tag values: rows}
EXPECTED: dict[tuple[str, str, str, str], Any] = {
    # --- cold chain overview ---------------------------------------------------------
    (CC, "variable", "site", ""): ["cold1", "dock"],
    (CC, "variable", "location", ""): [ROOM, REEFER, DOCK],
    (CC, "panel", "Temperature per location", "A"): {
        (ROOM,): ROOM_10M,
        (REEFER,): REEFER_10M,
        (DOCK,): [(0.0, 1.0)],
    },
    # the seed's rollup, computed by the hub's own continuous-query SELECT (seeded below)
    (CC, "panel", "Temperature per location, months to years (15-minute rollup)", "A"): {
        (ROOM,): [
            (0.0, 4.0, 4.0, 4.0),  # 10:00–10:15 at 4 °C
            (10.0, 4.0, 4.0, 4.0),  # 10:15–10:30
            (30.0, 10.0, 10.0, 10.0),  # 10:30–10:45 the excursion
            (40.0, 5.0, 5.0, 5.0),  # 10:45–11:00
        ],
        (REEFER,): [(m, 6.0, 6.0, 6.0) for m in (0.0, 10.0, 30.0, 40.0)],
        (DOCK,): [(0.0, 1.0, 1.0, 1.0)],
    },
    (CC, "panel", "Cold rooms: temperature and setpoint", "A"): {
        (ROOM,): [(m, 3.5, 3.0) for m in TENS]
    },
    (CC, "panel", "Compressor power", "A"): {(ROOM,): [(m, 2.0 if m < 30 else 4.0) for m in TENS]},
    (CC, "panel", "Mean kinetic temperature per location", "A"): {
        (ROOM,): [(None, _mkt(ROOM_C))],
        (REEFER,): [(None, 6.0)],
        (DOCK,): [(None, 1.0)],
    },
    (CC, "panel", "Mean kinetic temperature per location", "B"): {
        (ROOM,): [(0.0, 4.0, 10.0, 60)],
        (REEFER,): [(0.0, 6.0, 6.0, 60)],
        (DOCK,): [(0.0, 1.0, 1.0, 10)],
    },
    (CC, "panel", "Mean kinetic temperature per location", "C"): {
        (ROOM,): [(0.0, 15)],
        (DOCK,): [(0.0, 10)],
    },
    (CC, "panel", "Door openings", "A"): {(ROOM,): [(0.0, 2)]},
    (CC, "panel", "Readings out of band", "A"): {(): [(0.0, 25)]},
    (CC, "annotation", "Excursions", "Anno"): {
        (ROOM,): [(30.0, 10.0, 10.0), (35.0, 10.0, 10.0), (40.0, 10.0, 10.0)],
        (DOCK,): [(0.0, 1.0, 1.0), (5.0, 1.0, 1.0)],
    },
    (CC, "annotation", "Door opened", "Anno"): {(ROOM,): [(12.5, True, None), (40.5, True, None)]},
    # --- lot drill-down (gtin and lot: first option, as Grafana selects) -------------
    (LOT, "variable", "gtin", ""): [GTIN],
    (LOT, "variable", "lot", ""): ["L1", "L2"],
    (LOT, "variable", "lot_location", ""): [ROOM, REEFER],
    (LOT, "panel", "Status", "A"): {(): [(50.0, "at_risk")]},
    (LOT, "panel", "Mean kinetic temperature", "A"): {(): [(50.0, 6.1)]},
    (LOT, "panel", "Exposure range", "A"): {(): [(0.0, 4.0, 10.0)]},
    (LOT, "panel", "Minutes out of band", "A"): {(): [(50.0, 15.0)]},
    (LOT, "panel", "Stability budget left", "A"): {(): [(0.0, 45.0, 75.0)]},
    (LOT, "panel", "Where the lot was", "A"): {
        (ROOM,): [(m, 1 if m < 50 else 0) for m in TENS],
        (REEFER,): [(50.0, 1)],
    },
    (LOT, "panel", "Temperature at the lot's locations", "A"): {
        (ROOM,): ROOM_10M,
        (REEFER,): REEFER_10M,
    },
    (LOT, "panel", "Status history", "A"): {
        (): [
            (20.0, "ok", 4.0, 4.0, 4.0, 0.0, 60.0, 1.0, 0.0),
            (50.0, "at_risk", 6.1, 4.0, 10.0, 15.0, 45.0, 0.75, 0.0),
        ]
    },
    (LOT, "annotation", "Custody", "Anno"): {
        (ROOM,): [(0.0, 1), (50.0, 0)],
        (REEFER,): [(50.0, 1)],
    },
    # --- AGV fleet --------------------------------------------------------------------
    (AGV, "variable", "map_id", ""): ["wh1"],
    (AGV, "variable", "serial", ""): ["agv-1", "agv-2"],
    (AGV, "panel", "Battery charge", "A"): {
        ("agv-1",): [(m, 95.5 - m) for m in TENS],
        ("agv-2",): [(m, 50.0) for m in TENS],
    },
    (AGV, "panel", "Operating mode", "A"): {
        ("agv-1",): [(m, "AUTOMATIC" if m < 50 else "MANUAL") for m in TENS],
        ("agv-2",): [(m, "SERVICE") for m in TENS],
    },
    (AGV, "panel", "Errors", "A"): {
        ("agv-1",): [(m, 2 if m == 20 else 0) for m in TENS],
        ("agv-2",): [(m, 0) for m in TENS],
    },
    (AGV, "panel", "Speed", "A"): {
        ("agv-1",): [(m, 1.0) for m in TENS],
        ("agv-2",): [(m, 0.5) for m in TENS],
    },
    (AGV, "panel", "Positions", "A"): {
        ("agv-1",): [(m, m + 4.5, 0.0) for m in TENS],
        ("agv-2",): [(m, 0.0, m + 4.5) for m in TENS],
    },
    (AGV, "panel", "Fleet now", "A"): {
        ("agv-1",): [(0.0, 41.0, "MANUAL", 0, "", "LOAD-2")],
        ("agv-2",): [(0.0, 50.0, "SERVICE", 0, "", "")],
    },
    # --- RFID docks -------------------------------------------------------------------
    (RFID, "variable", "site", ""): ["cold1"],
    (RFID, "variable", "read_point", ""): [RP1, RP2],
    (RFID, "panel", "Reads per read point", "A"): {
        (RP1,): [(m, 30 if m == 0 else 0) for m in TENS],
        (RP2,): [(m, 10 if m == 30 else 0) for m in TENS],
    },
    (RFID, "panel", "Observations per read point", "A"): {
        (RP1,): [(m, 2 if m == 0 else 0) for m in TENS],
        (RP2,): [(m, 1 if m == 30 else 0) for m in TENS],
    },
    (RFID, "panel", "Signal strength", "A"): {
        ("dock-door-1",): [(0.0, -160.0 / 3)],
        ("dock-door-2",): [(30.0, -40.0)],
    },
    (RFID, "panel", "Read points in range", "A"): {
        (RP1, "dock-door-1"): [(0.0, 30, 2, -160.0 / 3)],
        (RP2, "dock-door-2"): [(0.0, 10, 1, -40.0)],
    },
    # --- gateway health ---------------------------------------------------------------
    (GW, "variable", "gateway", ""): ["gw-1", "gw-2"],
    (GW, "panel", "Ingest rate", "A"): {
        ("gw-1",): [(m, 10.0) for m in TENS],
        ("gw-2",): [(m, 5.0) for m in TENS[:3]],
    },
    (GW, "panel", "Lag", "A"): {
        ("gw-1",): [(m, 20.0) for m in TENS],
        ("gw-2",): [(m, 40.0) for m in TENS[:3]],
    },
    (GW, "panel", "Spool depth", "A"): {
        ("gw-1",): [(m, 5 if m < 30 else 50) for m in TENS],
        ("gw-2",): [(m, 0) for m in TENS[:3]],
    },
    (GW, "panel", "Spool size", "A"): {
        ("gw-1",): [(m, 5000 if m < 30 else 50000) for m in TENS],
        ("gw-2",): [(m, 0) for m in TENS[:3]],
    },
    (GW, "panel", "Throughput", "A"): {
        ("gw-1",): [(m, 10.0, 1.0) for m in TENS[1:]],
        ("gw-2",): [(m, 5.0, 0.5) for m in TENS[1:3]],
    },
    (GW, "panel", "Dead letters", "A"): {
        ("gw-1", "bad_field"): [(m, 10) for m in TENS[1:]],
        ("gw-1", "not_json"): [(m, 0) for m in TENS[1:]],
    },
    (GW, "panel", "Dead letters by reason", "A"): {
        ("gw-1", "bad_field"): [(LAST_BEAT, 59)],
        ("gw-1", "not_json"): [(LAST_BEAT, 3)],
    },
}


@pytest.fixture(scope="module")
def seeded(influxdb: InfluxDB) -> Iterator[Influx]:
    db = Influx(influxdb.url, "grafana_boards")
    db.write(everything())
    # The rollup the hub's continuous query would have written, by its own SELECT.
    plan = RetentionPlan()
    db.client.execute(plan.create_policy("grafana_boards", plan.rollup, default=False))
    window = f"time >= {ns(0)} AND time < {ns(60)}"
    db.client.execute(plan.rollup_select("grafana_boards", Downsample(), where=window))
    yield db
    db.close()


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    return dashboards()


def _all_targets(boards: dict[str, dict[str, Any]]) -> list[Target]:
    return [t for board in boards.values() for t in targets(board)]


def resolve_variables(db: Influx, board: dict[str, Any]) -> list[Variable]:
    """Each variable's options from its query (in order, each seeing the previous),
    selected as Grafana does by default: "All" for multi-value, else the first option."""
    resolved: list[Variable] = []
    for spec in board.get("templating", {}).get("list", []):
        series = db.run(spec["query"], HOUR, resolved)
        options = [value for s in series for _key, value in s.values]
        assert options, f"variable {spec['name']} has no options"
        if spec.get("multi") or spec.get("includeAll"):
            resolved.append(
                Variable(
                    name=spec["name"],
                    values=tuple(options),
                    multi=bool(spec.get("multi")),
                    include_all=bool(spec.get("includeAll")),
                    all_value=spec.get("allValue"),
                    all_selected=True,
                )
            )
        else:
            resolved.append(Variable(name=spec["name"], values=(options[0],)))
    return resolved


def test_every_query_has_an_expectation(boards: dict[str, dict[str, Any]]) -> None:
    keys = [t.key for t in _all_targets(boards)]
    assert len(keys) == len(set(keys)), "two queries share a dashboard/title/refId"
    assert set(keys) == set(EXPECTED), (
        f"without expectation: {sorted(set(keys) - set(EXPECTED))}; "
        f"expected but gone: {sorted(set(EXPECTED) - set(keys))}"
    )


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: "/".join(k).strip("/"))
def test_query_returns_the_seeded_numbers(
    key: tuple[str, str, str, str], seeded: Influx, boards: dict[str, dict[str, Any]]
) -> None:
    board = boards[key[0]]
    target = next(t for t in targets(board) if t.key == key)
    variables = resolve_variables(seeded, board)
    series = seeded.run(target.query, HOUR, variables)
    expected = EXPECTED[key]
    if target.where == "variable":
        actual: Any = [value for s in series for _key, value in s.values]
    else:
        actual = rows(series, T0)
    assert close(actual, expected), f"{key}:\n got      {actual}\n expected {expected}"


def test_site_selection_is_regex_escaped_and_narrows_the_panel(
    seeded: Influx, boards: dict[str, dict[str, Any]]
) -> None:
    """One room picked in a multi-value variable: the dots of its SGLN are escaped,
    so only that location (not a look-alike) is returned."""
    board = boards[CC]
    target = next(t for t in targets(board) if t.title == "Temperature per location")
    variables = [
        Variable(name="site", values=("cold1",), multi=True, include_all=True),
        Variable(name="location", values=(ROOM, REEFER), multi=True, include_all=True),
    ]
    assert rows(seeded.run(target.query, HOUR, variables), T0) == {
        (ROOM,): ROOM_10M,
        (REEFER,): REEFER_10M,
    }
    lookalike = ROOM.replace(".", "X")
    variables[1] = Variable(name="location", values=(lookalike,), multi=True)
    assert seeded.run(target.query, HOUR, variables) == []


def test_interval_follows_the_panel_width(
    seeded: Influx, boards: dict[str, dict[str, Any]]
) -> None:
    """A panel 60 points wide over the hour gets $__interval = 1m: one point per reading."""
    board = boards[CC]
    target = next(t for t in targets(board) if t.title == "Temperature per location")
    series = seeded.run(target.query, HOUR, resolve_variables(seeded, board), max_data_points=60)
    by_location = rows(series, T0)
    assert [v for _t, v in by_location[(ROOM,)]] == [4.0] * 30 + [10.0] * 15 + [5.0] * 15
