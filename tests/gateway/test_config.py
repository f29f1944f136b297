"""The gateway config: a frozen, validated value; unset paths sit next to the dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfig


def test_config_is_frozen_and_validated(tmp_path: Path) -> None:
    cfg = GatewayConfig(dead_letter_path=tmp_path / "x")
    with pytest.raises(ValueError, match="frozen"):
        cfg.mqtt_port = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="mqtt_port"):
        GatewayConfig(mqtt_port=0)


def test_unset_paths_default_next_to_the_dead_letters(tmp_path: Path) -> None:
    cfg = GatewayConfig(dead_letter_path=tmp_path / "gw" / "dead-letter.sqlite3")
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
