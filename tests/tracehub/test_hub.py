"""The hub's lifecycle: building does no I/O, open() connects and wires, stop() closes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tracehub.conftest import MakeSettings
from tracehub.hub import Hub
from tracehub.services import free_port
from tracehub.settings import InfluxSettings, MqttSettings


def test_unresolved_settings_are_refused_at_once(make_settings: MakeSettings) -> None:
    with pytest.raises(ValueError, match="start_local_services"):
        Hub(make_settings(mqtt=MqttSettings(security="plain")))


def test_building_does_no_io_and_open_wires_the_parts(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    hub = Hub(
        make_settings(
            mqtt=MqttSettings(port=free_port(), security="plain"),
            # Nothing listens here: open() must not connect to the broker or InfluxDB.
            influx=InfluxSettings(url=f"http://127.0.0.1:{free_port()}"),
        )
    )
    assert not state.exists()  # no folder, no database, no chain yet
    with pytest.raises(RuntimeError, match="not open"):
        _ = hub.store
    parts = hub.open()
    try:
        assert hub.open() is parts  # once
        assert state.is_dir()
        assert hub.chain.embedded
        assert hub.chain.anchorer.is_anchorer(hub.chain.anchorer.sender)  # deployed on open
        assert hub.rpc_url == f"{hub.web.url}/rpc"
        assert hub.store.pending_events(limit=1) == []
        assert not hub.anchoring.anchored.is_set()
    finally:
        hub.stop()
