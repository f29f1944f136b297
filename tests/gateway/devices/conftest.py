"""A registry in a temporary folder, and the probe identity most tests provision."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry

PASSPHRASE = "unit test passphrase"
PROBE = Identity(kind="temperature", site="s1", device_id="p1")


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    return DeviceRegistry.open(tmp_path / "devices", PASSPHRASE, site="s1")


def cert(path: Path | None) -> x509.Certificate:
    assert path is not None
    return x509.load_pem_x509_certificate(path.read_bytes())
