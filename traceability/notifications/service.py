"""Notifications: turns an incident's life into durable outbox rows (``IncidentNotifier``).

``opened(notice)`` schedules every escalation step in one transaction: step 0 at once,
each later step ``after_min`` minutes on, to every recipient of the step on every channel
they and the hub have. Nothing is sent here: ``traceability.notifications.loop`` sends
what is due, so a notification scheduled before a crash is sent after it, and the row ids
are deterministic so ``opened()`` re-delivered (the incident service always calls it)
schedules nothing twice. ``acknowledged()`` and ``closed()`` cancel what is still unsent
and tell those reached, in one transaction with the state change: nothing is claimed for
sending after it. One message already claimed at that moment (the loop claims a row just
before sending it) may still arrive after the acknowledgement; its recipient counts as
reached and gets the note too (``traceability.records.outbox``).

Re-notification is scheduled lazily: when the loop sends a message of the last step it
adds the next round ``renotify_min`` later (with the mark that it was sent, unless the
incident was settled meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from notify.channel import Channel, ChannelKind
from traceability.incidents.notice import Notice
from traceability.notifications import messages
from traceability.notifications.policy import NotifyPolicy
from traceability.records.database import now_utc
from traceability.records.outbox import (
    NotificationIncident,
    OutboxEntry,
    OutboxRecords,
    SentTo,
)

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class Notifications:
    """Implements ``traceability.incidents.notice.IncidentNotifier`` over the outbox."""

    def __init__(
        self,
        store: OutboxRecords,
        policy: NotifyPolicy,
        channels: Mapping[ChannelKind, Channel],
        clock: Clock = now_utc,
        url: str | None = None,
    ) -> None:
        """``url``: the hub's public URL (links are ``{url}/incidents/{id}`` when the
        notice has none). Builds nothing and connects nowhere."""
        self.store = store
        self.policy = policy
        self.channels = dict(channels)
        self.clock = clock
        self.url = url

    # IncidentNotifier ---------------------------------------------------------------

    def opened(self, notice: Notice) -> None:
        if notice.severity not in self.policy.severities:
            log.info("incident %s: %s is not notified", notice.incident_id, notice.severity)
            return
        now = self.clock()
        entries = self._alerts(notice, now)
        incident = NotificationIncident(
            incident_id=notice.incident_id,
            site=notice.site,
            notice=notice.model_dump_json(),
            opened_at=now,
        )
        if self.store.schedule_notifications(incident, entries) and not entries:
            log.warning(
                "incident %s at %s: nobody to notify (no escalation for site %r, or no "
                "configured channel reaches its recipients)",
                notice.incident_id,
                messages.place_of(notice),
                notice.site,
            )

    def acknowledged(self, incident_id: str, by: str, at: datetime) -> None:
        self._end(incident_id, "acknowledged", by, at)

    def closed(self, incident_id: str, at: datetime) -> None:
        self._end(incident_id, "closed", None, at)

    # used by the delivery loop ------------------------------------------------------

    def reminder(self, entry: OutboxEntry, sent_at: datetime) -> OutboxEntry | None:
        """The next round of a sent last-step alert, ``renotify_min`` after it (None: no
        re-notification, or not a last-step alert)."""
        if entry.purpose != "alert" or not entry.last_step or self.policy.renotify_min is None:
            return None
        incident = self.store.notification_incident(entry.incident_id)
        if incident is None or incident.settled:
            return None
        notice = Notice.model_validate_json(incident.notice)
        round_ = entry.round + 1
        new_id = messages.entry_id(
            entry.incident_id, "alert", entry.step, round_, entry.recipient, entry.channel
        )
        return entry.model_copy(
            update={
                "id": new_id,
                "round": round_,
                "message": messages.alert(
                    notice, new_id, entry.step, round_, self._url(notice)
                ).model_dump_json(),
                "due_at": sent_at + timedelta(minutes=self.policy.renotify_min),
                "attempts": 0,
                "next_attempt_at": None,
                "claimed_until": None,
                "last_error": None,
                "sent_at": None,
            }
        )

    def close(self) -> None:
        """Close the channels' connections."""
        for channel in self.channels.values():
            channel.close()

    # ---------------------------------------------------------------------------------

    def _url(self, notice: Notice) -> str | None:
        return messages.incident_url(notice, self.url)

    def _alerts(self, notice: Notice, now: datetime) -> list[OutboxEntry]:
        escalation = self.policy.escalation_for(notice.site)
        if escalation is None:
            return []
        url = self._url(notice)
        out = []
        last = len(escalation.steps) - 1
        for number, step in enumerate(escalation.steps):
            due = now + timedelta(minutes=step.after_min)
            for name in step.recipients:
                for channel, address in self.policy.recipient(name).addresses():
                    if channel not in self.channels:
                        continue
                    entry_id = messages.entry_id(
                        notice.incident_id, "alert", number, 0, name, channel
                    )
                    out.append(
                        OutboxEntry(
                            id=entry_id,
                            incident_id=notice.incident_id,
                            purpose="alert",
                            step=number,
                            round=0,
                            last_step=number == last,
                            recipient=name,
                            channel=channel,
                            address=address,
                            message=messages.alert(
                                notice, entry_id, number, 0, url
                            ).model_dump_json(),
                            due_at=due,
                        )
                    )
        return out

    def _end(
        self, incident_id: str, state: messages.EndState, by: str | None, at: datetime
    ) -> None:
        now = self.clock()

        def notes(incident: NotificationIncident, reached: Sequence[SentTo]) -> list[OutboxEntry]:
            notice = Notice.model_validate_json(incident.notice)
            out = []
            for target in reached:
                if target.channel not in self.channels:
                    continue
                entry_id = messages.entry_id(
                    incident_id, state, 0, 0, target.recipient, target.channel
                )
                message = messages.ending(notice, entry_id, state, by, at, self._url(notice))
                out.append(
                    OutboxEntry(
                        id=entry_id,
                        incident_id=incident_id,
                        purpose=state,
                        step=0,
                        round=0,
                        last_step=False,
                        recipient=target.recipient,
                        channel=target.channel,
                        address=target.address,
                        message=message.model_dump_json(),
                        due_at=now,
                    )
                )
            return out

        cancelled = self.store.end_notifications(incident_id, state, at, by, notes)
        if cancelled:
            log.info(
                "incident %s %s: %d unsent notifications cancelled", incident_id, state, cancelled
            )
