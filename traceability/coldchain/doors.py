"""A place's door as the console shows it: the newest door signal of its cold-room PLC
(``DoorState``) and the port that reads it (``DoorReader``; the InfluxDB adapter is
``doortelemetry``). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class DoorState(BaseModel):
    model_config = ConfigDict(frozen=True)

    open: bool
    since: datetime  # the time of the newest door signal


class DoorReader(Protocol):
    def door(self, location: str) -> DoorState | None:
        """The newest door signal at ``location`` (None: the place reports no door).

        Raises ``TelemetryUnavailable`` when the store cannot answer."""
        ...
