"""The gateway's pipeline, ``Gateway``: a batch of spooled messages in, InfluxDB points,
EPCIS events and dead letters out, then the batch leaves the spool together with the
pipeline's state. The drain loop (gateway/drain.py) feeds it; it speaks only to ports.

Order inside a batch: decode and admit everything (gateway/admission.py: device clock,
the source a device speaks through: gateway/loggerdevice.py; the probe's placement,
redelivery vs conflict; a tag read's reader placement and de-duplication:
gateway/tagreads.py); write all lines in one InfluxDB request
(bisected if refused, so only the refused lines are dead-lettered); hand custody events
to the capture port; store dead letters; then delete the batch from the spool and save
the de-duplication, AGV-load and evidence state and the accepted-readings index in one
transaction (each reading InfluxDB took is filed into its telemetry window there:
``gateway.completeness.filed_reading``). A transient failure raises before that commit,
so the whole batch is replayed later; every step is idempotent (same points, same events,
dead letters keyed by topic and payload, readings filed by device, seq and time), and state
changes are kept aside until the commit so a replay takes the same decisions.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from gateway.admission import ClockRules, clock_check, conflict, digest, placement
from gateway.capture import CapturePort
from gateway.completeness import TOUCH_SCOPE, filed_reading
from gateway.decode import (
    CAPTURE_REJECTED,
    SINK_REJECTED,
    AgvConnection,
    AgvObservation,
    ColdRoomObservation,
    Decoded,
    Rejection,
    TagObservation,
    TemperatureObservation,
    decode,
)
from gateway.devices.directory import DeviceDirectory, StaticDirectory, device_key
from gateway.errors import CaptureRejected, SinkRejected
from gateway.lineprotocol import agv_line, coldroom_line, temperature_line, timestamp_ns
from gateway.loggerdevice import LoggerDevices, StoredReadings
from gateway.observation import (
    DEFAULT_AGV_PROFILE,
    DEFAULT_PROFILE,
    AgvProfile,
    ReadPointProfile,
    load_event,
)
from gateway.spool import SpoolEntry
from gateway.tagreads import HOUR_NS, RFID_SCOPE, TagReads
from sensors.agv import sscc_of

log = logging.getLogger(__name__)

AGV_SCOPE = "agv_loads"


class PointSink(Protocol):
    """Where lines go (InfluxWriter in production)."""

    def write(self, lines: Sequence[str]) -> None: ...


class DeadLetterSink(Protocol):
    """Where refused messages go (DeadLetterStore in production)."""

    def add(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        field: str,
        received_at: datetime | None,
        code: str = ...,
    ) -> bool: ...


class StateStore(Protocol):
    """Durable state and batch completion (the Spool in production)."""

    def state(self, scope: str) -> dict[str, str]: ...

    def accepted_digests(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]: ...

    def accepted_newest(self) -> dict[str, int]: ...

    def complete(
        self,
        entries: Sequence[SpoolEntry],
        state: Sequence[tuple[str, str, str | None]] = (),
        *,
        accepted: Sequence[tuple[str, int, str]] = (),
        forget_accepted_before: int | None = None,
    ) -> None: ...


class GatewayCounters(BaseModel):
    """A snapshot. ``received`` counts drained messages (a redelivery counts again)."""

    model_config = ConfigDict(frozen=True)

    received: int = 0
    written: int = 0
    captured: int = 0
    dead_lettered: int = 0
    duplicates: int = 0  # RFID reads folded into an earlier observation
    redelivered: int = 0  # readings already stored, acknowledged without a write


class Gateway:
    """Processes spooled batches. Transient errors (gateway.errors.TransientError) propagate:
    nothing of the batch is committed and the caller retries it.

    ``directory``: where each probe and reader is placed and when each device was
    provisioned; without one every reading and tag read is ``unassigned`` (fail closed)."""

    def __init__(
        self,
        sink: PointSink,
        capture: CapturePort,
        dead_letters: DeadLetterSink,
        store: StateStore,
        profiles: Mapping[str, ReadPointProfile] | None = None,
        default_profile: ReadPointProfile = DEFAULT_PROFILE,
        *,
        agv_profiles: Mapping[str, AgvProfile] | None = None,
        default_agv_profile: AgvProfile = DEFAULT_AGV_PROFILE,
        dedup_window_s: float = 2.0,
        evidence_window_s: int = 3_600,
        known_devices: Collection[str] | None = None,
        on_dead_letter: Callable[[SpoolEntry, Rejection], None] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        directory: DeviceDirectory | None = None,
        clock: ClockRules | None = None,
        stored: StoredReadings | None = None,
    ) -> None:
        self._sink = sink
        self._capture = capture
        self._dead_letters = dead_letters
        self._store = store
        self._agv_profiles = dict(agv_profiles or {})
        self._default_agv_profile = default_agv_profile
        self._evidence_ns = evidence_window_s * 10**9
        self._known = frozenset(known_devices) if known_devices is not None else None
        self._on_dead_letter = on_dead_letter
        self._clock_ns = clock_ns
        self._directory: DeviceDirectory = directory or StaticDirectory()
        self._clock = clock or ClockRules()
        now = clock_ns()
        self._tags = TagReads(
            store.state(RFID_SCOPE), self._directory, profiles, default_profile,
            dedup_window_s=dedup_window_s, now_ns=now,
        )  # fmt: skip
        self._agv = store.state(AGV_SCOPE)
        # Whose readings come from logger files: ``stored`` (InfluxDB) says who may start.
        self._loggers = LoggerDevices(store, stored, clock_ns)
        # Per device, the newest ts the accepted index holds: a reading dated after it
        # (live data, nearly all of it) cannot be a redelivery, so needs no lookup.
        self._newest = store.accepted_newest()
        self._last_index_prune = now
        # A Condition, not a bare Lock: callers can wait for the counters to change.
        self._lock = threading.Condition()
        self._counts = dict.fromkeys(GatewayCounters.model_fields, 0)
        self.lags_ms: deque[float] = deque(maxlen=200_000)
        self.lag_count = 0  # lags ever appended (the deque forgets; readers diff this)

    @property
    def counters(self) -> GatewayCounters:
        with self._lock:
            return GatewayCounters(**self._counts)

    def wait_until(self, predicate: Callable[[GatewayCounters], bool], timeout: float) -> bool:
        """Block until ``predicate(counters)`` holds; False if ``timeout`` passes first."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(GatewayCounters(**self._counts)), timeout)

    # --- one batch -----------------------------------------------------------------
    def process(self, entries: Sequence[SpoolEntry]) -> None:
        lines: list[str] = []
        line_entry: list[int] = []
        line_ts: list[int] = []
        events: list[tuple[int, dict[str, Any]]] = []
        dead: list[tuple[int, Rejection]] = []
        rfid: dict[str, int] = {}
        agv: dict[str, str] = {}
        filed: dict[int, tuple[str, tuple[str, str, str]]] = {}  # line → window, reading
        indexed: dict[int, tuple[str, int, str]] = {}  # line → accepted index row
        duplicates = redelivered = 0
        batch = self._loggers.screen([self._decode(entry) for entry in entries])
        # (device, ts) → digest of what is stored, and of what this batch stores: one
        # query for the batch's readings rather than one per reading.
        keys = [
            (device_key(d.site, "temperature", d.reading.device_id), timestamp_ns(d.reading.ts))
            for d in batch
            if isinstance(d, TemperatureObservation)
        ]
        pending = self._store.accepted_digests(
            key for key in keys if key[1] <= self._newest.get(key[0], -1)
        )
        for index, decoded in enumerate(batch):
            if isinstance(decoded, Rejection):
                dead.append((index, decoded))
            elif isinstance(decoded, TemperatureObservation):
                admitted = self._admit(decoded, pending)
                if isinstance(admitted, Rejection):
                    dead.append((index, admitted))
                elif admitted is None:
                    redelivered += 1  # acknowledged with the batch, not written again
                else:
                    line, location, row = admitted
                    indexed[len(lines)] = row
                    filed[len(lines)] = filed_reading(
                        decoded.site, decoded.reading, self._evidence_ns, location
                    )
                    lines.append(line)
                    line_entry.append(index)
                    line_ts.append(row[1])
            elif isinstance(decoded, TagObservation):
                read = self._tags.admit(decoded, entries[index].received_ns, rfid)
                if isinstance(read, Rejection):
                    dead.append((index, read))
                else:
                    lines.append(read.line)
                    line_entry.append(index)
                    line_ts.append(read.ts_ns)
                    if read.event is None:
                        duplicates += 1  # the tag is still in the field: one observation
                    else:
                        events.append((index, read.event))
            elif isinstance(decoded, AgvObservation):
                lines.append(agv_line(decoded.state))
                line_entry.append(index)
                line_ts.append(timestamp_ns(decoded.state.timestamp))
                events.extend((index, e) for e in self._load_changes(decoded, agv))
            elif isinstance(decoded, ColdRoomObservation):
                lines.append(coldroom_line(decoded.change))
                line_entry.append(index)
                line_ts.append(timestamp_ns(decoded.change.ts))
            else:
                assert isinstance(decoded, AgvConnection)  # validated; nothing to store
        refused = self._write(lines)
        for line_index, reason in refused.items():
            dead.append(
                (
                    line_entry[line_index],
                    Rejection(reason=reason, field="influxdb", code=SINK_REJECTED),
                )
            )
        captured = 0
        for index, event in events:
            try:
                self._capture.capture(event)
                captured += 1
            except CaptureRejected as exc:
                dead.append(
                    (
                        index,
                        Rejection(
                            reason=f"capture refused the event: {exc.reason}",
                            field=exc.field,
                            code=CAPTURE_REJECTED,
                        ),
                    )
                )
        new_dead = 0
        for index, rejection in dead:
            new_dead += self._dead_letter(entries[index], rejection)
        now = self._clock_ns()
        changes = self._tags.changes(rfid)
        changes += [(AGV_SCOPE, k, v) for k, v in agv.items()]
        # Only readings InfluxDB took are sealed: a refused one is a dead letter, not data.
        kept = [window for line, window in filed.items() if line not in refused]
        changes += [reading for _, reading in kept]
        changes += [(TOUCH_SCOPE, key, str(now)) for key in {key for key, _ in kept}]
        changes += self._tags.prune(now)
        accepted = [row for line, row in indexed.items() if line not in refused]
        self._store.complete(
            entries,
            changes,
            accepted=accepted,
            forget_accepted_before=self._index_horizon(entries, now),
        )
        # Committed: only now do the caches learn the batch's decisions.
        for device, ts, _ in accepted:
            if ts > self._newest.get(device, -1):
                self._newest[device] = ts
        self._tags.commit(rfid)
        self._agv.update(agv)
        written = len(lines) - len(refused)
        with self._lock:
            for i, ts in enumerate(line_ts):
                if i not in refused:
                    self.lags_ms.append((now - ts) / 1e6)
            self.lag_count += written
            self._counts["received"] += len(entries)
            self._counts["written"] += written
            self._counts["captured"] += captured
            self._counts["dead_lettered"] += new_dead
            self._counts["duplicates"] += duplicates
            self._counts["redelivered"] += redelivered
            self._lock.notify_all()

    def _decode(self, entry: SpoolEntry) -> Decoded:
        decoded = decode(entry.topic, entry.payload, self._known)
        if isinstance(decoded, Rejection):
            return decoded
        return clock_check(decoded, entry.received_ns, self._clock, self._directory)

    def _admit(
        self, obs: TemperatureObservation, pending: dict[tuple[str, int], str]
    ) -> tuple[str, str, tuple[str, int, str]] | Rejection | None:
        """(line, location, index row) to store; a rejection; None for a redelivery."""
        reading = obs.reading
        device = device_key(obs.site, "temperature", reading.device_id)
        location = placement(reading, self._directory, device)
        if isinstance(location, Rejection):
            return location
        line = temperature_line(obs.site, reading, location)
        ts, mark = timestamp_ns(reading.ts), digest(line)
        stored = pending.get((device, ts))
        if stored is not None:
            return None if stored == mark else conflict(device, reading.ts)
        pending[(device, ts)] = mark
        return line, location, (device, ts, mark)

    def _index_horizon(self, entries: Sequence[SpoolEntry], now: int) -> int | None:
        """Forget indexed readings the backfill window no longer admits (every minute), from
        the batch's oldest receive time less an hour (sources append concurrently)."""
        if now - self._last_index_prune < 60 * 10**9 or not entries:
            return None
        self._last_index_prune = now
        oldest = min(entry.received_ns for entry in entries)
        return oldest - self._clock.backfill_ns - HOUR_NS

    def _load_changes(self, obs: AgvObservation, pending: dict[str, str]) -> list[dict[str, Any]]:
        state = obs.state
        if state.load_ids is None:
            return []  # the AGV cannot tell its loads: no change is known
        key = f"{state.manufacturer}/{state.serial}"
        ts = timestamp_ns(state.timestamp)
        previous = pending.get(key, self._agv.get(key))
        before: set[str] = set()
        if previous is not None:
            saved = json.loads(previous)
            if ts <= saved["ts"]:
                return []  # an older or repeated state: the newer one already counted
            before = set(saved["loads"])
        now = {sscc for load in state.load_ids if (sscc := sscc_of(load)) is not None}
        for load in state.load_ids:
            if sscc_of(load) is None:
                log.info("AGV %s load %r is not an SSCC: no custody event", key, load)
        pending[key] = json.dumps({"ts": ts, "loads": sorted(now)})
        profile = self._agv_profiles.get(key, self._default_agv_profile)
        return [load_event(state, s, True, profile) for s in sorted(now - before)] + [
            load_event(state, s, False, profile) for s in sorted(before - now)
        ]

    def _write(self, lines: list[str]) -> dict[int, str]:
        """Write all lines; return the indices InfluxDB refuses, with its reason."""
        refused: dict[int, str] = {}

        def attempt(lo: int, hi: int) -> None:
            try:
                self._sink.write(lines[lo:hi])
            except SinkRejected as exc:
                if hi - lo == 1:
                    refused[lo] = exc.reason
                    return
                mid = (lo + hi) // 2
                attempt(lo, mid)
                attempt(mid, hi)

        if lines:
            attempt(0, len(lines))
        return refused

    def _dead_letter(self, entry: SpoolEntry, rejection: Rejection) -> int:
        log.warning("dead-letter %s [%s]: %s (field %s)",
                    entry.topic, rejection.code, rejection.reason, rejection.field)  # fmt: skip
        received = datetime.fromtimestamp(entry.received_ns / 1e9, UTC)
        new = self._dead_letters.add(
            entry.topic, entry.payload, rejection.reason, rejection.field, received, rejection.code
        )
        if new and self._on_dead_letter is not None:
            self._on_dead_letter(entry, rejection)
        # A redelivered bad message is already in the store: not counted again.
        return int(new)
