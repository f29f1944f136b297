"""The gateway's wiring from the settings: the config file, resolved ports, credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tracehub.conftest import MakeSettings
from tracehub.settings import GatewaySettings, InfluxSettings, MqttSettings
from tracehub.site import device_auth, gateway_auth, gateway_config, gateway_file_options


def test_the_config_file_adds_options_but_never_overrides_the_settings(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps({"mqtt_port": 1, "influx_url": "http://elsewhere"}))
    settings = make_settings(
        gateway=GatewaySettings(config_file=path),
        mqtt=MqttSettings(port=1883, security="plain"),
        influx=InfluxSettings(url="http://127.0.0.1:8086"),
    )
    assert gateway_file_options(settings) == {}
    config = gateway_config(settings)
    assert (config.mqtt_port, config.influx_url) == (1883, "http://127.0.0.1:8086")
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        gateway_file_options(settings)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read JSON"):
        gateway_file_options(settings)


def test_unresolved_settings_are_refused(make_settings: MakeSettings) -> None:
    with pytest.raises(ValueError, match="start_local_services"):
        gateway_config(make_settings())


def test_a_plain_broker_needs_no_credentials(make_settings: MakeSettings) -> None:
    settings = make_settings(mqtt=MqttSettings(port=1883, security="plain"))
    assert gateway_auth(settings) is None
    assert device_auth(settings) is None
