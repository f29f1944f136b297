"""Whether a probe was in calibration at a time, from its records (pure).

The record valid at ``t`` is the newest whose ``calibrated_on`` is on or before ``t``'s
day (newest: the latest ``calibrated_on``, then the latest ``due_on``); the probe is
``calibrated`` at ``t`` if ``calibrated_on <= t < due_on``, ``overdue`` if ``t`` is on or
after that record's ``due_on`` and ``unknown`` when no record is valid yet (never
calibrated, or only later). Calibration dates are UTC days (``record.midnight``).

A stay (``stay_calibration``) is out of calibration from the first moment in it the
probe is not ``calibrated``: its status changes only at a record's ``calibrated_on``
(to calibrated) or ``due_on`` (to overdue), so the stay's start and every due date
inside it are the only moments to look at.

A calibrated stay is stated with what backs it: records read from the ledger are
``AttestedCalibration`` (when signed, whether anchored), and a stay calibrated by one not
yet anchored says "not yet anchored", by one signed after the stay ended "recorded
<date>, after this stay" (a certificate entered later, maybe backdated, is not stated as
what was known then). Such a stay ``needs_note``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from traceability.calibration.record import Calibration, midnight

Status = Literal["calibrated", "overdue", "unknown"]
DEFAULT_DUE_WITHIN = timedelta(days=30)


class ProbeStatus(BaseModel):
    """A probe's status at ``at``; ``record``: the one valid then (None: unknown);
    ``since``: when it went out of calibration (overdue: its due date)."""

    model_config = ConfigDict(frozen=True)

    probe: str
    at: datetime
    status: Status
    record: Calibration | None = None

    @property
    def since(self) -> datetime | None:
        return self.record.due_at if self.status == "overdue" and self.record else None


class AttestedCalibration(Calibration):
    """A calibration record as the ledger holds it: when its entry was signed
    (``recorded_at``) and when its batch was anchored (None: not yet)."""

    recorded_at: datetime
    anchored_at: datetime | None = None

    def plain(self) -> Calibration:
        return Calibration.model_validate(self.model_dump(include=set(Calibration.model_fields)))


class StayCalibration(BaseModel):
    """One probe over one stay: ``calibrated`` throughout, else the status it had at the
    first moment of the stay it was out; ``out_since``: its due date (overdue; maybe
    before the stay), the stay's start (unknown). Calibrated by a ledger record:
    ``anchored`` and, when it was signed after the stay ended, ``recorded_late``."""

    model_config = ConfigDict(frozen=True)

    device: str
    status: Status
    out_since: datetime | None = None
    due_on: str | None = None  # ISO date of the record that ran out (overdue)
    certificate_number: str | None = None
    anchored: bool | None = None  # None: the record is no ledger record (a plain one)
    recorded_late: date | None = None  # the day it was signed, after the stay

    @property
    def out(self) -> bool:
        return self.status != "calibrated"

    @property
    def needs_note(self) -> bool:
        """Calibrated, but by a record not proven as what was known during the stay."""
        return not self.out and (self.anchored is False or self.recorded_late is not None)

    @property
    def note(self) -> str:
        """``not yet anchored``, ``recorded D, after this stay``, both, or empty."""
        parts = ["not yet anchored"] if self.anchored is False else []
        if self.recorded_late is not None:
            parts.append(f"recorded {self.recorded_late}, after this stay")
        return "; ".join(parts)


def newest_first(records: Iterable[Calibration]) -> list[Calibration]:
    return sorted(
        records, key=lambda r: (r.calibrated_on, r.due_on, r.certificate_number), reverse=True
    )


def valid_at(records: Iterable[Calibration], at: datetime) -> Calibration | None:
    """The record valid at ``at``: the newest calibrated on or before its day."""
    return next((r for r in newest_first(records) if r.valid_from <= at), None)


def status_at(probe: str, records: Iterable[Calibration], at: datetime) -> ProbeStatus:
    mine = [r for r in records if r.probe == probe]
    record = valid_at(mine, at)
    if record is None:
        return ProbeStatus(probe=probe, at=at, status="unknown")
    status: Status = "calibrated" if at < record.due_at else "overdue"
    return ProbeStatus(probe=probe, at=at, status=status, record=record)


def stay_calibration(
    device: str, records: Sequence[Calibration], start: datetime, end: datetime
) -> StayCalibration:
    """``device`` over the stay ``[start, end)``: the first moment it was out, if any."""
    mine = [r for r in records if r.probe == device]
    moments = sorted({start, *(r.due_at for r in mine if start < r.due_at < end)})
    for moment in moments:
        found = status_at(device, mine, moment)
        if found.status != "calibrated":
            ran_out = found.record
            return StayCalibration(
                device=device,
                status=found.status,
                out_since=moment if ran_out is None else ran_out.due_at,
                due_on=ran_out.due_on.isoformat() if ran_out else None,
                certificate_number=ran_out.certificate_number if ran_out else None,
            )
    record = valid_at(mine, start)
    attested = record if isinstance(record, AttestedCalibration) else None
    return StayCalibration(
        device=device,
        status="calibrated",
        certificate_number=record.certificate_number if record else None,
        anchored=None if attested is None else attested.anchored_at is not None,
        recorded_late=(
            attested.recorded_at.astimezone(UTC).date()
            if attested is not None and attested.recorded_at > end
            else None
        ),
    )


def stays_calibration(
    stays: Iterable[tuple[str, datetime, datetime, Iterable[str]]],
    records: Sequence[Calibration],
) -> dict[tuple[str, datetime], tuple[StayCalibration, ...]]:
    """Each stay's ``(location, start, end, devices)`` probes over it, by ``(location,
    start)``: what the exposure and the lot page flag (the same function)."""
    return {
        (location, start): tuple(
            stay_calibration(device, records, start, end) for device in sorted(set(devices))
        )
        for location, start, end, devices in stays
    }


def latest_by_probe(records: Iterable[Calibration]) -> dict[str, Calibration]:
    """Each probe's newest record (the one its next due date comes from)."""
    found: dict[str, Calibration] = {}
    for record in newest_first(records):
        found.setdefault(record.probe, record)
    return found


def due_within(
    records: Iterable[Calibration], now: datetime, within: timedelta = DEFAULT_DUE_WITHIN
) -> list[Calibration]:
    """The newest record of each probe whose due date is before ``now + within``
    (overdue ones included), soonest due first."""
    latest: Mapping[str, Calibration] = latest_by_probe(records)
    soon = [r for r in latest.values() if r.due_at < now + within]
    return sorted(soon, key=lambda r: (r.due_on, r.probe))


def describe(found: StayCalibration) -> str:
    """``probe P out of calibration since D`` (or never calibrated then), in English."""
    if found.status == "overdue" and found.out_since is not None:
        return f"probe {found.device} out of calibration since {found.out_since.date()}"
    if found.status == "unknown":
        return f"probe {found.device} has no calibration on record for this stay"
    note = f"; {found.note}" if found.note else ""
    return f"probe {found.device} calibrated ({found.certificate_number}{note})"


__all__ = [
    "DEFAULT_DUE_WITHIN",
    "AttestedCalibration",
    "ProbeStatus",
    "Status",
    "StayCalibration",
    "describe",
    "due_within",
    "latest_by_probe",
    "midnight",
    "newest_first",
    "status_at",
    "stay_calibration",
    "stays_calibration",
    "valid_at",
]
