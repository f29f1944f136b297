"""The endpoints block and file: every address, no password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracehub.endpoints import (
    Broker,
    Endpoints,
    endpoints_file,
    forget_endpoints,
    read_endpoints,
    redact,
    write_endpoints,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///.state/records.db", "sqlite:///.state/records.db"),
        ("sqlite:////var/lib/tracehub/records.db", "sqlite:////var/lib/tracehub/records.db"),
        (
            "postgresql+psycopg://hub:s3cr%40t@db:5432/tracehub?sslmode=require",
            "postgresql+psycopg://hub:***@db:5432/tracehub?sslmode=require",
        ),
        ("http://admin:pw@influx:8086", "http://admin:***@influx:8086"),
        ("http://influx:8086?u=hub&p=pw", "http://influx:8086?u=hub&p=***"),
        ("http://[::1]:8086", "http://[::1]:8086"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
    ],
)
def test_redact_keeps_the_address_and_drops_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown


def _points(**changes: object) -> Endpoints:
    base: dict[str, object] = {
        "pid": 4242,
        "state_dir": "/var/lib/tracehub",
        "web": "http://127.0.0.1:8000",
        "mqtt": Broker(host="127.0.0.1", port=8883, tls=True, password_port=8884, spawned=True),
        "influx": "http://127.0.0.1:8086",
        "influx_database": "tracehub",
        "influx_spawned": True,
        "chain": "local anvil",
        "rpc_url": "http://127.0.0.1:8545",
        "records": redact("postgresql://hub:pw@db/tracehub"),
        "ledger": "sqlite:////var/lib/tracehub/records.db",
    }
    return Endpoints.model_validate({**base, **changes})


def test_the_block_names_every_endpoint() -> None:
    text = "\n".join(_points().lines())
    for expected in (
        "http://127.0.0.1:8000/console",
        "http://127.0.0.1:8000/healthz",
        "mqtts://127.0.0.1:8883  (TLS, client certificates; spawned by the hub)",
        "mqtts://127.0.0.1:8884  (TLS, username and password)",
        "http://127.0.0.1:8086  (database tracehub; spawned by the hub)",
        "http://127.0.0.1:8545  local anvil",
        "postgresql://hub:***@db/tracehub",
        "Grafana",
    ):
        assert expected in text
    assert "pw" not in text


def test_a_plain_named_broker_says_so() -> None:
    plain = Broker(host="10.0.0.5", port=1883, tls=False)
    text = "\n".join(_points(mqtt=plain, grafana="https://g.example/d/x").lines())
    assert "mqtt://10.0.0.5:1883  (plain: no TLS, no authentication; named in the settings)" in (
        text
    )
    assert "8884" not in text
    assert "https://g.example/d/x" in text


def test_the_file_round_trips_and_is_forgotten(tmp_path: Path) -> None:
    points = _points()
    path = write_endpoints(tmp_path, points)
    assert path == endpoints_file(tmp_path)
    assert json.loads(path.read_text())["mqtt"]["port"] == 8883
    assert read_endpoints(tmp_path) == points
    forget_endpoints(tmp_path)
    assert read_endpoints(tmp_path) is None
    path.write_text("{not json")
    assert read_endpoints(tmp_path) is None  # a torn or foreign file is no endpoints
