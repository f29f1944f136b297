"""Renewal before expiry, with short-lived certificates and a clock the test sets: what
lapses within the window is renewed, nothing else; a renewed device's old certificate
stays valid (not on the CRL) until revoke or rotate; the broker's certificate and the CRL
are renewed too; the hub's start check and the gateway's health count what lapses.
(tests/gateway/test_security.py runs a renewal against a real mosquitto.)"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gateway.devices import pki
from gateway.devices.access import Identity
from gateway.devices.expiry import Expiry, expiring, warning
from gateway.devices.registry import DeviceRegistry
from gateway.devices.renewal import check, renew_expiring, watch
from gateway.errors import IdentityError
from tests.gateway.devices.conftest import PROBE, cert

WINDOW = timedelta(days=30)
GATEWAY = Identity(kind="gateway", device_id="gw")
LONG = Identity(kind="temperature", site="s1", device_id="p-long")
PASSWORD_ONLY = Identity(kind="temperature", site="s1", device_id="p-pw")


def crl(registry: DeviceRegistry) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl((registry.folder / "broker/crl.pem").read_bytes())


def revoked(registry: DeviceRegistry) -> set[int]:
    return {r.serial_number for r in crl(registry)}


def near(when: datetime | None, expected: datetime) -> bool:
    assert when is not None
    return abs(when - expected) < timedelta(minutes=10)


def test_only_what_lapses_within_the_window_is_renewed(registry: DeviceRegistry) -> None:
    now = datetime.now(UTC)
    short = registry.provision(PROBE, password=True, days=10)
    gateway = registry.provision(GATEWAY, days=29)
    long = registry.provision(LONG)
    password_only = registry.provision(PASSWORD_ONLY, certificate=False, password=True)
    done = renew_expiring(registry, WINDOW)
    assert sorted(i.record.username for i in done.identities) == ["gateway/gw", PROBE.username]
    assert (done.broker, done.crl, done.left) == (False, False, ())
    renewed = registry.get(PROBE.username)
    assert renewed.cert_serial != short.record.cert_serial
    assert near(renewed.cert_not_after, now + timedelta(days=365))
    assert near(cert(short.auth.cert_file).not_valid_after_utc, now + timedelta(days=365))
    # The password is not what expires: kept, and nothing is shown again.
    assert renewed.password_hash == short.record.password_hash
    assert all(i.password is None for i in done.identities)
    # The old certificates stay valid until their own end: nothing on the CRL.
    assert revoked(registry) == set()
    assert renewed.superseded == ((short.record.cert_serial, short.record.cert_not_after),)
    assert registry.get("gateway/gw").cert_serial != gateway.record.cert_serial
    assert registry.get(LONG.username) == long.record
    assert registry.get(PASSWORD_ONLY.username) == password_only.record
    # A second run finds nothing left to do.
    assert renew_expiring(registry, WINDOW).identities == ()


def test_a_renewed_identity_retires_every_serial_on_revoke_or_rotate(
    registry: DeviceRegistry,
) -> None:
    first = registry.provision(PROBE, days=5).record
    renew_expiring(registry, WINDOW)
    second = registry.get(PROBE.username)
    registry.revoke(PROBE.username)
    assert revoked(registry) == {first.cert_serial, second.cert_serial}
    assert registry.get(PROBE.username).superseded == ()

    gw_first = registry.provision(GATEWAY, days=5).record
    gw_second = registry.renew("gateway/gw")
    registry.rotate("gateway/gw")  # rotation: a key may be compromised, all old ones go
    assert {gw_first.cert_serial, gw_second.record.cert_serial} <= revoked(registry)
    assert registry.get("gateway/gw").superseded == ()


def test_superseded_certificates_are_forgotten_once_expired(registry: DeviceRegistry) -> None:
    first = registry.provision(PROBE, days=5).record
    registry.renew(PROBE.username, days=7)
    later = datetime.now(UTC) + timedelta(days=6)  # the first has expired by then
    registry.renew(PROBE.username, now=later)
    kept = registry.get(PROBE.username).superseded
    assert first.cert_serial not in {serial for serial, _ in kept}
    assert len(kept) == 1


def test_the_broker_certificate_and_the_crl_are_renewed_before_they_lapse(
    registry: DeviceRegistry,
) -> None:
    registry.provision(PROBE)
    running = registry.broker_files()  # as for a spawned broker: decrypted key in runtime/
    old_broker = cert(running.certfile)
    later = datetime.now(UTC) + timedelta(days=340)  # everything of a year lapses within 30
    done = renew_expiring(registry, WINDOW, now=later)
    assert (done.broker, done.crl) == (True, True)
    assert [i.record.username for i in done.identities] == [PROBE.username]
    new_broker = cert(running.certfile)
    assert new_broker.serial_number != old_broker.serial_number
    assert near(new_broker.not_valid_after_utc, later + timedelta(days=365))
    assert new_broker.subject == old_broker.subject
    assert new_broker.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ) == old_broker.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    # The running broker's decrypted key matches the new certificate (SIGHUP loads both).
    key = load_pem_private_key(running.keyfile.read_bytes(), password=None)
    assert key.public_key() == new_broker.public_key()
    assert near(crl(registry).next_update_utc, later + timedelta(days=365))
    # The CA (10 years) is not due; nothing is left expiring.
    assert done.left == ()


def test_the_site_ca_is_never_renewed_silently(registry: DeviceRegistry) -> None:
    registry.init()
    decade = datetime.now(UTC) + timedelta(days=3640)
    done = renew_expiring(registry, WINDOW, days=365, now=decade)
    assert [i.kind for i in done.left] == ["ca"]
    assert "site CA certificate expires on" in done.left[0].describe(decade)


def test_a_window_as_long_as_the_validity_is_refused(registry: DeviceRegistry) -> None:
    with pytest.raises(IdentityError, match="shorter than the new certificates"):
        renew_expiring(registry, timedelta(days=365), days=365)
    with pytest.raises(IdentityError, match="at least 1 day"):
        registry.provision(PROBE, days=0)


def test_the_start_check_reissues_a_lapsing_crl_and_warns(
    registry: DeviceRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    registry.provision(PROBE, days=10)
    registry.init()
    assert check(registry, WINDOW) != []  # the probe: warned, not renewed (needs a person)
    assert "certificate of s1/temperature/p1 expires on" in caplog.text
    assert "tracehub devices rotate --expiring 30" in caplog.text
    caplog.clear()
    later = datetime.now(UTC) + timedelta(days=340)
    old_broker = cert(registry.folder / "broker/server.crt").serial_number
    due = check(registry, WINDOW, now=later)
    # The CRL is renewed at once; a named broker's certificate is its operator's: warned.
    assert near(crl(registry).next_update_utc, later + timedelta(days=365))
    assert {i.kind for i in due} == {"identity", "broker"}
    assert cert(registry.folder / "broker/server.crt").serial_number == old_broker
    # For a broker the hub spawns on these files, its certificate is renewed too.
    due = check(registry, WINDOW, broker=True, now=later)
    assert {i.kind for i in due} == {"identity"}
    assert cert(registry.folder / "broker/server.crt").serial_number != old_broker
    assert all(r.levelno == logging.WARNING for r in caplog.records if "expir" in r.message)


def test_watch_counts_without_the_passphrase_and_never_reassures_when_blind(
    registry: DeviceRegistry,
) -> None:
    registry.provision(PROBE, days=10)
    registry.provision(LONG)
    now = datetime.now(UTC)
    assert watch(registry.folder, WINDOW, clock=lambda: now)() == 1
    later = now + timedelta(days=340)  # the long one, the broker cert and the CRL too
    assert watch(registry.folder, WINDOW, clock=lambda: later)() == 4
    (registry.folder / "registry.json").write_text("{broken")
    assert watch(registry.folder, WINDOW, clock=lambda: now)() == -1


def test_expiry_items_sort_soonest_first_and_read_as_a_warning() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        Expiry(kind="crl", subject="crl.pem", not_after=now + timedelta(days=20)),
        Expiry(kind="identity", subject="s1/rfid/r", not_after=now - timedelta(days=1)),
        Expiry(kind="ca", subject="ca.crt", not_after=now + timedelta(days=31)),
    ]
    due = expiring(items, now, WINDOW)
    assert [i.kind for i in due] == ["identity", "crl"]
    text = warning(due, now)
    assert "certificate of s1/rfid/r expired on 2025-12-31" in text
    assert "certificate revocation list expires on 2026-01-21 (in 20 days)" in text


def test_a_crl_that_cannot_be_read_names_the_file() -> None:
    with pytest.raises(IdentityError, match=r"broken\.pem is not a PEM CRL"):
        pki.crl_next_update(b"not a crl", "broken.pem")
