"""An RFID reader's tag read, as published on ``.../rfid/{reader_id}``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from sensors.fields import DeviceId, SglnUrn, UtcTimestamp

EpcHex = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Fa-f]{24}$"),
    AfterValidator(str.upper),
]
"""A 96-bit EPC as 24 hex characters (normalised to upper case)."""


class TagRead(BaseModel):
    """One read of one tag by one antenna.

    ``read_point`` is optional and only a claim: the gateway observes the read at the
    read point the device registry places the reader at, and refuses a claim that
    disagrees (a reader speaks only for its own dock door).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reader_id: DeviceId
    seq: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]
    ts: UtcTimestamp
    epc: EpcHex
    antenna: Annotated[int, Field(strict=True, ge=0, le=65535)]
    rssi: Annotated[float, Field(strict=True, ge=-200.0, le=50.0, allow_inf_nan=False)]
    read_point: SglnUrn | None = None

    def to_json(self) -> bytes:
        """The wire payload."""
        return self.model_dump_json().encode()
