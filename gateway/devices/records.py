"""What ``registry.json`` holds: the site, the broker's names and one record per identity.

Pure pydantic models; the folder (gateway/devices/folder.py) reads and writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.devices.access import Identity

DEFAULT_BROKER_NAMES = ("localhost", "127.0.0.1", "mosquitto")


class DeviceRecord(BaseModel):
    """One identity as registered. ``retired`` lists serials to keep on the CRL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: Identity
    status: Literal["active", "revoked"] = "active"
    provisioned_at: datetime
    revoked_at: datetime | None = None
    cert_serial: int | None = None
    cert_not_after: datetime | None = None
    password_hash: str | None = None
    retired: tuple[tuple[int, datetime], ...] = ()

    @property
    def username(self) -> str:
        return self.identity.username


class RegistryDocument(BaseModel):
    """The whole file. Mutable on purpose: a change edits it under the folder's lock and
    the registry saves it (and the broker's view of it) in one go."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["tracehub.devices/1"] = "tracehub.devices/1"
    site: str
    broker_names: tuple[str, ...] = DEFAULT_BROKER_NAMES
    devices: list[DeviceRecord] = Field(default_factory=list)

    def record(self, username: str) -> DeviceRecord | None:
        return next((r for r in self.devices if r.username == username), None)

    def add(self, record: DeviceRecord) -> None:
        """Register ``record`` last (newest provisioning), dropping an older one of its name."""
        self.devices = [r for r in self.devices if r.username != record.username]
        self.devices.append(record)

    def replace(self, record: DeviceRecord) -> None:
        """Put ``record`` where the one with its username stands."""
        self.devices = [record if r.username == record.username else r for r in self.devices]

    @property
    def active(self) -> list[DeviceRecord]:
        return [r for r in self.devices if r.status == "active"]

    @property
    def revoked_serials(self) -> list[tuple[int, datetime]]:
        """Every serial ever retired, with when: what the CRL lists."""
        return [item for r in self.devices for item in r.retired]
