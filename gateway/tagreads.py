"""The pipeline's RFID path: a tag read becomes its ``rfid_read`` line and, unless the
tag is still in the field, one OBSERVE event at its reader's read point.

A reader speaks only for its own read point (``gateway.admission.read_point``): the read
point of the line, of the event, of the de-duplication key and of the profile chosen
(bizStep, disposition, bizLocation) is where the device registry places the reader at
the read's ``ts``, never the payload's ``read_point``, which is refused when it
disagrees. So one reader cannot make its reads custody events at another dock door.

De-duplication goes by receive time, not device time, so a read dated in the future
cannot silence later reads of its EPC; the state (EPC and read point → last receive
time) is kept in the spool's ``rfid`` scope. A batch's changes are kept aside in
``pending`` and learnt only once the batch is committed (``commit``), so a replayed
batch takes the same decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from gateway.admission import read_point
from gateway.decode import Rejection, TagObservation
from gateway.devices.directory import DeviceDirectory, device_key
from gateway.lineprotocol import rfid_line, timestamp_ns
from gateway.observation import DEFAULT_PROFILE, ReadPointProfile, object_event

RFID_SCOPE = "rfid"  # the spool state scope of the de-duplication state
HOUR_NS = 3_600 * 10**9
PRUNE_EVERY_NS = 60 * 10**9

StateChange = tuple[str, str, str | None]


class AdmittedRead(BaseModel):
    """A read to store: its line, its device time and its event (None: folded into an
    earlier observation of the same tag at the same read point)."""

    model_config = ConfigDict(frozen=True)

    line: str
    ts_ns: int
    event: dict[str, Any] | None


class TagReads:
    """Admits tag reads and keeps the de-duplication state (not thread-safe: the drain
    loop is its only caller)."""

    def __init__(
        self,
        saved: Mapping[str, str],
        directory: DeviceDirectory,
        profiles: Mapping[str, ReadPointProfile] | None = None,
        default_profile: ReadPointProfile = DEFAULT_PROFILE,
        *,
        dedup_window_s: float = 2.0,
        now_ns: int,
    ) -> None:
        self._directory = directory
        self._profiles = dict(profiles or {})
        self._default_profile = default_profile
        self._dedup_ns = int(dedup_window_s * 1e9)
        # Receive times; a value ahead of now is a device time kept by an older gateway
        # (a far-future read would silence its EPC forever): forgotten.
        self._seen = {k: t for k, v in saved.items() if (t := int(v)) <= now_ns}
        self._last_prune = now_ns

    def admit(
        self, obs: TagObservation, received_ns: int, pending: dict[str, int]
    ) -> AdmittedRead | Rejection:
        """The read to store, at its reader's read point; a rejection if the reader is
        not placed or the payload claims another read point. ``pending``: this batch's
        de-duplication changes (updated)."""
        read = obs.read
        where = read_point(read, self._directory, device_key(obs.site, "rfid", read.reader_id))
        if isinstance(where, Rejection):
            return where
        key = f"{obs.epc.urn}|{where}"
        last = pending.get(key, self._seen.get(key))
        event = None
        if last is None or received_ns - last > self._dedup_ns:
            event = object_event(obs, where, self._profiles, self._default_profile)
        # Sliding: a tag that stays in the field stays one observation.
        pending[key] = received_ns if last is None else max(last, received_ns)
        return AdmittedRead(
            line=rfid_line(obs.site, read, where), ts_ns=timestamp_ns(read.ts), event=event
        )

    @staticmethod
    def changes(pending: Mapping[str, int]) -> list[StateChange]:
        """The state rows that save ``pending`` (committed with the batch)."""
        return [(RFID_SCOPE, k, str(v)) for k, v in pending.items()]

    def commit(self, pending: Mapping[str, int]) -> None:
        """The batch is committed: learn its decisions."""
        self._seen.update(pending)

    def prune(self, now_ns: int) -> list[StateChange]:
        """Forget keys not seen for a while (every minute), so the state stays small; the
        rows deleting them, to commit with the batch."""
        if now_ns - self._last_prune < PRUNE_EVERY_NS or not self._seen:
            return []
        self._last_prune = now_ns
        newest = max(self._seen.values())
        horizon = 10 * self._dedup_ns + HOUR_NS
        stale = [k for k, v in self._seen.items() if newest - v > horizon]
        for key in stale:
            del self._seen[key]
        return [(RFID_SCOPE, k, None) for k in stale]
