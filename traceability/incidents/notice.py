"""What notifications tell people about an incident (``Notice``), and the port the
incident service tells them through (``IncidentNotifier``; the notifications package
implements it with a durable outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    incident_id: str
    site: str | None
    location: str
    place_name: str | None
    kind: str
    severity: str
    summary: str
    started_at: AwareDatetime
    raised_at: AwareDatetime
    lots: tuple[str, ...]  # "GTIN-14/lot" of the affected lots
    url: str | None = None  # where a person opens the incident (hub URL + /incidents/{id})


class IncidentNotifier(Protocol):
    def opened(self, notice: Notice) -> None: ...  # idempotent by incident_id

    def acknowledged(self, incident_id: str, by: str, at: datetime) -> None: ...

    def closed(self, incident_id: str, at: datetime) -> None: ...
