"""The hub's readiness against a running hub (mosquitto, InfluxDB, SQLite, the embedded
EVM, uvicorn on a real socket): ``/readyz`` lists every component and dependency, says
503 with the error while the anchoring loop is dead and being restarted, 200 once it
recovers; a record set aside is listed and anchoring goes on; the 250-character lot
that once killed the anchoring thread is refused at capture; ``tracehub status`` prints
it all, or says the hub cannot be reached."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.support.epcis import captured
from tests.support.hubs import hub_settings
from tests.support.poison import inject_entry
from traceability.anchoring.feeder import EVENT_KIND, EventLeaves, FeedResult
from traceability.anchoring.loop import COMPONENT, Feeder
from traceability.capture import CaptureService
from tracehub import demo
from tracehub.cli import main
from tracehub.hub import Hub, url_file
from tracehub.services import InfluxDB, Mosquitto, free_port

pytestmark = pytest.mark.integration

WAIT_S = 60.0
COMPONENTS = {"anchoring", "gateway.spooler", "gateway.drain", "gateway.evidence", "gateway.health"}
WATCHED = {"gateway.mqtt", "web", "records", "ledger", "chain"}


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> Iterator[Hub]:
    settings = hub_settings(tmp_path / "state", "ready", mosquitto, influxdb)
    with Hub(settings) as running:
        demo.seed(running.master)
        assert running.gateway.wait_ready(WAIT_S), "the gateway did not subscribe"
        yield running


def _event(serial: int, minutes_ago: int = 30) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "ObjectEvent",
        "eventTime": at,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [demo.unit_urn(serial)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": demo.DOCK_DOOR},
    }


def _capture(hub: Hub, serial: int, minutes_ago: int = 30) -> str:
    """Captured as the hub captures: signed into the ledger, then stored."""
    service = CaptureService(hub.store, ledger=EventLeaves(hub.ledger, hub.signer))
    return service.capture(_event(serial, minutes_ago)).event_id


def _readyz(hub: Hub) -> httpx.Response:
    return httpx.get(f"{hub.web.url}/readyz", timeout=10)


def _anchored(hub: Hub, event_id: str) -> bool:
    return event_id not in {e.id for e in hub.store.pending_events(limit=1000)}


def _anchor_now(hub: Hub) -> None:
    hub.anchoring.anchored.clear()
    hub.anchoring.wake()
    assert hub.anchoring.anchored.wait(WAIT_S)


def test_readyz_lists_every_component_and_healthz_stays_a_liveness_answer(hub: Hub) -> None:
    response = _readyz(hub)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    named = {c["name"]: c for c in body["components"]}
    assert set(named) >= COMPONENTS | WATCHED
    assert all(c["ready"] for c in named.values())
    assert named["chain"]["detail"].startswith("block ")
    assert body["set_aside"] == {"count": 0, "newest": []}
    assert response.headers["cache-control"] == "no-store"
    started = time.perf_counter()
    health = httpx.get(f"{hub.web.url}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert time.perf_counter() - started < 1.0  # touches nothing: no dependency to wait on


class Broken:
    """The hub's feeder with a bug while ``failing`` is set (an unexpected RuntimeError)."""

    def __init__(self, real: Feeder) -> None:
        self.real = real
        self.failing = threading.Event()
        self.failing.set()

    def sync(self) -> FeedResult:
        if self.failing.is_set():
            raise RuntimeError("injected: the feeder has a bug")
        return self.real.sync()


def test_a_killed_anchoring_loop_is_restarted_and_readyz_tells_until_it_recovers(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _capture(hub, 1001)
    broken = Broken(hub.anchoring.feeder)
    monkeypatch.setattr(hub.anchoring, "feeder", broken)
    hub.anchoring.wake()
    assert hub.supervisor.wait_until(lambda s: s[COMPONENT].restarts >= 1, WAIT_S)
    response = _readyz(hub)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    (anchoring,) = [c for c in body["components"] if c["name"] == COMPONENT]
    assert anchoring["ready"] is False
    assert anchoring["restarts"] >= 1
    assert anchoring["last_error"]["type"] == "RuntimeError"
    assert anchoring["last_error"]["message"] == "injected: the feeder has a bug"
    # the others are not dragged down with it
    assert all(c["ready"] for c in body["components"] if c["name"] != COMPONENT)
    assert not _anchored(hub, event)
    out = _status(hub, expect=1)  # a script or a probe sees it in the exit code too
    assert f"hub {hub.web.url}: NOT READY" in out
    assert "injected: the feeder has a bug" in out

    broken.failing.clear()  # the bug is gone: the restarted loop anchors what waited
    assert hub.supervisor.wait_until(lambda s: s[COMPONENT].ready, WAIT_S)
    hub.anchoring.wake()  # (the restarted loop still owes the flush asked before the bug)
    assert hub.anchoring.anchored.wait(WAIT_S)
    assert _anchored(hub, event)
    recovered = _readyz(hub)
    assert recovered.status_code == 200, recovered.text
    (anchoring,) = [c for c in recovered.json()["components"] if c["name"] == COMPONENT]
    # the error is kept, with the success after it
    assert anchoring["last_error"]["message"] == "injected: the feeder has a bug"
    assert anchoring["last_success"] > anchoring["last_error"]["at"]


def test_a_poison_record_is_listed_and_anchoring_goes_on(hub: Hub) -> None:
    first = _capture(hub, 1001, minutes_ago=40)
    # past capture's checks, as a bug would write it: stored, its entry around submit
    poison = _event(1002, minutes_ago=35)  # built once: its time, so its id, must not move
    poisoned = CaptureService(hub.store).capture(dict(poison)).event_id
    inject_entry(
        hub.settings.ledger_url, hub.signer, EVENT_KIND, poisoned, {"p": 1}, datetime.now(UTC)
    )
    later = _capture(hub, 1003)
    _anchor_now(hub)
    assert _anchored(hub, first)
    assert _anchored(hub, later)
    assert not _anchored(hub, poisoned)
    response = _readyz(hub)
    assert response.status_code == 200, response.text  # set aside: not a reason to be unready
    aside = response.json()["set_aside"]
    assert aside["count"] == 1
    (newest,) = aside["newest"]
    assert newest["record"] == f"{EVENT_KIND} {poisoned}"
    assert "at most 200 characters" in newest["reason"]
    # Its sender offers it again (a redelivery): taken as known, not refused for ever,
    # so a gateway's spool or a client's retry queue is not wedged behind it.
    again = CaptureService(hub.store, ledger=EventLeaves(hub.ledger, hub.signer))
    assert again.capture(dict(poison)).event_id == poisoned


def test_the_250_character_lot_is_refused_at_capture_naming_the_field(hub: Hub) -> None:
    event = _event(1001)
    event.pop("epcList")
    event["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:4012345.011111." + "A" * 250, "quantity": 1}
    ]
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": event["eventTime"],
        "epcisBody": {"eventList": [event]},
    }
    token = hub.store.add_client("erp-1", ["capture"]).token
    leaves = hub.ledger.pending().count  # the seeded master data's
    started = time.perf_counter()
    with httpx.Client(base_url=hub.web.url, timeout=10) as http:
        job = captured(http, document, headers={"Authorization": f"Bearer {token}"})
    assert time.perf_counter() - started < 1.0
    assert job["success"] is False, job
    (error,) = job["errors"]
    assert error["field"] == "quantityList[0].epcClass", job
    assert "at most 20" in error["reason"], job
    assert hub.store.pending_events(limit=10) == []
    assert hub.ledger.pending().count == leaves  # nothing signed
    assert _readyz(hub).status_code == 200  # and nothing behind it is hurt


def _status(hub: Hub, *args: str, expect: int = 0) -> str:
    result = CliRunner().invoke(
        main,
        ["status", "--influx-url", hub.settings.influx.url or "", "--database",
         hub.settings.influx.database, *args],
        env={
            "TRACEHUB_STATE_DIR": str(hub.settings.hub.state_dir),
            "TRACEHUB_SITE": hub.settings.hub.site,
            "COLUMNS": "300",
        },
    )  # fmt: skip
    assert result.exit_code == expect, result.output
    return result.output


def test_status_prints_the_hub_readiness_found_in_the_state_folder(hub: Hub) -> None:
    poisoned = CaptureService(hub.store).capture(_event(1002)).event_id
    inject_entry(
        hub.settings.ledger_url, hub.signer, EVENT_KIND, poisoned, {"p": 1}, datetime.now(UTC)
    )
    _anchor_now(hub)
    assert url_file(hub.settings.hub.state_dir).read_text().strip() == hub.web.url
    out = _status(hub)
    assert f"hub {hub.web.url}: ready" in out
    for name in COMPONENTS | WATCHED:
        assert name in out
    assert "records set aside (1)" in out
    assert poisoned in out


def test_status_says_when_the_hub_is_not_reachable(hub: Hub) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    out = _status(hub, "--hub", closed)
    assert f"hub: not reachable at {closed}" in out
    hub.stop()  # a stopped hub takes its URL back
    assert not url_file(hub.settings.hub.state_dir).exists()
    assert "hub: not reachable: no URL" in _status(hub)


def test_a_flood_of_readyz_against_a_hung_database_queues_no_checks() -> None:
    from types import SimpleNamespace

    from supervision.supervisor import Supervisor
    from tracehub.readiness import HubReadiness

    release = threading.Event()
    asked: list[str] = []

    class HungStore:
        def pending_events(self, limit: int) -> list[object]:
            asked.append("records")
            release.wait(30)
            return []

    ledger = SimpleNamespace(
        pending=lambda: SimpleNamespace(count=0),
        set_aside_records=lambda n: [],
        set_aside_count=lambda: 0,
    )
    chain = SimpleNamespace(anchorer=SimpleNamespace(head=lambda: 7), name="test chain")
    readiness = HubReadiness(Supervisor(), HungStore(), ledger, chain, deadline_s=0.05)  # type: ignore[arg-type]
    try:
        for _ in range(50):
            report = readiness.readiness()
            (records,) = [c for c in report.components if c.name == "records"]
            assert not records.ready
        assert asked == ["records"]  # one check in flight, waited on by every call
        (head,) = [c for c in report.components if c.name == "chain"]
        assert head.ready
        assert head.detail == "block 7 on test chain"
    finally:
        release.set()
        readiness.close()
