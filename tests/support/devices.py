"""Device directories for tests that publish through the suite's shared plain broker.

Those tests use arbitrary (often random) device ids, so rather than provisioning each
one they give the gateway a directory: ``EveryProbeAt(room)`` places every probe at
``room`` and counts every device as provisioned since ``SINCE``; ``placed`` builds a
real ``StaticDirectory`` of registry records for tests about placements themselves, and
``write_registry`` a registry file for a gateway in another process.
The gateway never trusts a payload's location; these only stand in for the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from gateway.admission import ClockRules
from gateway.devices.access import Identity
from gateway.devices.directory import StaticDirectory
from gateway.devices.records import DeviceRecord, Placement, RegistryDocument

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


class EveryProbeAt:
    """Every device provisioned at ``since``; every probe placed at ``location`` since."""

    def __init__(self, location: str, since: datetime = SINCE) -> None:
        self.where = location
        self.since = since

    def location(self, device: str, at: datetime) -> str | None:
        return self.where if at >= self.since else None

    def provisioned_at(self, device: str) -> datetime | None:
        return self.since


def probe(site: str, device_id: str, *placements: tuple[str, datetime]) -> DeviceRecord:
    """The registry record of a probe with its placement history (location, since)."""
    return DeviceRecord(
        identity=Identity(kind="temperature", site=site, device_id=device_id),
        provisioned_at=min((since for _, since in placements), default=SINCE),
        placements=tuple(Placement(location=loc, since=since) for loc, since in placements),
    )


def placed(site: str, probes: Mapping[str, str], since: datetime = SINCE) -> StaticDirectory:
    """A directory of ``probes`` (device id → location), each placed since ``since``."""
    return StaticDirectory(probe(site, d, (loc, since)) for d, loc in probes.items())


# The fixed dates of the tests' message corpora (2026-11-22...) age past the default
# backfill window; tests about something else hold them to the other clock rules only.
FIXED_DATES_CLOCK = ClockRules(backfill_s=30 * 365 * 86_400.0)


def write_registry(folder: Path, site: str, probes: Mapping[str, str]) -> Path:
    """A registry folder whose ``registry.json`` places ``probes`` (id → location) since
    ``SINCE``: for a gateway in another process (``devices_dir``)."""
    records = [probe(site, d, (loc, SINCE)) for d, loc in probes.items()]
    folder.mkdir(parents=True, exist_ok=True)
    doc = RegistryDocument(site=site, devices=records)
    (folder / "registry.json").write_text(doc.model_dump_json(indent=2))
    return folder
