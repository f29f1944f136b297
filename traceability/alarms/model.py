"""An alarm (a rule's condition held long enough at one place) and the port it goes to.

Pure values. An alarm's id is derived from what it is about (rule, place, device, when the
condition began), so the same excursion evaluated twice — a re-read after a restart, a
re-report after a crash — is the same alarm, and every sink can be idempotent by id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

AlarmKind = Literal[
    "temperature_high",
    "temperature_low",
    "probe_offline",
    "door_open",
    "gateway_lost",
    "stability_budget",  # event-like: raised and cleared at once (lotalarms)
    "wrong_place",  # event-like too
    "calibration_due",  # event-like too (calibrationdue)
]
Severity = Literal["warning", "critical"]


class Alarm(BaseModel):
    """A raised (and maybe cleared) alarm, as the incidents receive it."""

    model_config = ConfigDict(frozen=True)

    id: str
    rule: str
    kind: AlarmKind
    severity: Severity
    site: str | None
    location: str
    place_name: str | None
    device: str | None
    started_at: AwareDatetime
    raised_at: AwareDatetime
    cleared_at: AwareDatetime | None = None
    peak_c: float | None = None
    threshold_c: float | None = None
    summary: str


def alarm_id(rule: str, location: str, device: str | None, started_at: datetime) -> str:
    """``alm-`` + 20 hex of sha256(rule|location|device|started_at ISO)."""
    key = f"{rule}|{location}|{device or ''}|{started_at.isoformat()}"
    return "alm-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def event_alarm_id(rule: str, *about: str) -> str:
    """The id of an event-like alarm (raised and cleared at once): ``alm-`` + 20 hex of
    sha256(rule|about…), e.g. rule|lot|threshold, so it is raised once whenever judged."""
    key = "|".join((rule, *about))
    return "alm-" + hashlib.sha256(key.encode()).hexdigest()[:20]


class AlarmSink(Protocol):
    """Where alarms go (the incidents). Both calls MUST be idempotent by ``alarm.id``: the
    engine re-delivers every transition it could not mark reported (a crash, a failed call)."""

    def raised(self, alarm: Alarm) -> None: ...

    def cleared(self, alarm: Alarm) -> None: ...
