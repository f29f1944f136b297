"""Gateway health reports how many of the device registry's certificates (and its CRL,
broker certificate, CA) lapse within the warning window, and warns at start."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from gateway.devices.access import Identity
from gateway.devices.registry import DeviceRegistry
from gateway.devices.renewal import watch
from gateway.health import HealthReporter
from gateway.pipeline import Gateway, GatewayCounters


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)


class Spool:
    depth = 0
    bytes = 0
    fill_ratio = 0.0


def reporter(writer: Lines, certs: Callable[[], int] | None = None) -> HealthReporter:
    gateway = SimpleNamespace(counters=GatewayCounters(), lags_ms=[], lag_count=0)
    return HealthReporter(
        "gw", cast(Gateway, gateway), Spool(), writer, dict, interval_s=3600, certs_expiring=certs
    )


def test_health_counts_certificates_lapsing_soon_and_warns_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = DeviceRegistry.open(tmp_path / "devices", "health passphrase", site="s1")
    registry.provision(Identity(kind="temperature", site="s1", device_id="p1"), days=5)
    registry.provision(Identity(kind="gateway", device_id="gw"))
    now = datetime.now(UTC)
    writer = Lines()
    health = reporter(writer, watch(registry.folder, timedelta(days=30), clock=lambda: now))
    assert health.report()["certs_expiring"] == 1
    assert "certs_expiring=1i" in writer.lines[0]
    with caplog.at_level(logging.WARNING, logger="gateway.health"):
        health.start()
        health.stop()
    assert "1 certificate(s) or CRL of the device registry expire soon" in caplog.text
    assert "tracehub devices rotate --expiring 30" in caplog.text


def test_nothing_lapsing_means_no_warning_and_no_registry_no_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = DeviceRegistry.open(tmp_path / "devices", "health passphrase", site="s1")
    registry.provision(Identity(kind="gateway", device_id="gw"))
    health = reporter(Lines(), watch(registry.folder, timedelta(days=30)))
    with caplog.at_level(logging.WARNING, logger="gateway.health"):
        health.start()
        health.stop()
    assert health.snapshot()["certs_expiring"] == 0
    assert "expire soon" not in caplog.text
    assert "certs_expiring" not in reporter(Lines()).snapshot()
