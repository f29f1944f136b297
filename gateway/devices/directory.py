"""The device directory: what the gateway asks about a device it hears from.

A device speaks only for itself: where a temperature probe is (its placement at the
instant of a reading) and since when a device exists (its provisioning time, for the
clock checks) come from its provisioned identity, never from the payload.

``DeviceDirectory`` is the port the pipeline speaks to, keyed by the identity's
username (``{site}/{kind}/{device_id}``, gateway/devices/access.py). ``RegistryDirectory``
reads the device registry's ``registry.json`` (no passphrase needed: it holds no
secret the directory uses) and re-reads it when the file changes, so ``tracehub devices
assign`` takes effect without a restart. ``StaticDirectory`` holds records in memory
(tests, a gateway configured by hand).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from gateway.devices.records import DeviceRecord, RegistryDocument

log = logging.getLogger(__name__)


def device_key(site: str, kind: str, device_id: str) -> str:
    """The identity username of a temperature/rfid device (``Identity.username``)."""
    return f"{site}/{kind}/{device_id}"


class DeviceDirectory(Protocol):
    """Device → location at an instant, and when it was provisioned."""

    def location(self, device: str, at: datetime) -> str | None:
        """Where ``device`` (an identity username) was placed at ``at``; None if unplaced."""
        ...

    def provisioned_at(self, device: str) -> datetime | None:
        """When ``device`` was provisioned; None if it is not an active identity."""
        ...


class StaticDirectory:
    """A directory over a fixed set of records (only active ones count)."""

    def __init__(self, records: Iterable[DeviceRecord] = ()) -> None:
        self._records: Mapping[str, DeviceRecord] = {
            r.username: r for r in records if r.status == "active"
        }

    def location(self, device: str, at: datetime) -> str | None:
        record = self._records.get(device)
        return None if record is None else record.location_at(at)

    def provisioned_at(self, device: str) -> datetime | None:
        record = self._records.get(device)
        return None if record is None else record.provisioned_at


class RegistryDirectory:
    """The registry folder's ``registry.json``, re-read whenever the file is replaced.

    The registry writes the file atomically (a new inode each time), so a ``stat`` tells
    whether to re-read; it is taken at most every ``recheck_s`` (every reading asks twice,
    and a stat per lookup cost a fifth of the gateway's throughput), so an ``assign``
    applies within that time. A file that cannot be read keeps the last good
    view (logged), and before the first good read the directory is empty (every probe
    unassigned: fail closed).
    """

    def __init__(self, folder: Path | str, recheck_s: float = 1.0) -> None:
        self.path = Path(folder) / "registry.json"
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._view = StaticDirectory()
        self._recheck_s = recheck_s
        self._checked = -math.inf

    def _current(self) -> StaticDirectory:
        now = time.monotonic()
        if now - self._checked < self._recheck_s:
            return self._view
        self._checked = now
        try:
            st = os.stat(self.path)
        except OSError:
            return self._view
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._seen:
                self._seen = stamp  # a bad file is retried when it changes, not per message
                try:
                    doc = RegistryDocument.model_validate_json(self.path.read_bytes())
                except (OSError, ValidationError) as exc:
                    log.warning("device registry %s unreadable, keeping the last view: %s",
                                self.path, exc)  # fmt: skip
                else:
                    self._view = StaticDirectory(doc.devices)
            return self._view

    def location(self, device: str, at: datetime) -> str | None:
        return self._current().location(device, at)

    def provisioned_at(self, device: str) -> datetime | None:
        return self._current().provisioned_at(device)
