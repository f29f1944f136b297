"""The alert rules, evaluated minute by minute against a real InfluxDB.

Each scenario seeds its own measurement data and checks which series fire,
and when, given the rule's query, reduce, threshold and pending period.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from grafana.alerts import (
    INGEST_UID,
    SILENT_UID,
    SPOOL_UID,
    TEMPERATURE_UID,
    TemperatureAlert,
    rules,
)
from grafana.policy import Policy
from tests.grafana.influx import Influx
from tests.grafana.rules import condition, firing
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = Policy()
GIB = 1 << 30


def ns(minute: float) -> int:
    return int((T0 + timedelta(minutes=minute)).timestamp() * 1e9)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def every_minute(start: int, end: int) -> list[datetime]:
    return [at(m) for m in range(start, end + 1)]


def _seed() -> list[str]:
    lines = []
    for m in range(61):
        # long: out of band from 10:10 on; short: out for 20 min only; fine: in band.
        long = 12.0 if m >= 10 else 5.0
        short = 0.5 if m < 20 else 5.0
        for loc, c in (("long", long), ("short", short), ("fine", 5.0)):
            lines.append(f"temperature,device=d-{loc},location={loc},site=s celsius={c} {ns(m)}")
    for i in range(61 * 6):
        minute = i / 6
        full = 900_000_000 if minute >= 10 else 1000  # over 80 % of 1 GiB from 10:10
        lines.append(
            f"gateway_health,gateway=gw-1 spool_bytes={full}i,rate_msgs_s=10.0,received={i}i "
            f"{ns(minute)}"
        )
        if minute < 30:  # gw-2 dies at 10:30
            lines.append(
                f"gateway_health,gateway=gw-2 spool_bytes=0i,rate_msgs_s=5.0,received={i}i "
                f"{ns(minute)}"
            )
        idle = 0.0 if minute >= 10 else 3.0  # gw-3 alive but receiving nothing from 10:10
        lines.append(
            f"gateway_health,gateway=gw-3 spool_bytes=0i,rate_msgs_s={idle},received=0i "
            f"{ns(minute)}"
        )
    return lines


@pytest.fixture(scope="module")
def db(influxdb: InfluxDB) -> Iterator[Influx]:
    database = Influx(influxdb.url, "grafana_alerts")
    database.write(_seed())
    yield database
    database.close()


def _rule(uid: str) -> dict[str, Any]:
    return next(r for r in rules(POLICY) if r["uid"] == uid)


def test_temperature_fires_after_the_default_rules_minutes(db: Influx) -> None:
    rule = _rule(TEMPERATURE_UID)
    fired = firing(db, rule, every_minute(0, 60))
    # the hub's default alarm holds 15 min: the 20 min excursion fires at 10:15, the long
    # one (out of band from 10:10) at 10:25
    assert fired == {
        (("location", "short"), ("site", "s")): at(15),
        (("location", "long"), ("site", "s")): at(25),
    }


def test_a_longer_temperature_alert_skips_the_short_excursion(db: Influx) -> None:
    longer = TemperatureAlert(
        uid=TEMPERATURE_UID, title="Out of band", low=2.0, high=8.0, minutes=30
    )
    (rule,) = [r for r in rules(POLICY, [longer]) if r["uid"] == TEMPERATURE_UID]
    fired = firing(db, rule, every_minute(0, 60))
    # out of band from 10:10, 30 min: fires at 10:40; 20 min out never fires
    assert fired == {(("location", "long"), ("site", "s")): at(40)}


def test_one_sided_alerts_scoped_by_location(db: Influx) -> None:
    high = TemperatureAlert(
        uid="t-high", title="Hot", location="^(long|fine)$", high=8.0, minutes=15
    )
    low = TemperatureAlert(uid="t-low", title="Cold", low=2.0, minutes=5, severity="warning")
    by_uid = {r["uid"]: r for r in rules(POLICY, [high, low])}
    assert firing(db, by_uid["t-high"], every_minute(0, 60)) == {
        (("location", "long"), ("site", "s")): at(25)
    }
    assert firing(db, by_uid["t-low"], every_minute(0, 60)) == {
        (("location", "short"), ("site", "s")): at(5)
    }
    assert by_uid["t-low"]["labels"]["severity"] == "warning"


def test_temperature_alert_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="give at least one limit"):
        TemperatureAlert(uid="t", title="t", minutes=5)
    with pytest.raises(ValueError, match="must be below high"):
        TemperatureAlert(uid="t", title="t", low=8.0, high=2.0, minutes=5)


def test_spool_near_full_fires_for_the_full_gateway_only(db: Influx) -> None:
    assert POLICY.spool_near_full_bytes == int(0.8 * GIB)
    fired = firing(db, _rule(SPOOL_UID), every_minute(0, 30))
    assert fired == {(("gateway", "gw-1"),): at(12)}


def test_gateway_silent_within_three_minutes_of_the_last_heartbeat(db: Influx) -> None:
    rule = _rule(SILENT_UID)
    assert condition(db, rule, at(31)) == {
        (("gateway", "gw-1"),): False,
        (("gateway", "gw-2"),): False,
        (("gateway", "gw-3"),): False,
    }
    fired = firing(db, rule, every_minute(20, 60))
    assert fired == {(("gateway", "gw-2"),): at(32)}


def test_every_gateway_gone_is_no_data_and_alerts(db: Influx) -> None:
    rule = _rule(SILENT_UID)
    seven_hours_later = at(60 + 7 * 60)
    assert condition(db, rule, seven_hours_later) == {}
    assert firing(db, rule, [seven_hours_later]) == {"NoData": seven_hours_later}


def test_ingest_stopped_fires_for_the_idle_gateway(db: Influx) -> None:
    fired = firing(db, _rule(INGEST_UID), every_minute(0, 29))
    assert fired == {(("gateway", "gw-3"),): at(12)}


def test_rules_route_to_the_contact_point_and_have_stable_uids() -> None:
    uids = [r["uid"] for r in rules(POLICY)]
    assert uids == [TEMPERATURE_UID, SPOOL_UID, SILENT_UID, INGEST_UID]
    assert {r["notification_settings"]["receiver"] for r in rules(POLICY)} == {"tracehub"}
