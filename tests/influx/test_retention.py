"""RetentionAdmin against the real influxd 1.6.7: policies and continuous queries applied,
read back with SHOW, idempotent, and the two refusals (a DEFAULT switch that would hide
points; a 2.x/3.x server that takes no retention statements)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from influx.client import InfluxClient
from influx.errors import DatabaseNotFound, RetentionConflict, RetentionUnsupported
from influx.retention import RetentionAdmin
from influx.retentionplan import Downsample, Policy, RetentionPlan, go_duration, same_query
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration

PLAN = RetentionPlan()  # autogen 1827 days (DEFAULT), rollup 3653 days, 15-minute CQ
HOUR_NS = 3600 * 10**9
T0 = 1_798_761_600 * 10**9  # 2027-01-01T00:00:00Z, a 15-minute boundary


@pytest.fixture
def client(influxdb: InfluxDB) -> Iterator[InfluxClient]:
    with InfluxClient(influxdb.url, "r_" + uuid.uuid4().hex[:12]) as c:
        c.create_database()
        yield c


def _line(celsius: float, at_ns: int, device: str = "p1") -> str:
    return f"temperature,device={device},location=room1,site=s celsius={celsius},seq=1i {at_ns}"


def test_apply_sets_policies_and_queries_and_twice_changes_nothing(client: InfluxClient) -> None:
    admin = RetentionAdmin(client)
    ran = admin.apply(PLAN)
    assert len(ran) == 3  # ALTER autogen, CREATE rollup, CREATE CONTINUOUS QUERY

    [series] = client.query(f'SHOW RETENTION POLICIES ON "{client.database}"')
    policies = {row["name"]: row for row in series.rows()}
    assert policies["autogen"]["duration"] == "43848h0m0s"  # 1827 days
    assert policies["autogen"]["default"] is True
    assert policies["rollup"]["duration"] == "87672h0m0s"  # 3653 days
    assert policies["rollup"]["default"] is False
    shown = [
        row for s in client.query("SHOW CONTINUOUS QUERIES") if s.name == client.database
        for row in s.rows()
    ]  # fmt: skip
    assert [row["name"] for row in shown] == ["tracehub_temperature_15m"]
    assert "GROUP BY time(15m), *" in shown[0]["query"]
    assert f"INTO {client.database}.rollup.temperature_15m" in shown[0]["query"]

    assert admin.apply(PLAN) == []  # idempotent: nothing runs the second time
    state = admin.state()
    assert state.policy("autogen") is not None
    assert state.policy("autogen").duration == timedelta(days=1827)  # type: ignore[union-attr]


def test_a_changed_setting_alters_only_what_differs(client: InfluxClient) -> None:
    admin = RetentionAdmin(client)
    admin.apply(PLAN)
    longer = PLAN.model_copy(
        update={
            "raw": Policy(name="autogen", duration=timedelta(days=2557)),
            "downsamples": (Downsample(every=timedelta(minutes=10)),),
        }
    )
    ran = admin.apply(longer)
    assert ran[0].startswith('ALTER RETENTION POLICY "autogen"')
    assert "DURATION 61368h" in ran[0]
    assert ran[0].endswith("DEFAULT")
    assert ran[1].startswith('DROP CONTINUOUS QUERY "tracehub_temperature_15m"')
    assert ran[2].startswith('CREATE CONTINUOUS QUERY "tracehub_temperature_10m"')
    assert len(ran) == 3
    assert [q.name for q in admin.state().queries] == ["tracehub_temperature_10m"]
    assert admin.apply(longer) == []


def test_keep_forever_is_inf(client: InfluxClient) -> None:
    admin = RetentionAdmin(client)
    admin.apply(PLAN)
    forever = PLAN.model_copy(update={"raw": Policy(name="autogen", duration=None)})
    [statement] = admin.apply(forever)
    assert "DURATION INF" in statement
    assert admin.state().policy("autogen").duration is None  # type: ignore[union-attr]


def test_points_written_before_stay_readable_without_a_policy_prefix(
    client: InfluxClient,
) -> None:
    client.write([_line(4.5, T0), _line(5.5, T0 + 60 * 10**9)])
    RetentionAdmin(client).apply(PLAN)
    [series] = client.query('SELECT "celsius" FROM "temperature"')
    assert [row["celsius"] for row in series.rows()] == [4.5, 5.5]


def test_a_new_default_policy_that_would_hide_points_is_refused(client: InfluxClient) -> None:
    client.write([_line(4.5, T0)])
    admin = RetentionAdmin(client)
    elsewhere = PLAN.model_copy(update={"raw": Policy(name="raw", duration=timedelta(days=1827))})
    with pytest.raises(RetentionConflict) as refused:
        admin.apply(elsewhere)
    message = str(refused.value)
    assert "TRACEHUB_RETENTION_RAW_POLICY=raw" in message
    assert "'autogen'" in message
    assert "1 shard group(s)" in message
    assert admin.state().policy("raw") is None  # nothing changed
    [series] = client.query('SELECT "celsius" FROM "temperature"')
    assert len(series.rows()) == 1


def test_an_empty_database_takes_a_new_default_policy(client: InfluxClient) -> None:
    admin = RetentionAdmin(client)
    plan = PLAN.model_copy(update={"raw": Policy(name="raw", duration=timedelta(days=1827))})
    admin.apply(plan)
    raw = admin.state().policy("raw")
    assert raw is not None
    assert raw.default
    client.write([_line(3.0, T0)])  # no rp: lands in the DEFAULT, where readers look
    [series] = client.query('SELECT "celsius" FROM "temperature"')
    assert [row["celsius"] for row in series.rows()] == [3.0]
    [held] = client.query(f'SELECT "celsius" FROM "{client.database}"."raw"."temperature"')
    assert len(held.rows()) == 1
    assert admin.apply(plan) == []


def test_the_rollup_select_downsamples_per_device(client: InfluxClient) -> None:
    # The spawned influxd runs no continuous queries; their SELECT is run by hand here.
    minute = 60 * 10**9
    client.write([_line(2.0 + i, T0 + i * minute) for i in range(15)])
    client.write([_line(7.0, T0 + 15 * minute), _line(10.0, T0, device="p2")])
    admin = RetentionAdmin(client)
    admin.apply(PLAN)
    [cq] = PLAN.downsamples
    where = f"time >= {T0} AND time < {T0 + HOUR_NS}"
    client.execute(PLAN.rollup_select(client.database, cq, where))
    found = client.query(
        f'SELECT * FROM "{client.database}"."rollup"."temperature_15m" GROUP BY "device"'
    )
    rows = {s.tags["device"]: s.rows() for s in found}
    assert [(r["mean"], r["min"], r["max"], r["count"]) for r in rows["p1"]] == [
        (9.0, 2.0, 16.0, 15),
        (7.0, 7.0, 7.0, 1),
    ]
    assert rows["p2"][0]["count"] == 1
    [tagged] = client.query(f'SHOW TAG KEYS FROM "{client.database}"."rollup"."temperature_15m"')
    assert {row["tagKey"] for row in tagged.rows()} == {"device", "location", "site"}


def test_a_missing_database_is_named_or_created(influxdb: InfluxDB) -> None:
    with InfluxClient(influxdb.url, "r_" + uuid.uuid4().hex[:12]) as c:
        with pytest.raises(DatabaseNotFound):
            RetentionAdmin(c).apply(PLAN)
        assert len(RetentionAdmin(c).apply(PLAN, create=True)) == 3


def test_go_durations_and_query_text() -> None:
    assert go_duration("43848h0m0s") == timedelta(days=1827)
    assert go_duration("0s") is None
    assert go_duration("1h30m0s") == timedelta(minutes=90)
    with pytest.raises(ValueError, match="not a Go duration"):
        go_duration("5 years")
    wanted = PLAN.continuous_query("db-1", PLAN.downsamples[0])
    assert same_query(wanted.replace('"mean"', "mean").replace("  ", " "), wanted)
    assert not same_query(wanted.replace("15m", "10m"), wanted)


def test_plan_values_are_checked() -> None:
    with pytest.raises(ValueError, match="minimum policy of 1 hour"):
        Policy(name="x", duration=timedelta(minutes=30))
    with pytest.raises(ValueError, match="whole number of hours"):
        Policy(name="x", duration=timedelta(hours=1, minutes=5))
    with pytest.raises(ValueError, match="name two"):
        RetentionPlan(raw=Policy(name="a"), rollup=Policy(name="a"))


# --- InfluxDB 2.x / 3.x: not runnable here, so their answers are played by a transport --


def _server(version: str, refusal: str | None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ping":
            return httpx.Response(204, headers={"X-Influxdb-Version": version})
        form = parse_qs(request.content.decode()) if request.method == "POST" else {}
        q = request.url.params.get("q") or form.get("q", [""])[0]
        if q.startswith("SHOW RETENTION"):
            values = [["autogen", "0s", "168h0m0s", 1, True]]
            columns = ["name", "duration", "shardGroupDuration", "replicaN", "default"]
            return httpx.Response(
                200, json={"results": [{"series": [{"columns": columns, "values": values}]}]}
            )
        if request.method == "POST" and refusal is not None:
            return httpx.Response(200, json={"results": [{"error": refusal}]})
        return httpx.Response(200, json={"results": [{}]})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("version", ["v2.7.11", "2.7.1", "3.1.0"])
def test_a_2x_or_3x_server_is_told_to_set_the_bucket_retention(version: str) -> None:
    server = _server(version, None)
    with (
        InfluxClient("http://influx2", "tracehub", transport=server) as c,
        pytest.raises(RetentionUnsupported) as refused,
    ):
        RetentionAdmin(c).apply(PLAN)
    message = str(refused.value)
    assert f"InfluxDB {version}" in message
    assert "influx bucket update --id BUCKET_ID --retention 43848h" in message
    assert "TRACEHUB_RETENTION_MANAGE=false" in message


def test_a_server_that_answers_not_implemented_is_unsupported() -> None:
    refusal = "not implemented: CREATE RETENTION POLICY"
    with (
        InfluxClient("http://proxy", "tracehub", transport=_server("", refusal)) as c,
        pytest.raises(RetentionUnsupported, match="not implemented: CREATE RETENTION"),
    ):
        RetentionAdmin(c).apply(PLAN)
