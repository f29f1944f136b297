"""One calibration certificate of one probe (pure, frozen).

A probe is named as the device registry and the readings name it (the InfluxDB tag
``device``, e.g. ``wh1/temperature/probe-7``). ``calibrated_on`` is the date the lab
calibrated it, ``due_on`` the date the next calibration is due (the record is valid on
``[calibrated_on, due_on)``, in UTC days). ``uncertainty_c`` is the expanded measurement
uncertainty the certificate states, at coverage factor ``coverage_k`` (k=2: ~95 %);
``accuracy_found_c`` the error the lab found, when it says. ``certificate_sha256`` is the
SHA-256 of the certificate file (the PDF itself is kept by the site, not by tracehub):
whoever holds the file can show it is the one that was recorded and signed.

A probe's certificate number is its record's key: recording the same certificate again
with the same values changes nothing; with other values it is refused (a correction is
a new certificate). A probe is a device id (``[A-Za-z0-9][A-Za-z0-9_.-]*``), or up to
three of them joined by ``/``: no ``#``, which separates probe and certificate in the
record id. A certificate covers at most ``MAX_PERIOD`` (five years: no lab certifies a
probe for longer), and a calibration cannot be recorded before it happened
(``refuse_future``): a backdated record cannot clear a flag with a decade-long period.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FIELDS = (
    "probe",
    "calibrated_on",
    "due_on",
    "lab",
    "certificate_number",
    "uncertainty_c",
    "coverage_k",
    "accuracy_found_c",
    "certificate_sha256",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_UNCERTAINTY_C = 10.0  # a probe certified at more than this is no cold-chain probe
MAX_PERIOD = timedelta(days=5 * 365 + 2)  # five years, leap days included
# The device id of sensors.fields.ID_PATTERN (traceability does not import sensors), alone
# or as the registry names it (site/kind/id).
_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
PROBE_RE = re.compile(rf"{_ID}(?:/{_ID}){{0,2}}")


class Calibration(BaseModel):
    """One probe's calibration certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    probe: str = Field(min_length=1, max_length=120)
    calibrated_on: date
    due_on: date
    lab: str = Field(min_length=1, max_length=200)
    certificate_number: str = Field(min_length=1, max_length=100)
    uncertainty_c: float = Field(gt=0, le=MAX_UNCERTAINTY_C)
    coverage_k: float = Field(default=2.0, gt=0, le=10)
    accuracy_found_c: float | None = Field(default=None, ge=-50, le=50)
    certificate_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("probe", "lab", "certificate_number")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("remove the spaces before and after it")
        if _CONTROL.search(value):
            raise ValueError("remove the control characters")
        return value

    @field_validator("probe")
    @classmethod
    def _device_id(cls, value: str) -> str:
        if not PROBE_RE.fullmatch(value):
            raise ValueError(
                "give the probe's device id (letters, digits, '_', '.', '-'; or "
                "site/temperature/id as the registry names it)"
            )
        return value

    @field_validator("uncertainty_c", "coverage_k", "accuracy_found_c")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("give a finite number")
        return value

    @model_validator(mode="after")
    def _due_after(self) -> Calibration:
        if self.due_on <= self.calibrated_on:
            raise ValueError("due_on: must be after calibrated_on")
        if self.due_on - self.calibrated_on > MAX_PERIOD:
            raise ValueError(
                "due_on: at most five years after calibrated_on (the certificate's period)"
            )
        return self

    @property
    def valid_from(self) -> datetime:
        return midnight(self.calibrated_on)

    @property
    def due_at(self) -> datetime:
        return midnight(self.due_on)

    def record(self) -> dict[str, Any]:
        """Every field as JSON (dates as ISO text): what the site signs."""
        data = self.model_dump()
        data["calibrated_on"] = self.calibrated_on.isoformat()
        data["due_on"] = self.due_on.isoformat()
        return {name: data[name] for name in FIELDS}


def midnight(day: date) -> datetime:
    """The start of ``day`` in UTC: calibration dates are UTC days."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def refuse_future(record: Calibration, now: datetime) -> str | None:
    """Why ``record`` cannot be recorded at ``now`` (``calibrated_on`` after today, UTC),
    naming the field; None if it can."""
    if record.calibrated_on > now.astimezone(UTC).date():
        return (
            f"calibrated_on: {record.calibrated_on} is after today "
            f"({now.astimezone(UTC).date()}): record a calibration once it has been done"
        )
    return None
