"""Shared pieces of the notification tests: a notice, a policy, a clock, a recording channel.

The recording channel is a fake for the scheduling logic only; every real channel is
tested against a real server in tests/notify (and end to end in test_delivery.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notify.channel import ChannelKind
from notify.message import Message
from traceability.incidents.notice import Notice
from traceability.notifications.policy import NotifyPolicy

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LOT = "09506000134352/L1"
NOTICE = Notice(
    incident_id="inc-0001",
    site="demo",
    location="urn:epc:id:sgln:0950600.01348.0",
    place_name="Cold room 1",
    kind="temperature_high",
    severity="critical",
    summary="Cold room 1: 9.4 °C, above 8.0 °C for 16 min (probe demo-probe-1)",
    started_at=T0 - timedelta(minutes=16),
    raised_at=T0,
    lots=(LOT, "09506000134352/L2"),
)
POLICY = NotifyPolicy.model_validate(
    {
        "recipients": [
            {"name": "Ana", "email": "ana@example.com", "phone": "+34600000001"},
            {"name": "Ben", "email": "ben@example.com", "phone": "+34600000002"},
            {"name": "Chen", "email": "chen@example.com", "phone": "+34600000003"},
        ],
        "sites": {
            "default": {
                "steps": [
                    {"after_min": 0, "recipients": ["Ana"]},
                    {"after_min": 15, "recipients": ["Ben"]},
                    {"after_min": 30, "recipients": ["Chen"]},
                ]
            }
        },
        "renotify_min": 20,
        "max_per_hour": 4,
    }
)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A channel that records what it was given; ``fail`` holds errors to raise first."""

    def __init__(self, kind: ChannelKind) -> None:
        self._kind: ChannelKind = kind
        self.sent: list[tuple[str, Message]] = []
        self.fail: list[Exception] = []
        self.closed = False

    @property
    def kind(self) -> ChannelKind:
        return self._kind

    def send(self, message: Message, address: str) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((address, message))

    def close(self) -> None:
        self.closed = True

    @property
    def addresses(self) -> list[str]:
        return [address for address, _ in self.sent]
