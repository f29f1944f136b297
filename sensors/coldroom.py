"""Cold-room PLC values (OPC UA): what one data change of one node says.

The gateway turns every OPC UA data change into a :class:`ColdRoomChange` (the
server's source timestamp, the PLC, the room's SGLN and which quantity) and spools
it as JSON, so OPC UA data takes the same durable path as MQTT messages.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, model_validator

from sensors.fields import DeviceId, SglnUrn, UtcTimestamp

Quantity = Literal["temperature_c", "setpoint_c", "door_open", "compressor_kw"]
QUANTITIES: tuple[Quantity, ...] = ("temperature_c", "setpoint_c", "door_open", "compressor_kw")
_RANGES: dict[str, tuple[float, float]] = {
    "temperature_c": (-100.0, 150.0),
    "setpoint_c": (-100.0, 150.0),
    "compressor_kw": (0.0, 10_000.0),
}


class ColdRoomChange(BaseModel):
    """One value of one cold-room quantity at the PLC's source timestamp."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: DeviceId
    plc: DeviceId
    location: SglnUrn
    ts: UtcTimestamp
    quantity: Quantity
    # StrictBool first: a JSON true/false stays a bool, a number never becomes one.
    value: StrictBool | float

    @model_validator(mode="after")
    def _typed(self) -> ColdRoomChange:
        if self.quantity == "door_open":
            if not isinstance(self.value, bool):
                raise ValueError("value: door_open must be true or false")
            return self
        if isinstance(self.value, bool):
            raise ValueError(f"value: {self.quantity} must be a number, not a boolean")
        low, high = _RANGES[self.quantity]
        if not low <= self.value <= high:
            raise ValueError(f"value: {self.quantity} {self.value} is outside {low}..{high}")
        return self

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
