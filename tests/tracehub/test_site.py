"""The gateway's wiring from the settings: the config file, resolved ports, credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import SecretStr

from gateway.devices import pki
from tests.tracehub.conftest import MakeSettings
from tracehub.settings import DevicesSettings, GatewaySettings, InfluxSettings, MqttSettings
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


def test_a_named_broker_without_a_security_setting_gets_the_gateways_own_identity(
    make_settings: MakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACEHUB_MQTT_SECURITY", raising=False)
    settings = make_settings(
        mqtt=MqttSettings(host="broker.site.example", port=8883, client_id="gw-a"),
        influx=InfluxSettings(url="http://127.0.0.1:8086"),
        devices=DevicesSettings(dir=tmp_path / "devices", passphrase=SecretStr("a passphrase")),
    )
    config = gateway_config(settings)
    assert config.mqtt_auth is not None
    assert not config.mqtt_plain
    assert config.mqtt_auth.cert_file is not None
    leaf = x509.load_pem_x509_certificate(config.mqtt_auth.cert_file.read_bytes())
    assert pki.common_name(leaf) == "gateway/gw-a"
    # Its client id is its identity; its instance (health, dead-letter topics) its name.
    assert (config.mqtt_client_id, config.instance) == ("gateway/gw-a", "gw-a")
    assert config.devices_dir == tmp_path / "devices"
    assert device_auth(settings) is not None
