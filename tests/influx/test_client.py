"""InfluxClient against the real influxd 1.6.7 (v1 HTTP API) spawned by the fixtures."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest

from influx.client import LONG_QUERY, InfluxClient
from influx.errors import DatabaseNotFound, InfluxRejected, InfluxUnavailable
from influx.quoting import identifier, string_literal
from influx.series import Series
from tests.influx.answering import answering
from tracehub.services import InfluxDB, free_port

pytestmark = pytest.mark.integration

T0_NS = 1_795_341_600_000_000_123  # 2026-11-22T10:00:00.000000123Z
# Tags that need every line-protocol escape (space, comma, equals sign) and a quote.
LINE = (
    r"temperature,device=probe-1,location=urn:epc:id:sgln:4012345.00001.a\=b\,c,site=cold\ 1 "
    f'celsius=1e-05,humidity=61.0,seq=42i,note="a \\"quoted\\" word" {T0_NS}'
)


@pytest.fixture
def client(influxdb: InfluxDB) -> Iterator[InfluxClient]:
    with InfluxClient(influxdb.url, "t_" + uuid.uuid4().hex[:12]) as created:
        created.create_database()
        yield created


def test_building_a_client_does_no_io() -> None:
    # Nothing listens on the port: building (and closing) must not try to connect.
    url = f"http://127.0.0.1:{free_port()}"
    with InfluxClient(url + "/", "nowhere") as client:
        assert (client.url, client.database) == (url, "nowhere")


def test_empty_database_name_is_refused() -> None:
    with pytest.raises(ValueError, match="database must not be empty"):
        InfluxClient("http://127.0.0.1:1", "")


def test_ping_names_the_server_version(influxdb: InfluxDB) -> None:
    with InfluxClient(influxdb.url, "any") as client:
        assert client.ping().startswith("1.6.7")


def test_write_and_query_back_exactly(client: InfluxClient) -> None:
    client.create_database()  # idempotent
    client.write([LINE])
    client.write([LINE])  # same series + timestamp: overwritten, not added
    client.write([])  # nothing to write: no request, no error
    [series] = client.query("SELECT * FROM temperature")
    assert series.name == "temperature"
    assert series.rows() == [
        {
            "time": T0_NS,
            "celsius": 1e-05,
            "device": "probe-1",
            "humidity": 61.0,
            "location": "urn:epc:id:sgln:4012345.00001.a=b,c",
            "note": 'a "quoted" word',
            "seq": 42,
            "site": "cold 1",
        }
    ]


def test_statements_and_groups_come_back_in_order(client: InfluxClient) -> None:
    client.write([f"power,room=b kw=2.5 {T0_NS}", f"power,room=a kw=1.5 {T0_NS}"])
    found = client.query(
        'SELECT count("kw") FROM "power" GROUP BY "room"; SELECT max("kw") FROM "power"'
    )
    assert [(s.name, s.tags, s.rows()[0]) for s in found] == [
        ("power", {"room": "a"}, {"time": 0, "count": 1}),
        ("power", {"room": "b"}, {"time": 0, "count": 1}),
        ("power", {}, {"time": T0_NS, "max": 2.5}),
    ]
    assert client.query('SELECT * FROM "power" WHERE "room" = \'c\'') == []


def test_times_in_the_epoch_asked_for(client: InfluxClient) -> None:
    client.write([LINE])
    [series] = client.query('SELECT "celsius" FROM "temperature"', epoch="ms")
    assert series.values == ((T0_NS // 1_000_000, 1e-05),)


def test_a_long_query_is_answered(client: InfluxClient) -> None:
    # Past LONG_QUERY characters the query goes as a POST body, not in the URL.
    client.write([LINE])
    statements = ['SELECT last("celsius") FROM "temperature"'] * 200
    query = ";".join(statements)
    assert len(query) > LONG_QUERY
    found = client.query(query)
    assert len(found) == 200
    assert {s.values for s in found} == {((T0_NS, 1e-05),)}


def test_quoting_keeps_names_and_values_literal(client: InfluxClient) -> None:
    # (no backslash: influxd 1.6 keeps a line-protocol "\\\\" as two backslashes)
    door = 'it\'s a "dock", door=1'
    client.write(
        [
            f'a"b,door=it\'s\\ a\\ "dock"\\,\\ door\\=1 v=1 {T0_NS}',
            f'a"b,door=other v=2 {T0_NS}',
            f"cold\\ room v=3 {T0_NS}",
        ]
    )
    measurement = identifier('a"b')
    [series] = client.query(f'SELECT "v" FROM {measurement} WHERE "door" = {string_literal(door)}')
    assert series.name == 'a"b'
    assert series.rows() == [{"time": T0_NS, "v": 1}]
    # An injection attempt stays a literal: no such door, no error, no other rows.
    injected = string_literal("x' OR door='other")
    assert client.query(f'SELECT "v" FROM {measurement} WHERE "door" = {injected}') == []
    [room] = client.query(f"SELECT * FROM {identifier('cold room')}")
    assert room.rows() == [{"time": T0_NS, "v": 3}]


# Each error class, from what influxd really answers ------------------------------------


def test_missing_database_is_named(influxdb: InfluxDB) -> None:
    with InfluxClient(influxdb.url, "no_such_db") as client:
        with pytest.raises(DatabaseNotFound, match="database not found: no_such_db") as query:
            client.query("SELECT * FROM temperature")
        with pytest.raises(DatabaseNotFound, match=r"HTTP 404.*database not found") as write:
            client.write([LINE])
    assert query.value.status is None  # a statement error inside a 200 answer
    assert write.value.status == 404


def test_bad_line_protocol_is_rejected_with_influxdb_message(client: InfluxClient) -> None:
    with pytest.raises(InfluxRejected, match=r"HTTP 400.*unable to parse") as bad:
        client.write(["temperature celsius=oops 3"])
    assert bad.value.status == 400
    assert bad.value.reason.startswith("unable to parse 'temperature celsius=oops 3'")
    assert not isinstance(bad.value, DatabaseNotFound)


def test_field_type_conflict_is_rejected(client: InfluxClient) -> None:
    client.write(["temperature,site=s celsius=1.0 1"])
    with pytest.raises(InfluxRejected, match="field type conflict") as conflict:
        client.write(["temperature,site=s celsius=1i 2"])
    assert conflict.value.status == 400


def test_bad_query_is_rejected_with_influxdb_message(client: InfluxClient) -> None:
    with pytest.raises(InfluxRejected, match=r"HTTP 400.*error parsing query") as bad:
        client.query("SELEC * FROM temperature")
    assert bad.value.status == 400


def test_refused_connection_is_unavailable() -> None:
    with InfluxClient(f"http://127.0.0.1:{free_port()}", "x", timeout=1.0) as client:
        for call in (
            client.ping,
            client.create_database,
            lambda: client.write([LINE]),
            lambda: client.query("SELECT 1"),
        ):
            with pytest.raises(InfluxUnavailable, match=r"did not answer .*unreachable") as down:
                call()
            assert isinstance(down.value.__cause__, httpx.ConnectError)


def test_timeout_is_unavailable() -> None:
    # A socket that listens but never accepts: the connection opens, no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with (
            InfluxClient(url, "x", timeout=0.3) as client,
            pytest.raises(InfluxUnavailable, match="ReadTimeout") as slow,
        ):
            client.query("SELECT 1")
    assert isinstance(slow.value.__cause__, httpx.ReadTimeout)


def test_server_error_is_unavailable() -> None:
    with (
        answering(503, b'{"error":"engine closed"}') as url,
        InfluxClient(url, "x") as client,
    ):
        with pytest.raises(InfluxUnavailable, match=r"failed the write \(HTTP 503\): engine"):
            client.write([LINE])
        with pytest.raises(InfluxUnavailable, match=r"failed the query \(HTTP 503\)"):
            client.query("SELECT 1")


def test_an_answer_that_is_not_influxdb_is_unavailable() -> None:
    with (
        answering(200, b"<html>a login page</html>", "text/html") as url,
        InfluxClient(url, "x") as client,
        pytest.raises(InfluxUnavailable, match="not InfluxDB's JSON") as odd,
    ):
        client.query("SELECT 1")
    assert isinstance(odd.value.__cause__, ValueError)


def test_an_auth_refusal_is_rejected_with_the_servers_message() -> None:
    # 2.x words its errors as {"code", "message"}.
    body = b'{"code":"unauthorized","message":"unauthorized access"}'
    with (
        answering(401, body) as url,
        InfluxClient(url, "x") as client,
        pytest.raises(InfluxRejected, match=r"HTTP 401\): unauthorized access") as refused,
    ):
        client.query("SELECT 1")
    assert refused.value.status == 401
    assert refused.value.reason == "unauthorized access"


def test_series_are_frozen_values(client: InfluxClient) -> None:
    client.write([LINE])
    [series] = client.query('SELECT "seq" FROM "temperature"')
    assert isinstance(series, Series)
    with pytest.raises(ValueError, match="frozen"):
        series.name = "other"  # type: ignore[misc]
