"""The delivery loop's races and limits: an acknowledgement arriving while an alert is on
its way, a second sender (replica) polling during slow sends, and the rate limit
deferring rather than dropping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from notify.channel import ChannelKind
from notify.message import Message
from tests.traceability.notifications.support import NOTICE, POLICY, T0, Clock, Recorder
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.policy import Escalation, Step, default_policy
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore


class Hooked(Recorder):
    """A recording channel that runs ``hook`` after each message it accepted: what
    happens elsewhere while a send is in flight."""

    def __init__(self, kind: ChannelKind, hook: Callable[[], None] | None = None) -> None:
        super().__init__(kind)
        self.hook = hook

    def send(self, message: Message, address: str) -> None:
        super().send(message, address)
        if self.hook is not None:
            self.hook()


def test_an_acknowledgement_during_a_send_is_kept_and_that_recipient_gets_the_note(
    store: RecordStore,
) -> None:
    clock = Clock()
    email = Hooked("email")
    notifications = Notifications(store, POLICY, {"email": email}, clock=clock)
    loop = DeliveryLoop(notifications)

    def acknowledge() -> None:
        email.hook = None
        notifications.acknowledged(NOTICE.incident_id, "Ben", clock.now)

    email.hook = acknowledge  # Ben acknowledges while Ana's alert is on its way
    notifications.opened(NOTICE)
    assert loop.run_once() == 1  # the note; the alert's send is not recorded over the ack
    assert email.addresses == ["ana@example.com", "ana@example.com"]
    assert "acknowledged by Ben" in email.sent[-1][1].text
    (alert,) = [e for e in store.outbox_entries() if e.purpose == "alert" and e.step == 0]
    assert (alert.state, alert.sent_at) == ("cancelled", None)
    clock.advance(hours=2)
    assert loop.run_once() == 0  # no escalation, no reminder after the acknowledgement
    assert len(email.sent) == 2


def test_a_second_sender_polling_during_slow_sends_never_sends_a_row_twice(
    store: RecordStore,
) -> None:
    clock = Clock()
    everyone = Step(after_min=0, recipients=("Ana", "Ben", "Chen"))
    policy = POLICY.model_copy(update={"sites": {"default": Escalation(steps=(everyone,))}})
    other = Recorder("email")
    replica = DeliveryLoop(Notifications(store, policy, {"email": other}, clock=clock))

    def slow_then_the_replica_polls() -> None:
        clock.advance(seconds=20)  # each send takes 20 s: three outlast one 30-s lease
        replica.run_once()

    email = Hooked("email", slow_then_the_replica_polls)
    notifications = Notifications(store, policy, {"email": email}, clock=clock)
    notifications.opened(NOTICE)
    DeliveryLoop(notifications).run_once()
    assert sorted(email.addresses + other.addresses) == [
        "ana@example.com",
        "ben@example.com",
        "chen@example.com",
    ]
    assert {e.state for e in store.outbox_entries() if e.round == 0} == {"sent"}


def test_over_the_rate_limit_an_alert_waits_for_the_window_and_reminders_go_on(
    store: RecordStore,
) -> None:
    clock = Clock()
    policy = default_policy(email="oncall@example.com").model_copy(
        update={"renotify_min": 5.0, "max_per_hour": 2}
    )
    email = Recorder("email")
    notifications = Notifications(store, policy, {"email": email}, clock=clock)
    loop = DeliveryLoop(notifications)
    notifications.opened(NOTICE)
    assert loop.run_once() == 1  # 08:00
    clock.advance(minutes=5)
    assert loop.run_once() == 1  # 08:05, reminder 1
    clock.advance(minutes=5)
    assert loop.run_once() == 0  # 08:10, reminder 2: a third in the hour, deferred
    (waiting,) = [e for e in store.outbox_entries() if e.state == "pending"]
    assert (waiting.round, waiting.attempts) == (2, 0)
    assert waiting.next_attempt_at == T0 + timedelta(hours=1)  # 08:00 leaves the window
    assert "rate limit" in str(waiting.last_error)
    clock.advance(minutes=49, seconds=59)
    assert loop.run_once() == 0
    clock.advance(seconds=1)
    assert loop.run_once() == 1
    assert "reminder 2" in email.sent[-1][1].subject
    clock.advance(minutes=5)  # 09:05: only 09:00 is in the window
    assert loop.run_once() == 1
    assert "reminder 3" in email.sent[-1][1].subject
    assert not [e for e in store.outbox_entries() if e.state in ("cancelled", "dead")]
