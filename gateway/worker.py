"""The gateway service: one message in, one outcome out (written, captured or dead-lettered)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from gateway.capture import CapturePort
from gateway.decode import Rejection, TagObservation, TemperatureObservation, decode
from gateway.errors import CaptureRejected, SinkRejected
from gateway.lineprotocol import temperature_line
from gateway.observation import DEFAULT_PROFILE, ReadPointProfile, object_event

log = logging.getLogger(__name__)


class PointSink(Protocol):
    """Where temperature lines go (InfluxWriter in production)."""

    def write(self, lines: Sequence[str]) -> None: ...


class DeadLetterSink(Protocol):
    """Where refused messages go (DeadLetterStore in production)."""

    def add(
        self, topic: str, payload: bytes, reason: str, field: str, received_at: datetime | None
    ) -> bool: ...


class Outcome(StrEnum):
    WRITTEN = "written"
    CAPTURED = "captured"
    DEAD_LETTERED = "dead_lettered"


class GatewayCounters(BaseModel):
    """A snapshot. ``received`` counts handle() calls that finished (redeliveries too)."""

    model_config = ConfigDict(frozen=True)

    received: int = 0
    written: int = 0
    captured: int = 0
    dead_lettered: int = 0


class Gateway:
    """Routes decoded messages. Transient errors (gateway.errors.TransientError) propagate:
    the caller must not acknowledge the message and should retry it."""

    def __init__(
        self,
        sink: PointSink,
        capture: CapturePort,
        dead_letters: DeadLetterSink,
        profiles: Mapping[str, ReadPointProfile] | None = None,
        default_profile: ReadPointProfile = DEFAULT_PROFILE,
    ) -> None:
        self._sink = sink
        self._capture = capture
        self._dead_letters = dead_letters
        self._profiles = dict(profiles or {})
        self._default_profile = default_profile
        # A Condition, not a bare Lock: callers can wait for the counters to change.
        self._lock = threading.Condition()
        self._counts = {"received": 0, "written": 0, "captured": 0, "dead_lettered": 0}

    @property
    def counters(self) -> GatewayCounters:
        with self._lock:
            return GatewayCounters(**self._counts)

    def wait_until(self, predicate: Callable[[GatewayCounters], bool], timeout: float) -> bool:
        """Block until ``predicate(counters)`` holds; False if ``timeout`` passes first."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(GatewayCounters(**self._counts)), timeout)

    def _count(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self._counts["received"] += 1
            self._counts[outcome.value] += 1
            self._lock.notify_all()
        return outcome

    def handle(self, topic: str, payload: bytes) -> Outcome:
        received_at = datetime.now(UTC)
        decoded = decode(topic, payload)
        if isinstance(decoded, Rejection):
            return self._dead_letter(topic, payload, decoded, received_at)
        if isinstance(decoded, TemperatureObservation):
            try:
                self._sink.write([temperature_line(decoded.site, decoded.reading)])
            except SinkRejected as exc:
                rejection = Rejection(reason=exc.reason, field="influxdb")
                return self._dead_letter(topic, payload, rejection, received_at)
            return self._count(Outcome.WRITTEN)
        return self._capture_tag(topic, payload, decoded, received_at)

    def _capture_tag(
        self, topic: str, payload: bytes, observation: TagObservation, received_at: datetime
    ) -> Outcome:
        event = object_event(observation, self._profiles, self._default_profile)
        try:
            event_id = self._capture.capture(event)
        except CaptureRejected as exc:
            rejection = Rejection(
                reason=f"capture refused the event: {exc.reason}", field=exc.field
            )
            return self._dead_letter(topic, payload, rejection, received_at)
        log.debug("captured %s from %s", event_id, topic)
        return self._count(Outcome.CAPTURED)

    def _dead_letter(
        self, topic: str, payload: bytes, rejection: Rejection, received_at: datetime
    ) -> Outcome:
        log.warning("dead-letter %s: %s (field %s)", topic, rejection.reason, rejection.field)
        new = self._dead_letters.add(topic, payload, rejection.reason, rejection.field, received_at)
        with self._lock:
            self._counts["received"] += 1
            # A redelivered bad message is already in the store: not counted again.
            self._counts["dead_lettered"] += int(new)
            self._lock.notify_all()
        return Outcome.DEAD_LETTERED
