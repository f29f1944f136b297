"""What ``registry.json`` holds: the site, the broker's names and one record per identity.

Pure pydantic models; the folder (gateway/devices/folder.py) reads and writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.devices.access import Identity
from sensors.fields import SglnUrn

DEFAULT_BROKER_NAMES = ("localhost", "127.0.0.1", "mosquitto")


class Placement(BaseModel):
    """Where a device is mounted from ``since`` on (until its next placement)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    location: SglnUrn
    since: datetime


class DeviceRecord(BaseModel):
    """One identity as registered. ``retired`` lists serials to keep on the CRL.

    ``placements``: the device's placement history, oldest first (a probe moved between
    rooms or trucks gets a new one). The gateway stores a reading at the location its
    device was placed at when it was taken, whatever the payload says.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: Identity
    status: Literal["active", "revoked"] = "active"
    provisioned_at: datetime
    revoked_at: datetime | None = None
    cert_serial: int | None = None
    cert_not_after: datetime | None = None
    password_hash: str | None = None
    retired: tuple[tuple[int, datetime], ...] = ()
    # (serial, not-after) of certificates a renewal replaced: still valid until they expire,
    # so the device can be updated meanwhile; retired with the identity on revoke/rotate.
    superseded: tuple[tuple[int, datetime], ...] = ()
    placements: tuple[Placement, ...] = ()

    @property
    def username(self) -> str:
        return self.identity.username

    def location_at(self, at: datetime) -> str | None:
        """The location of the newest placement effective at ``at``; None before the first."""
        found = None
        for placement in self.placements:  # oldest first
            if placement.since > at:
                break
            found = placement.location
        return found

    def placed(self, location: str, since: datetime) -> DeviceRecord:
        """This record with ``location`` effective from ``since`` (a placement at the same
        instant is replaced), the history kept in time order."""
        kept = [p for p in self.placements if p.since != since]
        history = sorted((*kept, Placement(location=location, since=since)), key=lambda p: p.since)
        return self.model_copy(update={"placements": tuple(history)})


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
