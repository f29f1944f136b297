"""Logger devices: each temperature device's readings come from one source, MQTT or files.

A logger file's readings are old by nature, so the backfill window does not bound them
(gateway/admission.py). The ``accepted`` index that tells a redelivery from a conflict
is pruned after that window, though, for every device it does not keep. A file under
an MQTT probe's device id could so bring another value at the (device, ts) of a reading
the index has forgotten: the same series and timestamp, and InfluxDB would replace the
stored point.

So the gateway takes a logger file only for a device InfluxDB holds no reading of when
the device's first logger reading arrives. Before it writes any of them, it marks the
device in its own commit (``LOGGER_SCOPE``, and ``KEPT_SCOPE`` so the index of it is never
pruned). From then on, the index knows every reading of the device, and a later file of
any age meets it. The gateway refuses MQTT readings of a logger device: a logger does not
speak MQTT. So no window of a device mixes the two sources, and no logger reading lands
in a window sealed from MQTT readings. Both refusals are ``wrong_source`` dead letters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from gateway.decode import WRONG_SOURCE, Decoded, LoggerObservation, Rejection
from gateway.decode import TemperatureObservation as Temperature
from gateway.devices.directory import device_key
from gateway.spool import KEPT_SCOPE, SpoolEntry
from sensors.fields import format_timestamp

LOGGER_SCOPE = "logger_device"  # device → when (ns) the gateway made it a logger device


class StoredReadings(Protocol):
    """How many temperature readings of a device InfluxDB holds (InfluxWriter)."""

    def count_readings(self, site: str, device_id: str) -> int: ...


class MarkStore(Protocol):
    """The spool's state, read and written in a commit of its own."""

    def state(self, scope: str) -> dict[str, str]: ...

    def complete(
        self, entries: Sequence[SpoolEntry], state: Sequence[tuple[str, str, str | None]] = ()
    ) -> None: ...


def logger_refusal(device: str, stored: int | None) -> Rejection | None:
    """Why a logger file may not speak for ``device``, which is no logger device yet and
    has ``stored`` readings in InfluxDB (None: InfluxDB could not be asked)."""
    if stored == 0:
        return None
    held = (
        "the gateway cannot ask InfluxDB whether it holds readings of it"
        if stored is None
        else f"InfluxDB holds {stored} readings of it (from MQTT, or written by hand)"
    )
    return Rejection(
        reason=f"{device} is not a logger device and {held}: a logger file is taken only "
        "for a device with no reading before its first file, so that no stored reading can "
        "be overwritten; provision the logger as a device of its own (`tracehub devices "
        "provision temperature LOGGER-ID --location SGLN`) and import with --device LOGGER-ID",
        field="device_id",
        code=WRONG_SOURCE,
    )


def mqtt_refusal(device: str, since_ns: str) -> Rejection:
    since = format_timestamp(datetime.fromtimestamp(int(since_ns) / 1e9, UTC))
    return Rejection(
        reason=f"{device} is a logger device (its readings come from its files, since "
        f"{since}): its readings are not taken over MQTT; publish a probe's readings "
        "under the probe's own device id",
        field="device_id",
        code=WRONG_SOURCE,
    )


class LoggerDevices:
    """Which devices speak through logger files; ``screen`` applies the rule to a batch."""

    def __init__(
        self, store: MarkStore, stored: StoredReadings | None, clock_ns: Callable[[], int]
    ) -> None:
        self._store = store
        self._stored = stored
        self._clock_ns = clock_ns
        self._loggers = store.state(LOGGER_SCOPE)

    def screen(self, batch: Sequence[Decoded]) -> list[Decoded]:
        """``batch`` with a rejection in place of each observation its device's source
        refuses. A device's first logger readings make it a logger device first, in a
        commit of its own: a batch replayed after a crash takes the same decisions."""
        newcomers: dict[str, tuple[str, str]] = {}
        for decoded in batch:
            if isinstance(decoded, LoggerObservation):
                device = device_key(decoded.site, "temperature", decoded.reading.device_id)
                if device not in self._loggers:
                    newcomers[device] = (decoded.site, decoded.reading.device_id)
        if not newcomers and not self._loggers:
            return list(batch)  # no logger anywhere: nearly every batch
        refused = self._admit(newcomers)
        return [self._judge(decoded, refused) for decoded in batch]

    def _admit(self, newcomers: dict[str, tuple[str, str]]) -> dict[str, Rejection]:
        refused: dict[str, Rejection] = {}
        marks: list[tuple[str, str, str | None]] = []
        now = str(self._clock_ns())
        for device, (site, device_id) in newcomers.items():
            stored = None if self._stored is None else self._stored.count_readings(site, device_id)
            refusal = logger_refusal(device, stored)
            if refusal is None:
                marks += [(LOGGER_SCOPE, device, now), (KEPT_SCOPE, device, "1")]
            else:
                refused[device] = refusal
        if marks:
            self._store.complete([], marks)
            self._loggers.update((key, value) for scope, key, value in marks
                                 if scope == LOGGER_SCOPE and value is not None)  # fmt: skip
        return refused

    def _judge(self, decoded: Decoded, refused: dict[str, Rejection]) -> Decoded:
        if not isinstance(decoded, Temperature):
            return decoded
        device = device_key(decoded.site, "temperature", decoded.reading.device_id)
        if isinstance(decoded, LoggerObservation):
            return refused.get(device, decoded)
        since = self._loggers.get(device)
        return decoded if since is None else mqtt_refusal(device, since)
