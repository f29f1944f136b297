"""The device registry: identities provisioned, revoked, rotated and exported, with the
site CA on disk (no broker: tests/gateway/test_security.py runs the same files in a
real mosquitto)."""

from __future__ import annotations

import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.devices import pki
from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from gateway.errors import IdentityError, UnknownIdentity
from tests.gateway.devices.conftest import PASSPHRASE, PROBE, cert


def crl_serials(registry: DeviceRegistry) -> set[int]:
    crl = x509.load_pem_x509_crl((registry.folder / "broker/crl.pem").read_bytes())
    return {r.serial_number for r in crl}


def test_provisioned_credentials_load_in_openssl(registry: DeviceRegistry) -> None:
    auth = registry.provision(PROBE).auth
    assert auth.key_file is not None
    assert auth.key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(auth.key_file.stat().st_mode) == 0o600
    assert auth.key_password is not None
    context = ssl.create_default_context(cafile=str(auth.ca_file))
    context.load_cert_chain(
        str(auth.cert_file), str(auth.key_file), password=auth.key_password.get_secret_value()
    )
    with pytest.raises(ssl.SSLError):
        context.load_cert_chain(str(auth.cert_file), str(auth.key_file), password="wrong")
    leaf, ca = cert(auth.cert_file), cert(auth.ca_file)
    assert pki.common_name(leaf) == "s1/temperature/p1"
    assert leaf.issuer == ca.subject
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    leaf.verify_directly_issued_by(ca)


def test_revoke_puts_the_serial_on_the_crl_and_deletes_the_key(
    registry: DeviceRegistry,
) -> None:
    auth = registry.provision(PROBE).auth
    serial = cert(auth.cert_file).serial_number
    assert crl_serials(registry) == set()
    record = registry.revoke(PROBE.username)
    assert record.status == "revoked"
    assert crl_serials(registry) == {serial}
    assert auth.key_file is not None
    assert not auth.key_file.exists()
    with pytest.raises(IdentityError, match="revoked"):
        registry.credentials(PROBE.username)
    assert registry.revoke(PROBE.username) == record  # idempotent
    # provisioned again: new serial, the old one stays revoked
    again = registry.provision(PROBE).auth
    assert cert(again.cert_file).serial_number != serial
    assert crl_serials(registry) == {serial}


def test_rotate_issues_new_credentials_and_retires_the_old(registry: DeviceRegistry) -> None:
    first = registry.provision(PROBE, password=True)
    second = registry.rotate(PROBE.username)
    assert cert(second.auth.cert_file).serial_number != first.record.cert_serial
    assert crl_serials(registry) == {first.record.cert_serial}
    assert second.password is not None
    assert first.password is not None
    assert second.password.get_secret_value() != first.password.get_secret_value()


def test_provisioning_twice_or_unknown_names_are_refused(registry: DeviceRegistry) -> None:
    registry.provision(PROBE)
    with pytest.raises(IdentityError, match="rotate"):
        registry.provision(PROBE)
    assert registry.ensure(PROBE).username == PROBE.username  # no error, no new cert
    with pytest.raises(UnknownIdentity, match="provision it first"):
        registry.get("s1/temperature/nobody")
    with pytest.raises(UnknownIdentity):
        registry.revoke("s1/temperature/nobody")
    with pytest.raises(IdentityError, match="certificate and/or a password"):
        registry.provision(Identity(kind="rfid", site="s1", device_id="r9"), certificate=False)


def test_wrong_passphrase_and_short_passphrase(registry: DeviceRegistry, tmp_path: Path) -> None:
    registry.provision(PROBE)
    other = DeviceRegistry.open(registry.folder, "another passphrase")
    with pytest.raises(IdentityError, match="TRACEHUB_DEVICES_PASSPHRASE") as info:
        other.provision(Identity(kind="rfid", site="s1", device_id="r2"))
    assert "another passphrase" not in str(info.value)
    with pytest.raises(IdentityError, match="shorter than 8"):
        DeviceRegistry.open(tmp_path / "x", "short")


def test_without_a_passphrase_a_private_file_is_generated(tmp_path: Path) -> None:
    first = DeviceRegistry.open(tmp_path / "d", None)
    first.provision(PROBE)
    path = tmp_path / "d" / "passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DeviceRegistry.open(tmp_path / "d", None).credentials(PROBE.username)
    assert path.read_text().strip() not in repr(first)


def test_export_reencrypts_the_key_for_the_device(registry: DeviceRegistry, tmp_path: Path) -> None:
    registry.provision(PROBE)
    ca, crt, key = registry.export(PROBE.username, tmp_path / "bundle", "device secret 42")
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(crt), str(key), password="device secret 42")
    with pytest.raises(ssl.SSLError):
        context.load_cert_chain(str(crt), str(key), password=PASSPHRASE)
    with pytest.raises(IdentityError, match="shorter"):
        registry.export(PROBE.username, tmp_path / "b2", "short")


def test_expired_and_inverted_validity(registry: DeviceRegistry) -> None:
    past = datetime.now(UTC) - timedelta(days=10)
    issued = registry.provision(PROBE, not_before=past, not_after=past + timedelta(days=1))
    assert cert(issued.auth.cert_file).not_valid_after_utc < datetime.now(UTC)
    with pytest.raises(IdentityError, match="before it starts"):
        registry.provision(
            Identity(kind="rfid", site="s1", device_id="r3"),
            not_before=past,
            not_after=past - timedelta(days=1),
        )


# --- placements: where a probe is, from its identity --------------------------------------
COLD = "urn:epc:id:sgln:4012345.00001.cold1"
TRUCK = "urn:epc:id:sgln:4012345.00009.truck7"


def test_a_probe_is_placed_at_provisioning_and_moved_with_its_history(
    registry: DeviceRegistry,
) -> None:
    t0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    record = registry.provision(PROBE, now=t0, location=COLD).record
    assert record.location_at(t0) == COLD
    assert record.location_at(t0 - timedelta(seconds=1)) is None  # before it was placed
    moved = registry.assign(PROBE.username, TRUCK, t0 + timedelta(hours=2))
    assert moved.location_at(t0 + timedelta(hours=1)) == COLD  # old readings stay put
    assert moved.location_at(t0 + timedelta(hours=3)) == TRUCK
    # A placement back-dated between the two keeps the history in time order.
    registry.assign(PROBE.username, COLD, t0 + timedelta(hours=1))
    history = [(p.location, p.since) for p in registry.get(PROBE.username).placements]
    assert [since for _, since in history] == sorted(since for _, since in history)
    # Re-provisioning after a revocation keeps where it was.
    registry.revoke(PROBE.username)
    again = registry.provision(PROBE, now=t0 + timedelta(hours=4)).record
    assert again.location_at(t0 + timedelta(hours=5)) == TRUCK


def test_a_reader_is_placed_at_its_read_point_and_moved_like_a_probe(
    registry: DeviceRegistry,
) -> None:
    t0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    reader = Identity(kind="rfid", site="s1", device_id="dock-1")
    record = registry.provision(reader, now=t0, location=COLD).record
    assert record.location_at(t0) == COLD
    moved = registry.assign(reader.username, TRUCK, t0 + timedelta(hours=1))
    assert [p.location for p in moved.placements] == [COLD, TRUCK]
    assert {r["identity"]: r["location"] for r in registry.summary()}[reader.username] == TRUCK


def test_placing_what_cannot_be_placed_is_refused(registry: DeviceRegistry) -> None:
    agv = Identity(kind="agv", manufacturer="ExampleAGV", device_id="AGV-0001")
    with pytest.raises(IdentityError, match="only temperature probes and RFID readers are placed"):
        registry.provision(agv, location=COLD)
    registry.provision(PROBE)
    with pytest.raises(IdentityError, match="SGLN URN"):
        registry.assign(PROBE.username, "cold room 1")
    with pytest.raises(IdentityError, match="UTC offset"):
        registry.assign(PROBE.username, COLD, datetime(2026, 11, 22))
    with pytest.raises(UnknownIdentity):
        registry.assign("s1/temperature/nobody", COLD)
    registry.revoke(PROBE.username)
    with pytest.raises(IdentityError, match="revoked"):
        registry.assign(PROBE.username, COLD)
