"""Admission: whether a decoded, well-formed observation may be stored. Pure.

Decoding (gateway/decode.py) says a message is well formed; admission says it is
believable and new:

* **clock** — a device timestamp before the clock floor (a clock never set reads
  1970), before the device was provisioned, further ahead of the gateway's receive
  time than the tolerance, or older than the backfill window is refused, never stored
  at a date nobody looks at. Receive time, not the gateway's drain time, is the
  reference, so a backlog drained late takes the decisions it would have taken. A
  reading from a data-logger file (``LoggerObservation``) is old by nature: the
  backfill window does not apply to it, the other rules do.
* **placement** — a temperature reading is stored at the location its probe is placed
  at (the device directory), never at one the payload names: a payload ``location``
  that disagrees is refused (``location_mismatch``), an unplaced probe too
  (``unassigned``). Likewise a tag read is observed at the read point its RFID reader
  is placed at, whatever its ``read_point`` says.
* **redelivery vs conflict** — a reading is identified by (device, ts); the digest of
  the point it became is kept for the backfill window (the spool's ``accepted`` table).
  The same point again is a redelivery (acknowledged, not written again); a different
  one at a stored (device, ts) is refused (``conflict``): InfluxDB would overwrite the
  stored point, so history could be rewritten.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.decode import (
    CLOCK,
    CONFLICT,
    LOCATION_MISMATCH,
    UNASSIGNED,
    AgvObservation,
    Decoded,
    LoggerObservation,
    Rejection,
    TagObservation,
    TemperatureObservation,
)
from gateway.devices.directory import DeviceDirectory, device_key
from gateway.lineprotocol import timestamp_ns
from sensors.fields import format_timestamp
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading

_NTP_FIX = "fix the device's clock (NTP, or set it after a power loss) and resend"


class ClockRules(BaseModel):
    """What a device timestamp must satisfy (``clock`` dead letters otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    floor: AwareDatetime = Field(
        default=datetime(2020, 1, 1, tzinfo=UTC),
        description="no device timestamp before this (a clock that was never set)",
    )
    future_tolerance_s: float = Field(
        default=300.0, ge=0, description="how far ahead of the receive time a clock may run"
    )
    backfill_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        description="how old a reading may arrive (store-and-forward); also how long "
        "the redelivery index keeps a reading",
    )
    provisioning_tolerance_s: float = Field(
        default=300.0, ge=0, description="clock skew allowed before the provisioning time"
    )

    @property
    def backfill_ns(self) -> int:
        return int(self.backfill_s * 1e9)


def _ago(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.3g} days"
    if seconds >= 3_600:
        return f"{seconds / 3_600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def clock_rejection(
    ts: datetime,
    received_ns: int,
    rules: ClockRules,
    provisioned_at: datetime | None = None,
    field: str = "ts",
    *,
    backfill: bool = True,
) -> Rejection | None:
    """Why ``ts`` (a device timestamp received at ``received_ns``) is not believable;
    ``backfill=False``: however old (a logger file's reading), still bounded by the rest."""
    ts_ns = timestamp_ns(ts)
    # The common case first and cheaply: every reading passes through here.
    if (
        ts >= rules.floor
        and (
            provisioned_at is None
            or ts_ns >= timestamp_ns(provisioned_at) - rules.provisioning_tolerance_s * 1e9
        )
        and ts_ns - received_ns <= rules.future_tolerance_s * 1e9
        and (not backfill or received_ns - ts_ns <= rules.backfill_ns)
    ):
        return None
    at = format_timestamp(ts)
    received = format_timestamp(datetime.fromtimestamp(received_ns / 1e9, UTC))
    reason = None
    if ts < rules.floor:
        reason = (
            f"{field} {at} is before the clock floor {format_timestamp(rules.floor)}: the "
            f"device's clock was never set; {_NTP_FIX}"
        )
    elif (
        provisioned_at is not None
        and ts_ns < timestamp_ns(provisioned_at) - rules.provisioning_tolerance_s * 1e9
    ):
        reason = (
            f"{field} {at} is before the device was provisioned "
            f"({format_timestamp(provisioned_at)}); {_NTP_FIX}"
        )
    elif ts_ns - received_ns > rules.future_tolerance_s * 1e9:
        ahead = (ts_ns - received_ns) / 1e9
        reason = (
            f"{field} {at} is {_ago(ahead)} ahead of when the gateway received it "
            f"({received}; {_ago(rules.future_tolerance_s)} allowed); {_NTP_FIX}"
        )
    elif backfill and received_ns - ts_ns > rules.backfill_ns:
        reason = (
            f"{field} {at} is older than the {_ago(rules.backfill_s)} backfill window before "
            f"its receive time ({received}): too old to store; fix the device's clock, or "
            "raise the gateway's clock.backfill_s for a longer store-and-forward"
        )
    return None if reason is None else Rejection(reason=reason, field=field, code=CLOCK)


def clock_check(
    decoded: Decoded, received_ns: int, rules: ClockRules, directory: DeviceDirectory
) -> Decoded:
    """``decoded``, or a ``clock`` rejection if its device timestamp is not believable.

    Temperature readings and RFID reads are also held to their device's provisioning
    time; AGV states to the rest, since load changes are ordered by AGV time and one
    dated far ahead would freeze them."""
    found = None
    if isinstance(decoded, TemperatureObservation):
        reading = decoded.reading
        device = device_key(decoded.site, "temperature", reading.device_id)
        provisioned = directory.provisioned_at(device)
        found = clock_rejection(
            reading.ts, received_ns, rules, provisioned,
            backfill=not isinstance(decoded, LoggerObservation),
        )  # fmt: skip
    elif isinstance(decoded, TagObservation):
        read = decoded.read
        provisioned = directory.provisioned_at(device_key(decoded.site, "rfid", read.reader_id))
        found = clock_rejection(read.ts, received_ns, rules, provisioned)
    elif isinstance(decoded, AgvObservation):
        found = clock_rejection(decoded.state.timestamp, received_ns, rules, field="timestamp")
    return found or decoded


class Role(BaseModel):
    """How a placed device's payload names its place, for the rejections' wording."""

    model_config = ConfigDict(frozen=True)

    what: str
    noun: str
    field: str
    why: str


PROBE = Role(
    what="temperature probe",
    noun="probe",
    field="location",
    why="its readings are stored at the location of its identity",
)
READER = Role(
    what="RFID reader",
    noun="reader",
    field="read_point",
    why="its reads are observed at the read point of its identity",
)


def _placed(
    directory: DeviceDirectory, device: str, at: datetime, claimed: str | None, role: Role
) -> str | Rejection:
    """Where ``device`` was placed at ``at``; a rejection if nowhere or if ``claimed``
    (the payload's word) differs."""
    where = directory.location(device, at)
    if where is not None and (claimed is None or claimed == where):
        return where
    when = format_timestamp(at)
    if where is None:
        return Rejection(
            reason=f"{role.what} {device} has no placement at {when}: place it with "
            f"`tracehub devices assign {device} SGLN [--at TIME]` (or provision it with "
            f"--location); {role.why}",
            field=role.field,
            code=UNASSIGNED,
        )
    if claimed is not None and claimed != where:
        return Rejection(
            reason=f"{role.field} {claimed} differs from where {device} is placed at {when} "
            f"({where}): leave {role.field} out or send {where}; if the {role.noun} moved, "
            f"`tracehub devices assign {device} {claimed} --at TIME`",
            field=role.field,
            code=LOCATION_MISMATCH,
        )
    return where


def placement(
    reading: TemperatureReading, directory: DeviceDirectory, device: str
) -> str | Rejection:
    """The location ``reading`` is stored at: its probe's placement at ``reading.ts``."""
    return _placed(directory, device, reading.ts, reading.location, PROBE)


def read_point(read: TagRead, directory: DeviceDirectory, device: str) -> str | Rejection:
    """The read point ``read`` is observed at: its reader's placement at ``read.ts`` (one
    reader cannot claim another dock door's reads)."""
    return _placed(directory, device, read.ts, read.read_point, READER)


def digest(line: str) -> str:
    """The identity of a stored point's content (its line protocol)."""
    return hashlib.blake2b(line.encode(), digest_size=16).hexdigest()


def conflict(device: str, ts: datetime) -> Rejection:
    return Rejection(
        reason=f"a different reading of {device} at ts {format_timestamp(ts)} is already "
        "stored: stored readings are never overwritten; fix the device's clock or "
        "sequence (a redelivery must repeat the reading exactly)",
        field="ts",
        code=CONFLICT,
    )
