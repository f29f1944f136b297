"""The launcher starts each real service, and a restart keeps port and data."""

from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.postgres import PostgreSQL
from tracehub.services import Anvil, InfluxDB, Mosquitto, ServiceError

pytestmark = pytest.mark.integration


def _influx(url: str, path: str, data: bytes | None = None, **params: str) -> bytes:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}{path}?{query}", data=data, timeout=5) as resp:
        return bytes(resp.read())


def test_influxdb_keeps_points_across_restart(fresh_influxdb: InfluxDB) -> None:
    url = fresh_influxdb.url
    _influx(url, "/query", data=b"", q="CREATE DATABASE t")
    _influx(url, "/write", data=b"m,k=a v=1.5 1700000000000000000", db="t")
    fresh_influxdb.restart()
    body = json.loads(_influx(url, "/query", db="t", q="SELECT v FROM m"))
    assert body["results"][0]["series"][0]["values"] == [["2023-11-14T22:13:20Z", 1.5]]


def test_mosquitto_accepts_connections_and_stops(fresh_mosquitto: Mosquitto) -> None:
    with socket.create_connection((fresh_mosquitto.host, fresh_mosquitto.port), timeout=2):
        pass
    fresh_mosquitto.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((fresh_mosquitto.host, fresh_mosquitto.port), timeout=0.5)


def test_anvil_answers_json_rpc(anvil: Anvil) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    req = urllib.request.Request(
        anvil.url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert int(json.loads(resp.read())["result"], 16) == anvil.chain_id


def test_missing_binary_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    node = Anvil(tmp_path, node_modules=tmp_path / "nowhere")
    with pytest.raises(ServiceError, match="npm ci"):
        node.command()


def test_postgres_serves_sql_and_survives_restart(fresh_postgres: PostgreSQL) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(fresh_postgres.url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v int)"))
        conn.execute(sa.text("INSERT INTO t VALUES (42)"))
    engine.dispose()
    fresh_postgres.restart()
    engine = sa.create_engine(fresh_postgres.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT v FROM t")).scalar_one() == 42
    engine.dispose()
