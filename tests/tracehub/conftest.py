"""A builder of complete ``Settings`` for the composition-root tests (no environment)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tracehub.settings import (
    ChainSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """``make_settings(mqtt=..., chain=...)``: the defaults, state under ``tmp_path``."""

    def make(**parts: Any) -> Settings:
        base: dict[str, Any] = {
            "hub": HubSettings(state_dir=tmp_path / "state", site="hub-test"),
            "mqtt": MqttSettings(security="plain"),
            "influx": InfluxSettings(),
            "records": RecordsSettings(),
            "chain": ChainSettings(anchor_interval_s=3600),
            "web": WebSettings(port=0),
        }
        return Settings(**{**base, **parts})

    return make
