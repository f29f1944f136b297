"""A temperature probe's reading, as published on ``.../temperature/{device_id}``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sensors.fields import DeviceId, SglnUrn, UtcTimestamp

# InfluxDB integer fields are signed 64-bit.
MAX_SEQ = 2**63 - 1

Percent = Annotated[float, Field(strict=True, ge=0.0, le=100.0, allow_inf_nan=False)]


class TemperatureReading(BaseModel):
    """One sample. Unknown keys are rejected so a misspelt field is not silently dropped.

    ``ts`` is an RFC 3339 string with an offset on the wire; ``location``, when sent,
    is a claim the gateway checks against the registry, not a fact it stores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: DeviceId
    seq: Annotated[int, Field(strict=True, ge=0, le=MAX_SEQ)]
    ts: UtcTimestamp
    celsius: Annotated[float, Field(strict=True, ge=-100.0, le=150.0, allow_inf_nan=False)]
    humidity: Percent | None = None
    battery: Percent | None = None
    # Where the probe is comes from its provisioned identity (the device registry's
    # placement), never from the payload: this field is optional and, when present,
    # must name the same place (the gateway dead-letters a mismatch).
    location: SglnUrn | None = None

    def to_json(self) -> bytes:
        """The wire payload (optional fields left out when absent)."""
        return self.model_dump_json(exclude_none=True).encode()
