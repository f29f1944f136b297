"""Each hub process's heartbeat in the records (issue #18), and `tracehub status`
listing the instances from them: fresh, not ready, or silent (killed)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from supervision.supervisor import Component, Supervisor
from traceability.records.instances import InstanceBeat
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.heartbeat import COMPONENT, Heartbeat


def test_a_beat_says_the_roles_and_which_components_are_not_ready(tmp_path: Path) -> None:
    store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    supervisor = Supervisor()
    broken = threading.Event()

    def failing(component: Component) -> None:
        component.failed("InfluxDB down")
        broken.set()
        component.stopping.wait()

    supervisor.spawn("gateway.drain", failing)
    assert broken.wait(10)
    beat = Heartbeat(store, supervisor, "h:1:abc", ("gateway",), lambda: {"mqtt_client_id": "g1"})
    written = beat.beat_once()
    assert not written.healthy
    (listed,) = store.hub_instances()
    assert listed.id == "h:1:abc"
    assert listed.roles == ("gateway",)
    assert listed.detail == {"mqtt_client_id": "g1", "not_ready": ["gateway.drain"]}
    beat.start()  # the loop beats, and is not itself among the components it reports
    assert supervisor.wait_until(lambda s: COMPONENT in s and s[COMPONENT].healthy, 10)
    beat.stop()  # a clean stop removes the row
    assert store.hub_instances() == []
    supervisor.stop()
    store.close()


def test_status_lists_every_instance_and_says_which_went_silent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = RecordStore.open(url)
    now = datetime.now(UTC)
    common = {"version": "0.1.0", "host": "h1", "pid": 7, "started_at": now - timedelta(hours=1)}
    web_detail = {"web": "http://10.0.0.5:8000", "not_ready": []}
    store.beat(InstanceBeat(id="h1:7:web", roles=("web",), beat_at=now, healthy=True,
                            detail=web_detail, **common))  # fmt: skip
    store.beat(InstanceBeat(id="h1:8:gw", roles=("gateway",), beat_at=now, healthy=False,
                            detail={"not_ready": ["gateway.drain"]}, **common))  # fmt: skip
    store.beat(InstanceBeat(id="h2:9:anchor", roles=("alarm", "anchor"), healthy=True,
                            beat_at=now - timedelta(minutes=5), **common))  # fmt: skip
    store.close()
    env = {"TRACEHUB_STATE_DIR": str(tmp_path / "elsewhere"), "TRACEHUB_RECORDS_URL": url,
           "COLUMNS": "250", "TRACEHUB_INFLUX_URL": "http://127.0.0.1:9"}  # fmt: skip
    out = CliRunner().invoke(main, ["status"], env=env).output
    assert "instances (3)" in out
    web = next(line for line in out.splitlines() if "h1:7:web" in line)
    assert "healthy" in web
    assert "http://10.0.0.5:8000" in web
    gateway = next(line for line in out.splitlines() if "h1:8:gw" in line)
    assert "NOT READY: gateway.drain" in gateway
    anchor = next(line for line in out.splitlines() if "h2:9:anchor" in line)
    assert "alarm,anchor" in anchor
    assert "NOT RUNNING (silent 5 min: killed?)" in anchor
