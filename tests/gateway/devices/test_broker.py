"""The broker's view of the registry: its certificate, ACL, password file and CRL, and
the copy for a broker in another container."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from tests.gateway.devices.conftest import PROBE, cert


def test_broker_certificate_names_the_hosts(registry: DeviceRegistry) -> None:
    registry.init(["hub.example"])
    files = registry.broker_files()
    server = cert(files.certfile)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "mosquitto", "hub.example"} <= set(names.get_values_for_type(x509.DNSName))
    assert stat.S_IMODE(files.keyfile.stat().st_mode) == 0o600
    assert files.keyfile.parent == registry.runtime_dir
    # at rest (outside the runtime folder) the server key is encrypted
    stored = (registry.folder / "broker/server.key").read_bytes()
    assert stored.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_acl_and_password_file_follow_the_registry(registry: DeviceRegistry) -> None:
    registry.provision(PROBE)
    pw = Identity(kind="rfid", site="s1", device_id="r1")
    issued = registry.provision(pw, certificate=False, password=True)
    assert issued.password is not None
    acl = (registry.folder / "broker/acl").read_text()
    assert "user s1/temperature/p1\ntopic write tracehub/v1/s1/temperature/p1" in acl
    passwd = (registry.folder / "broker/passwd").read_text()
    assert passwd.startswith("s1/rfid/r1:$7$101$")
    assert issued.password.get_secret_value() not in passwd
    registry.revoke(pw.username)
    assert "s1/rfid/r1" not in (registry.folder / "broker/acl").read_text()
    assert (registry.folder / "broker/passwd").read_text() == ""


def test_export_copies_only_what_a_broker_needs(registry: DeviceRegistry, tmp_path: Path) -> None:
    registry.provision(PROBE)
    dest = tmp_path / "broker"
    files = registry.export_broker(dest)
    assert sorted(p.name for p in dest.iterdir()) == [
        "acl", "ca.crt", "crl.pem", "passwd", "server.crt", "server.key",
    ]  # fmt: skip
    assert files.pid_file == dest / "mosquitto.pid"
    assert stat.S_IMODE(files.keyfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.acl_file.stat().st_mode) == 0o644
    source = registry.broker_files()
    assert files.certfile.read_bytes() == source.certfile.read_bytes()
    assert files.keyfile.read_bytes() == source.keyfile.read_bytes()


def test_no_local_broker_means_no_reload(registry: DeviceRegistry) -> None:
    assert registry.reload_broker() is False
    registry.runtime_dir.mkdir(parents=True)
    (registry.runtime_dir / "mosquitto.pid").write_text("1\n")  # pid 1 is not mosquitto
    assert registry.reload_broker() is False
