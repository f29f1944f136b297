"""Scheduling and delivery: escalation, acknowledgement, reminders, rate limits, retries,
and a restart after a crash (a new Notifications + DeliveryLoop on the same records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.errors import DeliveryFailed
from tests.traceability.notifications.support import LOT, NOTICE, POLICY, T0, Clock, Recorder
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.policy import NotifyPolicy, default_policy
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore


def _hub(
    store: RecordStore, clock: Clock, policy: NotifyPolicy = POLICY
) -> tuple[Notifications, DeliveryLoop, Recorder, Recorder]:
    email, sms = Recorder("email"), Recorder("sms")
    notifications = Notifications(
        store, policy, {"email": email, "sms": sms}, clock=clock, url="http://hub.example"
    )
    return notifications, DeliveryLoop(notifications), email, sms


def test_step_0_goes_out_at_once_and_the_next_step_after_its_minutes(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, sms = _hub(store, clock)
    notifications.opened(NOTICE)
    assert loop.run_once() == 2
    assert email.addresses == ["ana@example.com"]
    assert sms.addresses == ["+34600000001"]
    _, message = email.sent[0]
    assert "Cold room 1" in message.subject
    assert LOT in message.text
    assert "http://hub.example/incidents/inc-0001" in message.text
    assert LOT in message.sms_text
    assert message.payload["incident"]["lots"] == [LOT, "09506000134352/L2"]
    clock.advance(minutes=14, seconds=59)
    assert loop.run_once() == 0
    clock.advance(seconds=1)
    assert loop.run_once() == 2
    assert email.addresses == ["ana@example.com", "ben@example.com"]
    assert email.sent[1][1].subject.startswith("[CRITICAL, escalated] Cold room 1: 9.4 °C")
    clock.advance(minutes=15)
    assert loop.run_once() == 2
    assert email.addresses[-1] == "chen@example.com"


def test_acknowledging_stops_the_escalation_and_tells_those_reached(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, sms = _hub(store, clock)
    notifications.opened(NOTICE)
    loop.run_once()
    clock.advance(minutes=5)
    notifications.acknowledged(NOTICE.incident_id, "Ana", clock.now)
    notifications.acknowledged(NOTICE.incident_id, "Ana", clock.now)  # again: nothing more
    assert loop.run_once() == 2  # the note, by e-mail and SMS, to Ana only
    assert email.addresses == ["ana@example.com", "ana@example.com"]
    assert "acknowledged by Ana" in email.sent[-1][1].text
    clock.advance(hours=3)
    assert loop.run_once() == 0
    entries = store.outbox_entries(NOTICE.incident_id)
    assert {e.state for e in entries if e.step > 0} == {"cancelled"}
    notifications.closed(NOTICE.incident_id, clock.now)
    assert loop.run_once() == 2
    assert "[CLOSED]" in email.sent[-1][1].subject
    assert len(sms.sent) == 3


def test_the_last_step_is_re_sent_until_acknowledged(store: RecordStore) -> None:
    clock = Clock()
    policy = default_policy(email="oncall@example.com")
    notifications, loop, email, _ = _hub(
        store, clock, policy.model_copy(update={"renotify_min": 20.0})
    )
    notifications.opened(NOTICE)
    assert loop.run_once() == 1
    clock.advance(minutes=19)
    assert loop.run_once() == 0
    clock.advance(minutes=1)
    assert loop.run_once() == 1
    assert "reminder 1" in email.sent[-1][1].subject
    clock.advance(minutes=20)
    assert loop.run_once() == 1
    assert "reminder 2" in email.sent[-1][1].subject
    assert len({m.id for _, m in email.sent}) == 3
    notifications.acknowledged(NOTICE.incident_id, "Ana", clock.now)
    assert loop.run_once() == 1  # the note
    clock.advance(hours=2)
    assert loop.run_once() == 0


def test_the_rate_limit_never_drops_alerts_of_distinct_incidents(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, sms = _hub(store, clock)  # max_per_hour 4
    for number in range(7):  # a power failure: seven incidents in seven minutes
        notifications.opened(NOTICE.model_copy(update={"incident_id": f"inc-power-{number}"}))
        assert loop.run_once() == 2
        clock.advance(minutes=1)
    assert email.addresses.count("ana@example.com") == 7
    assert sms.addresses.count("+34600000001") == 7
    assert not [e for e in store.outbox_entries() if e.state == "cancelled"]


def test_opened_twice_schedules_and_sends_once(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, _ = _hub(store, clock)
    notifications.opened(NOTICE)
    clock.advance(minutes=1)
    notifications.opened(NOTICE)  # the incident service re-delivers after a crash
    assert loop.run_once() == 2
    notifications.acknowledged(NOTICE.incident_id, "Ben", clock.now)
    notifications.opened(NOTICE)  # and after an acknowledgement: still nothing new
    clock.advance(hours=1)
    loop.run_once()
    assert email.addresses == ["ana@example.com", "ana@example.com"]  # alert, then the note
    assert len(store.outbox_entries(NOTICE.incident_id)) == 3 * 2 + 2


def test_warnings_are_not_notified_when_the_policy_says_critical_only(store: RecordStore) -> None:
    clock = Clock()
    policy = POLICY.model_copy(update={"severities": ("critical",)})
    notifications, loop, _, _ = _hub(store, clock, policy)
    notifications.opened(NOTICE.model_copy(update={"severity": "warning"}))
    assert loop.run_once() == 0
    assert store.outbox_entries() == []


def test_retries_back_off_permanent_failures_stay_dead_and_others_go_on(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, sms = _hub(store, clock)
    email.fail = [
        DeliveryFailed("smtp down", permanent=False),
        DeliveryFailed("down", permanent=False),
    ]
    sms.fail = [DeliveryFailed("HTTP 400: bad number", permanent=True)]
    notifications.opened(NOTICE)
    assert loop.run_once() == 0
    (mail,) = [e for e in store.outbox_entries() if e.step == 0 and e.channel == "email"]
    (text,) = [e for e in store.outbox_entries() if e.step == 0 and e.channel == "sms"]
    assert (mail.state, mail.attempts, mail.last_error) == ("pending", 1, "smtp down")
    assert mail.next_attempt_at == T0.replace(second=5)
    assert (text.state, text.last_error) == ("dead", "HTTP 400: bad number")
    clock.advance(seconds=5)
    assert loop.run_once() == 0  # second failure: next try 10 s later
    clock.advance(seconds=9)
    assert loop.run_once() == 0
    clock.advance(seconds=1)
    assert loop.run_once() == 1
    assert email.addresses == ["ana@example.com"]
    assert loop.backoff_s(20) == 300.0


def test_an_unexpected_error_in_one_message_does_not_stop_the_others(store: RecordStore) -> None:
    clock = Clock()
    notifications, loop, email, sms = _hub(store, clock)
    email.fail = [RuntimeError("bug")]
    notifications.opened(NOTICE)
    assert loop.run_once() == 1
    assert sms.addresses == ["+34600000001"]
    clock.advance(seconds=5)
    assert loop.run_once() == 1
    assert email.addresses == ["ana@example.com"]


def test_a_restart_after_a_crash_sends_each_message_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    clock = Clock()
    first = RecordStore.open(url)
    notifications, _, _, _ = _hub(first, clock)
    notifications.opened(NOTICE)
    claimed = first.claim_due(clock.now, lease_s=30, limit=2)  # then SIGKILL before sending
    assert len(claimed) == 2
    first.close()

    second = RecordStore.open(url)
    notifications, loop, email, sms = _hub(second, clock)
    notifications.opened(NOTICE)  # re-delivered by the incident service at start
    assert loop.run_once() == 0  # still leased by the dead process
    clock.advance(seconds=30)
    assert loop.run_once() == 2
    assert loop.run_once() == 0
    assert email.addresses == ["ana@example.com"]
    assert sms.addresses == ["+34600000001"]
    assert {e.attempts for e in second.outbox_entries() if e.state == "sent"} == {2}
    second.close()


def test_a_crash_between_accepted_and_marked_resends_once_with_the_same_id(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    clock = Clock()
    first = RecordStore.open(url)
    notifications, _, email, _ = _hub(first, clock, default_policy(email="oncall@example.com"))
    notifications.opened(NOTICE)
    (entry,) = first.claim_due(clock.now, lease_s=30)
    loop = DeliveryLoop(notifications)

    def crash(message_id: str, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed before the mark")  # what SIGKILL leaves: sent, not marked

    first.mark_sent = crash  # type: ignore[method-assign, assignment]
    with pytest.raises(SystemExit):
        loop._deliver(entry)
    first.close()

    second = RecordStore.open(url)
    clock.advance(seconds=31)
    notifications = Notifications(second, notifications.policy, {"email": email}, clock=clock)
    loop = DeliveryLoop(notifications)
    assert loop.run_once() == 1
    assert loop.run_once() == 0
    (one, two) = email.sent
    assert one[1].id == two[1].id == entry.id  # the receiver de-duplicates by it
    second.close()
