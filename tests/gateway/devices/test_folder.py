"""The registry folder: the document on disk, owner-only writes, the CA made once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.devices.folder import RegistryFolder, write_private
from gateway.devices.registry import DeviceRegistry
from gateway.errors import IdentityError
from tests.gateway.devices.conftest import PASSPHRASE, PROBE


def test_a_corrupt_registry_file_names_the_fix(registry: DeviceRegistry) -> None:
    registry.provision(PROBE)
    (registry.folder / "registry.json").write_text("{")
    with pytest.raises(IdentityError, match="restore it"):
        registry.records()


def test_private_files_are_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "secret"
    write_private(path, b"one")
    write_private(path, b"two")
    assert path.read_bytes() == b"two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary left


def test_the_ca_is_created_once_and_its_key_kept_encrypted(tmp_path: Path) -> None:
    folder = RegistryFolder(tmp_path / "devices", PASSPHRASE.encode())
    assert folder.load("s1").devices == []
    cert, _ = folder.ca("s1")
    again, _ = folder.ca("s1")
    assert again == cert
    assert folder.ca_key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(folder.ca_cert.stat().st_mode) == 0o644
