"""Renewal before expiry against a real mosquitto (no time bomb): with a broker certificate
and device certificates that expire in 10 days, `rotate --expiring 30` renews them, the
broker reloads (SIGHUP) and keeps working: connections opened before go on, the renewed
device connects with its new certificate and, until its bundle is installed, with its old
one (still valid, deliberately not on the CRL); revoking it refuses both."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from gateway.devices.renewal import renew_expiring
from sensors.credentials import MqttAuth
from tests.gateway.test_security import PASSPHRASE, WAIT, Client, reading, topic_of
from tracehub.services import BrokerTls, Mosquitto

pytestmark = pytest.mark.integration

SHORT = Identity(kind="temperature", site="s1", device_id="probe-short")
LONG = Identity(kind="temperature", site="s1", device_id="probe-long")
GATEWAY = Identity(kind="gateway", device_id="gw-renew")


@dataclass
class Broker:
    registry: DeviceRegistry
    mosquitto: Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    registry = DeviceRegistry.open(tmp_path / "devices", PASSPHRASE, site="s1")
    registry.init(days=10)  # a broker certificate 10 days from lapsing
    registry.provision(SHORT, days=10)
    registry.provision(LONG)
    registry.provision(GATEWAY, days=10)
    tls = BrokerTls(**registry.broker_files().model_dump())
    with Mosquitto(tmp_path / "broker", tls=tls) as mosquitto:
        yield Broker(registry, mosquitto)


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        c.close()


def connect(broker: Broker, clients: list[Client], auth: MqttAuth) -> Client:
    client = Client(auth)
    clients.append(client)
    outcome = client.connect(broker.mosquitto.port)
    assert outcome.connected, outcome.reason
    return client


def installed_copy(auth: MqttAuth, where: Path) -> MqttAuth:
    """The credentials as a device holds them: its own copy, not the registry's files."""
    assert auth.cert_file is not None
    assert auth.key_file is not None
    where.mkdir()
    cert, key = where / "client.crt", where / "client.key"
    shutil.copy(auth.cert_file, cert)
    shutil.copy(auth.key_file, key)
    return auth.model_copy(update={"cert_file": cert, "key_file": key})


def served_certificate(client: Client) -> x509.Certificate:
    sock = client.client.socket()
    der = sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_the_broker_keeps_working_across_a_renewal(
    broker: Broker, clients: list[Client], tmp_path: Path
) -> None:
    registry = broker.registry
    old_short = installed_copy(registry.credentials(SHORT.username), tmp_path / "old-short")
    gateway = connect(broker, clients, registry.credentials(GATEWAY.username))
    gateway.client.subscribe("tracehub/v1/#", qos=1)
    assert not any(code.is_failure for code in gateway.subacks.get(timeout=WAIT))
    old_broker_cert = served_certificate(gateway)

    done = renew_expiring(registry, timedelta(days=30))
    assert sorted(i.record.username for i in done.identities) == [
        GATEWAY.username,
        SHORT.username,
    ]
    assert done.broker
    broker.mosquitto.reload()

    # The renewed device, with its new certificate: the broker now serves its new one.
    renewed = connect(broker, clients, registry.credentials(SHORT.username))
    served = served_certificate(renewed)
    assert served.serial_number != old_broker_cert.serial_number
    assert served.not_valid_after_utc - old_broker_cert.not_valid_after_utc > timedelta(days=300)
    # The same device with its old certificate, before its new bundle is installed.
    connect(broker, clients, old_short)
    # A device that was not due, untouched.
    connect(broker, clients, registry.credentials(LONG.username))
    # The gateway's connection from before the renewal still receives.
    renewed.client.publish(topic_of(SHORT), reading(SHORT.device_id, seq=1), qos=1)
    assert not renewed.pubacks.get(timeout=WAIT).is_failure
    message = gateway.messages.get(timeout=WAIT)
    assert (message.topic, json.loads(message.payload)["seq"]) == (topic_of(SHORT), 1)

    # Revoked: the CRL lists the old serial too, so neither certificate gets in.
    new_short = installed_copy(registry.credentials(SHORT.username), tmp_path / "new-short")
    registry.revoke(SHORT.username)
    broker.mosquitto.reload()
    for auth in (old_short, new_short):
        refused = Client(auth)
        clients.append(refused)
        outcome = refused.connect(broker.mosquitto.port)
        assert not outcome.connected, outcome.reason
