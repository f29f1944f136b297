"""`tracehub status`: its certificate section counts what of the device registry expires
within the warning window, reading only public files (no passphrase, nothing created)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from tests.tracehub.conftest import MakeSettings
from tracehub.commands.status import certificate_expiry
from tracehub.settings import DevicesSettings


def test_status_counts_what_expires_within_the_window(
    make_settings: MakeSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "devices"
    settings = make_settings(devices=DevicesSettings(dir=folder, expiry_warning_days=30))
    assert certificate_expiry(settings) == 0  # no registry yet: nothing, and none created
    assert not folder.exists()
    registry = DeviceRegistry.open(folder, "status passphrase", site="hub-test")
    registry.provision(Identity(kind="temperature", site="hub-test", device_id="p1"), days=12)
    registry.provision(Identity(kind="gateway", device_id="gw"))
    capsys.readouterr()
    assert certificate_expiry(settings) == 1
    out = capsys.readouterr().out
    assert "hub-test/temperature/p1" in out
    assert "gateway/gw" not in out
    assert "tracehub devices rotate --expiring 30" in out
    # A wider window also catches the broker's certificate, the CRL and the other identity.
    wide = make_settings(devices=DevicesSettings(dir=folder, expiry_warning_days=400))
    assert certificate_expiry(wide) == 4
