"""The MQTT settings fail closed: TLS unless plain is asked for, and plain only on loopback
unless a second, explicit flag says the network is trusted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tracehub.settings import MqttSettings, is_loopback


@pytest.fixture(autouse=True)
def no_mqtt_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY", "HOST", "PORT", "ALLOW_REMOTE_PLAIN"):
        monkeypatch.delenv(f"TRACEHUB_MQTT_{name}", raising=False)


def test_a_named_broker_is_tls_unless_plain_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEHUB_MQTT_PORT", "1883")
    assert MqttSettings().security == "tls"
    # 'auto' meant plain for a named broker: older configurations now get TLS.
    monkeypatch.setenv("TRACEHUB_MQTT_SECURITY", "auto")
    assert MqttSettings().security == "tls"
    monkeypatch.setenv("TRACEHUB_MQTT_SECURITY", "plain")
    assert MqttSettings().security == "plain"
    monkeypatch.setenv("TRACEHUB_MQTT_SECURITY", "none")
    with pytest.raises(ValidationError, match="security"):
        MqttSettings()


@pytest.mark.parametrize("host", ["mqtt.example.com", "10.0.0.7", "localhost.evil.example", "::2"])
def test_plain_to_a_broker_off_loopback_needs_a_second_flag(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN"):
        MqttSettings(host=host, port=1883, security="plain")
    assert MqttSettings(host=host, port=1883, security="plain", allow_remote_plain=True)
    monkeypatch.setenv("TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN", "true")
    assert MqttSettings(host=host, port=1883, security="plain").allow_remote_plain
    assert MqttSettings(host=host, port=8883).security == "tls"  # TLS goes anywhere


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"])
def test_plain_on_loopback_is_allowed(host: str) -> None:
    assert is_loopback(host)
    assert MqttSettings(host=host, port=1883, security="plain").security == "plain"


def test_the_web_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracehub.settings import WebSettings

    monkeypatch.setenv("TRACEHUB_WEB_CAPTURE_EVENTS", "25")
    monkeypatch.setenv("TRACEHUB_WEB_RPC_RATE_PER_S", "2.5")
    limits = WebSettings().limits()
    assert (limits.capture_events, limits.rpc_rate_per_s) == (25, 2.5)
    assert limits.capture_body_bytes == 8 * 1024 * 1024


def test_the_alerts_group_builds_the_channels_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from notify.errors import BadDestination
    from notify.sms import SmsChannel
    from notify.smtp import SmtpChannel
    from tracehub.settings import AlertsSettings, load_settings

    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "SMTP_URL", "SMTP_TO", "SMS_URL", "SMS_TO"):
        monkeypatch.delenv(f"TRACEHUB_ALERTS_{name}", raising=False)
    assert AlertsSettings().channels() == {}
    monkeypatch.setenv("TRACEHUB_ALERTS_WEBHOOK_URL", "https://hooks.example/T0KEN")
    assert list(load_settings().alerts.channels()) == ["webhook"]  # the simplest setup
    monkeypatch.setenv("TRACEHUB_ALERTS_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("TRACEHUB_ALERTS_SMTP_URL", "smtp://bot:pw@mail.example:587?starttls=1")
    monkeypatch.setenv("TRACEHUB_ALERTS_SMTP_TO", "ops@example.com")
    monkeypatch.setenv("TRACEHUB_ALERTS_SMS_URL", "https://sms.example/send?shape=json")
    monkeypatch.setenv("TRACEHUB_ALERTS_SMS_TO", "+34600000001")
    alerts = AlertsSettings()
    assert "s3cret" not in repr(alerts)
    assert "pw@" not in repr(alerts)
    assert (alerts.smtp_to, alerts.sms_to) == ("ops@example.com", "+34600000001")
    channels = alerts.channels()
    assert sorted(channels) == ["email", "sms", "webhook"]
    assert isinstance(channels["email"], SmtpChannel)
    assert channels["email"].port == 587
    assert isinstance(channels["sms"], SmsChannel)
    assert channels["sms"].shape == "json"
    monkeypatch.setenv("TRACEHUB_ALERTS_SMS_URL", "https://sms.example/send?shape=carrier-pigeon")
    with pytest.raises(BadDestination, match="shape"):
        AlertsSettings().channels()
    # docker-compose passes what is unset as "": no address, no channel
    for name in ("WEBHOOK_URL", "SMTP_URL", "SMTP_TO", "SMS_URL", "SMS_TO"):
        monkeypatch.setenv(f"TRACEHUB_ALERTS_{name}", "")
    empty = AlertsSettings()
    assert (empty.smtp_to, empty.sms_to, empty.channels()) == (None, None, {})
