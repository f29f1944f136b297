"""`tracehub run` SIGKILLed in the middle of an incident (issue #16): no alarm state, no
notification lost, none sent twice.

The hub runs as a child process with a rule file whose temperature rule fires after 12 s
and whose escalation tells Li Wei at once and Anna Berg after 30 s. Readings out of band
are written to InfluxDB at the cold room where the demo lot is stored. As soon as Li
Wei's webhook arrives the hub is killed; started again it must not open a second
incident nor tell Li Wei again, and must still escalate to Anna Berg on time, once. Anna
then acknowledges with `tracehub incidents ack`: the third step (QA) is cancelled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from influx.client import InfluxClient
from tests.support.epcis import captured
from tests.support.events import object_event
from tests.support.site import Site, seed_master_data, until
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.receivers import Inbox, MailReceiver, Received, WebhookReceiver
from tracehub.services import InfluxDB, Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SECRET = "e2e-webhook-secret"
RULES = """
rules:
  - id: cold-room-band
    kind: temperature
    band: product
    for_min: 0.2
    severity: critical
    applies_to: {kinds: [cold_room]}
notify:
  recipients:
    - {name: Li Wei, email: li.wei@site.example, webhook: true}
    - {name: Anna Berg, email: anna.berg@site.example}
    - {name: QA on call, email: qa@site.example}
  sites:
    default:
      steps:
        - {after_min: 0, recipients: [Li Wei]}
        - {after_min: 0.5, recipients: [Anna Berg]}
        - {after_min: 3, recipients: [QA on call]}
  renotify_min: null
"""


@pytest.fixture
def receivers() -> Iterator[tuple[Inbox, WebhookReceiver, MailReceiver]]:
    inbox = Inbox()
    webhook = WebhookReceiver(SECRET, inbox).start()
    mail = MailReceiver(inbox).start()
    yield inbox, webhook, mail
    webhook.stop()
    mail.stop()


@pytest.fixture
def site(
    tmp_path: Path,
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    receivers: tuple[Inbox, WebhookReceiver, MailReceiver],
) -> Iterator[Site]:
    _, webhook, mail = receivers
    rules = tmp_path / "alarms.yaml"
    rules.write_text(RULES, encoding="utf-8")
    state = tmp_path / "state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "300",
        "TRACEHUB_STATE_DIR": str(state),
        "TRACEHUB_SITE": "incident",
        "TRACEHUB_WEB_PORT": str(free_port()),
        "TRACEHUB_MQTT_PORT": str(mosquitto.port),
        "TRACEHUB_MQTT_SECURITY": "plain",
        "TRACEHUB_MQTT_CLIENT_ID": f"gw-{uuid.uuid4().hex[:8]}",
        "TRACEHUB_INFLUX_URL": influxdb.url,
        "TRACEHUB_INFLUX_DATABASE": f"incident_{uuid.uuid4().hex[:8]}",
        "TRACEHUB_CHAIN_ANCHOR_INTERVAL_S": "0.5",
        "TRACEHUB_ALARMS_FILE": str(rules),
        "TRACEHUB_ALARMS_INTERVAL_S": "1",
        "TRACEHUB_ALERTS_WEBHOOK_URL": webhook.url,
        "TRACEHUB_ALERTS_WEBHOOK_SECRET": SECRET,
        "TRACEHUB_ALERTS_SMTP_URL": f"{mail.url}?from=alerts@site.example",
    }
    running = Site(state, env)
    yield running
    if running.proc is not None:
        running.proc.terminate()
        running.proc.wait(timeout=60)
        assert running.proc.stdout is not None
        running.proc.stdout.close()


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracehub.cli", *args],
        env=site.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _seed(site: Site) -> str:
    """The demo's product, lot and places (signed), the lot stored in cold room 1 ten
    minutes ago (captured by the running hub), and an operator's token."""
    capture = seed_master_data(site, "e2e-wms")
    store = RecordStore.open(f"sqlite:///{site.state / 'records.db'}")
    try:
        operator = store.add_client("anna.berg", ["operator"]).token
    finally:
        store.close()
    at = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stored = object_event("1002", time=at, read_point=demo.COLD_ROOM)
    stored |= {"bizStep": "storing", "bizLocation": {"id": demo.COLD_ROOM}}
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at,
        "epcisBody": {"eventList": [stored]},
    }
    with httpx.Client(base_url=site.url, timeout=30) as http:
        job = captured(http, document, headers={"Authorization": f"Bearer {capture}"})
    assert job["success"], job
    return operator


def _too_warm(influxdb: InfluxDB, database: str) -> None:
    """A minute of 12 °C readings in cold room 1, one every 5 s, up to now."""
    now = datetime.now(UTC)
    lines = [
        f"temperature,device=probe-cold1-01,location={demo.COLD_ROOM},site=incident "
        f"celsius=12.0,seq={i}i {int((now - timedelta(seconds=60 - 5 * i)).timestamp() * 1e9)}"
        for i in range(13)
    ]
    client = InfluxClient(influxdb.url, database)
    try:
        client.create_database()
        client.write(lines)
    finally:
        client.close()


def _sent_to(site: Site, recipient: str) -> int:
    """How many alerts the outbox has marked sent to ``recipient`` (read beside the hub)."""
    store = RecordStore.open(f"sqlite:///{site.state / 'records.db'}")
    try:
        return sum(
            1
            for entry in store.outbox_entries()
            if entry.recipient == recipient and entry.purpose == "alert" and entry.sent_at
        )
    finally:
        store.close()


def _alerts(inbox: Inbox, to: str) -> list[Received]:
    """The alerts (not the acknowledged/closed notes) that reached ``to``."""
    return [
        item
        for item in inbox.items
        if to in item.to and "[ACKNOWLEDGED]" not in item.subject and "[CLOSED]" not in item.subject
    ]


def test_a_sigkilled_hub_loses_no_alarm_and_sends_no_notification_twice(
    site: Site, influxdb: InfluxDB, receivers: tuple[Inbox, WebhookReceiver, MailReceiver]
) -> None:
    inbox = receivers[0]
    site.start()
    operator = _seed(site)
    _too_warm(influxdb, site.env["TRACEHUB_INFLUX_DATABASE"])

    # Li Wei is told by webhook and e-mail; once the outbox has them as sent, the hub dies
    # (between a receiver's "accepted" and that commit a kill resends once with the same
    # delivery id: traceability/records/outbox.py, tests/traceability/notifications).
    assert inbox.wait_for(lambda got: any(i.channel == "webhook" for i in got), 90), inbox.items
    assert until(lambda: _sent_to(site, "Li Wei") == 2, 30)
    site.kill()
    opened = next(i for i in inbox.items if i.channel == "webhook")
    assert "Cold room 1" in opened.text, opened.text  # names the room and the lot
    assert demo.LOT in opened.text, opened.text
    site.start()

    # Escalation after 30 s still happens, once; nobody is told anything twice.
    assert inbox.wait_for(lambda got: bool(_alerts(inbox, "anna.berg@site.example")), 90)
    listed = _cli(site, "incidents", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (incident,) = json.loads(listed.stdout)  # the restart opened no second incident
    ack = _cli(
        site, "incidents", "ack", incident["id"], "--comment", "on my way", "--token", operator
    )
    assert ack.returncode == 0, ack.stdout + ack.stderr
    assert until(
        lambda: any("[ACKNOWLEDGED]" in i.subject for i in inbox.items if "anna" in str(i.to)),
        60,
    ), [i.subject for i in inbox.items]
    deliveries = Counter(item.delivery for item in inbox.items)
    assert [d for d, n in deliveries.items() if n > 1] == []
    assert len(_alerts(inbox, "li.wei@site.example")) == 1  # e-mail, once
    assert len([i for i in _alerts(inbox, "Li Wei") if i.channel == "webhook"]) == 1
    assert len(_alerts(inbox, "anna.berg@site.example")) == 1
    assert _alerts(inbox, "qa@site.example") == []  # acknowledged before its step
    store = RecordStore.open(f"sqlite:///{site.state / 'records.db'}")
    try:
        qa = [e for e in store.outbox_entries(incident["id"]) if e.recipient == "QA on call"]
    finally:
        store.close()
    assert qa
    assert all(e.cancelled_at is not None and e.sent_at is None for e in qa)
