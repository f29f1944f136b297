"""The roles of a ``tracehub run`` process, and what a split deployment must name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracehub.roles import ALL, parse_roles, roles_text, split_problems
from tracehub.settings import (
    ChainSettings,
    DevicesSettings,
    HubSettings,
    InfluxSettings,
    LedgerSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)


def test_roles_are_parsed_and_named() -> None:
    assert parse_roles([]) == ALL
    assert parse_roles(["all"]) == ALL
    assert parse_roles(["web", "web"]) == {"web"}
    assert parse_roles(["anchor", "alarm"]) == {"anchor", "alarm"}
    assert roles_text(ALL) == "all"
    assert roles_text({"alarm", "anchor"}) == "anchor,alarm"
    with pytest.raises(ValueError, match="unknown role 'seal'"):
        parse_roles(["seal"])


def bare(tmp_path: Path) -> Settings:
    return Settings(
        hub=HubSettings(state_dir=tmp_path),
        mqtt=MqttSettings(port=None),
        influx=InfluxSettings(url=None),
        records=RecordsSettings(url=None),
        chain=ChainSettings(rpc_url=None, contract=None),
        web=WebSettings(),
        ledger=LedgerSettings(keys_dir=None),
        devices=DevicesSettings(dir=None),
    )


def shared(tmp_path: Path) -> Settings:
    return Settings(
        hub=HubSettings(state_dir=tmp_path / "web-1"),
        mqtt=MqttSettings(host="broker", port=8883),
        influx=InfluxSettings(url="http://influx:8086"),
        records=RecordsSettings(url="postgresql+psycopg://tracehub@db/tracehub"),
        ledger=LedgerSettings(keys_dir=tmp_path / "keys"),
        chain=ChainSettings(rpc_url="http://anvil:8545"),
        devices=DevicesSettings(dir=tmp_path / "devices"),
        web=WebSettings(),
    )


def test_all_in_one_needs_nothing_named(tmp_path: Path) -> None:
    assert split_problems(bare(tmp_path), ALL) == []


def test_a_split_instance_names_every_shared_service_it_lacks(tmp_path: Path) -> None:
    problems = split_problems(bare(tmp_path), frozenset({"gateway", "web"}))
    named = [p.split(":")[0] for p in problems]
    assert named == [
        "TRACEHUB_RECORDS_URL",
        "TRACEHUB_LEDGER_KEYS_DIR",
        "TRACEHUB_INFLUX_URL",
        "TRACEHUB_CHAIN_RPC_URL",
        "TRACEHUB_MQTT_HOST and TRACEHUB_MQTT_PORT",
        "TRACEHUB_DEVICES_DIR",
    ]
    # an anchoring worker needs no broker and no device registry
    anchor = [p.split(":")[0] for p in split_problems(bare(tmp_path), frozenset({"anchor"}))]
    assert "TRACEHUB_MQTT_HOST and TRACEHUB_MQTT_PORT" not in anchor
    assert "TRACEHUB_DEVICES_DIR" not in anchor
    assert split_problems(shared(tmp_path), frozenset({"gateway", "web"})) == []
