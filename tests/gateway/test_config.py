"""The gateway config: a frozen, validated value; unset paths sit next to the dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import GatewayConfig
from sensors.credentials import MqttAuth


def test_config_is_frozen_and_validated(tmp_path: Path) -> None:
    cfg = GatewayConfig(dead_letter_path=tmp_path / "x", mqtt_plain=True)
    with pytest.raises(ValueError, match="frozen"):
        cfg.mqtt_port = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="mqtt_port"):
        GatewayConfig(mqtt_port=0)


def test_unset_paths_default_next_to_the_dead_letters(tmp_path: Path) -> None:
    cfg = GatewayConfig(dead_letter_path=tmp_path / "gw" / "dead-letter.sqlite3", mqtt_plain=True)
    assert cfg.resolved_spool_path == tmp_path / "gw" / "spool.sqlite3"
    assert cfg.resolved_evidence_path == tmp_path / "gw" / "evidence.jsonl"
    assert cfg.instance == cfg.mqtt_client_id
    chosen = cfg.model_copy(
        update={"spool_path": tmp_path / "s", "evidence_path": tmp_path / "e", "gateway_id": "g"}
    )
    assert (chosen.resolved_spool_path, chosen.resolved_evidence_path) == (
        tmp_path / "s",
        tmp_path / "e",
    )
    assert chosen.instance == "g"


def test_no_credentials_is_refused_unless_plain_is_explicit(tmp_path: Path) -> None:
    # A config file that forgets mqtt_auth must not quietly connect plain and anonymous.
    with pytest.raises(ValidationError, match="mqtt_auth is not set"):
        GatewayConfig(dead_letter_path=tmp_path / "x")
    auth = MqttAuth(ca_file=tmp_path / "ca.crt", cert_file=tmp_path / "c", key_file=tmp_path / "k")
    assert GatewayConfig(mqtt_auth=auth).mqtt_auth == auth
    with pytest.raises(ValidationError, match="exclude each other"):
        GatewayConfig(mqtt_auth=auth, mqtt_plain=True)
    as_json = GatewayConfig(mqtt_plain=True).model_dump_json()
    assert GatewayConfig.model_validate_json(as_json).mqtt_plain  # python -m gateway --config
