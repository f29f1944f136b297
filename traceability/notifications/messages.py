"""What the notifications say: the alert, a reminder, an escalation, and the end.

Pure: a ``Notice`` in, a ``notify.message.Message`` out. Every alert names the place
(its name from master data, else its URN), the alarm's summary, since when, the affected
lots and the link where a person acknowledges it. The SMS text is the same facts in one
line; the webhook payload carries the notice itself.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from notify.message import Message
from traceability.incidents.notice import Notice

MAX_SUBJECT = 300
EndState = Literal["acknowledged", "closed"]


def entry_id(
    incident_id: str, purpose: str, step: int, round_: int, recipient: str, channel: str
) -> str:
    """The outbox id of one message: the same inputs always give the same id."""
    key = "|".join((incident_id, purpose, str(step), str(round_), recipient, channel))
    return "ntf-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def incident_url(notice: Notice, hub_url: str | None) -> str | None:
    if notice.url:
        return notice.url
    return None if hub_url is None else f"{hub_url.rstrip('/')}/incidents/{notice.incident_id}"


def place_of(notice: Notice) -> str:
    return notice.place_name or notice.location


def alert(notice: Notice, message_id: str, step: int, round_: int, url: str | None) -> Message:
    """The alert of escalation step ``step`` (0 first), re-sent as round ``round_``."""
    severity = notice.severity.upper()
    tag = severity
    if round_ > 0:
        tag += f", reminder {round_}"
    elif step > 0:
        tag += ", escalated"
    lots = ", ".join(notice.lots) if notice.lots else "none recorded"
    place = place_of(notice)
    since = _when(notice.started_at)
    lines = [
        notice.summary,
        "",
        f"Place: {place}" + (f" ({notice.location})" if notice.place_name else ""),
        *([f"Site: {notice.site}"] if notice.site else []),
        f"Alarm: {notice.kind}, {notice.severity}",
        f"Since: {since}; alarm raised {_when(notice.raised_at)}",
        f"Affected lots: {lots}",
        "",
        f"Open and acknowledge the incident: {url}"
        if url
        else f"Acknowledge incident {notice.incident_id} in tracehub.",
        "Until someone acknowledges it, it goes on to the next people and is re-sent.",
    ]
    if step > 0 or round_ > 0:
        lines.append(f"(escalation step {step + 1}" + (f", reminder {round_})" if round_ else ")"))
    short = f"[{tag}] {notice.summary}. Lots: {lots}." + (f" {url}" if url else "")
    return Message(
        id=message_id,
        subject=f"[{tag}] {_headline(notice)}"[:MAX_SUBJECT],
        text="\n".join(lines) + "\n",
        short=short,
        payload=_payload("incident.opened", notice, url, step=step, round=round_),
    )


def ending(
    notice: Notice,
    message_id: str,
    state: EndState,
    by: str | None,
    at: datetime,
    url: str | None,
) -> Message:
    """The short note to those an alert reached: someone acknowledged it, or it closed."""
    place = place_of(notice)
    what = f"acknowledged by {by}" if state == "acknowledged" and by else state
    head = f"{place}: incident {what} at {_when(at)}"
    lines = [head, "", notice.summary, *([f"Incident: {url}"] if url else [])]
    if state == "acknowledged":
        lines.append("No more escalation or reminders will be sent for it.")
    return Message(
        id=message_id,
        subject=f"[{state.upper()}] {_headline(notice)}"[:MAX_SUBJECT],
        text="\n".join(lines) + "\n",
        short=head + ".",
        payload=_payload(f"incident.{state}", notice, url, by=by, at=at.isoformat()),
    )


def _headline(notice: Notice) -> str:
    """The summary, led by the place unless it names it already."""
    place = place_of(notice)
    return notice.summary if place in notice.summary else f"{place}: {notice.summary}"


def _payload(event: str, notice: Notice, url: str | None, **extra: Any) -> dict[str, Any]:
    incident = notice.model_dump(mode="json")
    incident["url"] = url
    return {"event": event, "incident": incident, **extra}


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
