"""End to end against real receivers: the supervised loop delivers an incident to a
webhook receiver (HMAC checked) and an SMTP server, naming the room and the lots, then
escalates; a hub process SIGKILLed mid-send loses nothing and the message is resent once,
with the same delivery id."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervision.supervisor import Supervisor
from tests.notify.servers import HttpReceiver, SmtpServer, http_receiver, smtp_server
from tests.traceability.notifications.support import LOT, NOTICE, POLICY, Clock
from traceability.notifications.channels import channels_from
from traceability.notifications.loop import COMPONENT, DeliveryLoop
from traceability.notifications.policy import NotifyPolicy, default_policy
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore

pytestmark = pytest.mark.integration
SECRET = "hook-secret"


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


def _with_webhook(policy: NotifyPolicy) -> NotifyPolicy:
    """Ana is also reached by the webhook."""
    recipients = tuple(
        r.model_copy(update={"webhook": True}) if r.name == "Ana" else r for r in policy.recipients
    )
    return policy.model_copy(update={"recipients": recipients})


def test_the_webhook_and_the_smtp_server_receive_it_then_it_escalates(
    store: RecordStore, receiver: HttpReceiver, smtpd: SmtpServer
) -> None:
    clock = Clock(datetime.now(UTC))
    channels = channels_from(
        webhook_url=receiver.url + "/alerts",
        webhook_secret=SECRET,
        smtp_url=smtpd.url("from=alarms%40hub.example"),
    )
    notifications = Notifications(
        store, _with_webhook(POLICY), channels, clock=clock, url="http://hub.example"
    )
    supervisor = Supervisor()
    loop = DeliveryLoop(notifications, supervisor, poll_s=0.05)
    loop.start()
    try:
        notifications.opened(NOTICE)
        (hook,) = receiver.wait_for(1, timeout=60)
        ((to, mail),) = smtpd.wait_for(1, timeout=60)
        expected = hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        assert hook.headers["x-tracehub-signature"] == f"sha256={expected}"
        body = json.loads(hook.body)
        assert body["recipient"] == "Ana"
        assert body["notification"]["incident"]["place_name"] == "Cold room 1"
        assert LOT in body["notification"]["incident"]["lots"]
        assert to == ("ana@example.com",)
        assert "Cold room 1" in str(mail["Subject"])
        text = mail.get_body()
        assert text is not None
        assert LOT in text.get_content()
        assert "http://hub.example/incidents/inc-0001" in text.get_content()

        clock.advance(minutes=15)  # unacknowledged: the next person
        loop.wake()
        messages = smtpd.wait_for(2, timeout=60)
        assert messages[1][0] == ("ben@example.com",)
        assert "escalated" in str(messages[1][1]["Subject"])
        assert supervisor.wait_until(
            lambda statuses: (
                COMPONENT in statuses
                and statuses[COMPONENT].healthy
                and statuses[COMPONENT].last_success is not None
            ),
            10,
        )
    finally:
        loop.stop()
        notifications.close()
    assert len(receiver.requests) == 1  # the webhook was only Ana's


CHILD = """
import sys
from traceability.notifications.channels import channels_from
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.policy import default_policy
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore
from tests.traceability.notifications.support import NOTICE

store = RecordStore.open(sys.argv[1])
notifications = Notifications(
    store, default_policy(webhook=True), channels_from(webhook_url=sys.argv[2], timeout_s=60)
)
notifications.opened(NOTICE)
DeliveryLoop(notifications).run_once()  # the receiver holds its answer: killed in here
"""


def test_a_hub_killed_mid_send_loses_nothing_and_resends_once_with_the_same_id(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    receiver.hold = True  # the request arrives; the answer waits
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, receiver.url],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        (first,) = receiver.wait_for(1, timeout=60)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    receiver.hold = False
    receiver.release()

    store = RecordStore.open(url)
    (entry,) = store.outbox_entries()
    assert (entry.state, entry.attempts) == ("pending", 1)  # claimed, never marked
    later = Clock(datetime.now(UTC) + timedelta(seconds=31))  # its lease has run out
    notifications = Notifications(
        store, default_policy(webhook=True), channels_from(webhook_url=receiver.url), clock=later
    )
    notifications.opened(NOTICE)  # re-delivered at start: nothing new
    loop = DeliveryLoop(notifications)
    assert loop.run_once() == 1
    assert loop.run_once() == 0
    notifications.close()
    second = receiver.requests[1]
    assert len(receiver.requests) == 2
    assert first.headers["x-tracehub-delivery"] == second.headers["x-tracehub-delivery"] == entry.id
    assert json.loads(first.body) == json.loads(second.body)
    assert store.outbox_entries()[0].state == "sent"
    store.close()
