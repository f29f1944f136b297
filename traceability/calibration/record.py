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
a new certificate).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
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
