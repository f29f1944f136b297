"""The local stack at a hub start: the spawned broker is TLS with the registry's files, and
what of them is about to lapse is renewed (the broker's certificate, the CRL) or warned
about (device certificates: they need a person to install the new bundle)."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import SecretStr

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from tests.tracehub.conftest import MakeSettings
from tracehub.localstack import start_local_services
from tracehub.settings import DevicesSettings, InfluxSettings, MqttSettings

pytestmark = pytest.mark.integration
PASSPHRASE = "localstack passphrase"


def test_a_hub_start_renews_the_broker_certificate_and_warns_about_devices(
    make_settings: MakeSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("TRACEHUB_MQTT_SECURITY", raising=False)
    folder = tmp_path / "devices"
    registry = DeviceRegistry.open(folder, PASSPHRASE, site="hub-test")
    registry.init(days=3)  # left from a year ago: the broker certificate lapses in 3 days
    registry.provision(Identity(kind="temperature", site="hub-test", device_id="p1"), days=3)
    settings = make_settings(
        mqtt=MqttSettings(),  # no port: spawn; no security setting: TLS
        influx=InfluxSettings(url="http://127.0.0.1:1"),  # not spawned here
        devices=DevicesSettings(dir=folder, passphrase=SecretStr(PASSPHRASE)),
    )
    with ExitStack() as stack, caplog.at_level(logging.WARNING):
        resolved = start_local_services(settings, stack)
        assert resolved.mqtt.security == "tls"
        served = x509.load_pem_x509_certificate((folder / "broker/server.crt").read_bytes())
        assert served.not_valid_after_utc > datetime.now(UTC) + timedelta(days=300)
        assert "certificate of hub-test/temperature/p1 expires on" in caplog.text
        assert "broker certificate" not in caplog.text  # renewed: nothing left to say
