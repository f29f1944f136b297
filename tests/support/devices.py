"""Device directories for tests that publish through the suite's shared plain broker.

Those tests use arbitrary (often random) device ids, so rather than provisioning each
one they give the gateway a directory: ``EveryProbeAt(room, readers=dock)`` places every
probe at ``room``, every RFID reader at ``dock`` (default ``room`` too) and counts every
device as provisioned since ``SINCE``; ``placed`` builds a real ``StaticDirectory`` of
registry records for tests about placements themselves, and ``write_registry`` a
registry file for a gateway in another process.
The gateway never trusts a payload's location or read point; these only stand in for
the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from gateway.admission import ClockRules
from gateway.devices.access import Identity, IdentityKind
from gateway.devices.directory import StaticDirectory
from gateway.devices.records import DeviceRecord, Placement, RegistryDocument

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


class EveryProbeAt:
    """Every device provisioned at ``since``; every probe placed at ``location`` since,
    every RFID reader at ``readers`` (default ``location``)."""

    def __init__(
        self, location: str, since: datetime = SINCE, *, readers: str | None = None
    ) -> None:
        self.where = location
        self.readers = readers or location
        self.since = since

    def location(self, device: str, at: datetime) -> str | None:
        if at < self.since:
            return None
        return self.readers if device.split("/")[1:2] == ["rfid"] else self.where

    def provisioned_at(self, device: str) -> datetime | None:
        return self.since


def probe(
    site: str,
    device_id: str,
    *placements: tuple[str, datetime],
    kind: IdentityKind = "temperature",
) -> DeviceRecord:
    """The registry record of a probe (or, with ``kind="rfid"``, a reader) with its
    placement history (location, since)."""
    return DeviceRecord(
        identity=Identity(kind=kind, site=site, device_id=device_id),
        provisioned_at=min((since for _, since in placements), default=SINCE),
        placements=tuple(Placement(location=loc, since=since) for loc, since in placements),
    )


def placed(
    site: str,
    probes: Mapping[str, str],
    since: datetime = SINCE,
    readers: Mapping[str, str] | None = None,
) -> StaticDirectory:
    """A directory of ``probes`` (device id → location) and ``readers`` (reader id →
    read point), each placed since ``since``."""
    return StaticDirectory(_records(site, probes, since, readers))


def _records(
    site: str, probes: Mapping[str, str], since: datetime, readers: Mapping[str, str] | None
) -> list[DeviceRecord]:
    records = [probe(site, d, (loc, since)) for d, loc in probes.items()]
    records += [probe(site, r, (at, since), kind="rfid") for r, at in (readers or {}).items()]
    return records


# The fixed dates of the tests' message corpora (2026-11-22...) age past the default
# backfill window; tests about something else hold them to the other clock rules only.
FIXED_DATES_CLOCK = ClockRules(backfill_s=30 * 365 * 86_400.0)


def write_registry(
    folder: Path, site: str, probes: Mapping[str, str], readers: Mapping[str, str] | None = None
) -> Path:
    """A registry folder whose ``registry.json`` places ``probes`` (id → location) and
    ``readers`` (id → read point) since ``SINCE``: for a gateway in another process
    (``devices_dir``)."""
    records = _records(site, probes, SINCE, readers)
    folder.mkdir(parents=True, exist_ok=True)
    doc = RegistryDocument(site=site, devices=records)
    (folder / "registry.json").write_text(doc.model_dump_json(indent=2))
    return folder
