"""``tracehub readings import``'s wiring: a logger file in, its readings spooled for the
running gateway, the file's SHA-256 signed into the ledger (docs/loggers.md).

Steps, each idempotent, so an import interrupted anywhere is simply run again:

1. read and parse the file (``sensors.loggers``); refused as a whole if its format,
   unit or time zone is not stated;
2. ask the gateway's admission rules ahead (``gateway.loggerfile.preview``: the device
   registry's placement and provisioning time, the clock rules, the readings already
   stored), so what will be refused is said before anything is queued;
3. append the readings to the hub's durable spool on ``logger/{site}/{device}``, where
   the running gateway validates, stores, de-duplicates and seals them like MQTT ones;
4. submit the ``logger_file`` record (record id ``sha256:<file hash>``) signed by the
   site into the ledger, chained in the device's stream (and the shipment's), anchored
   with the next batch. The same file again is the same record: nothing new.

The spool is written before the record, so a record never names readings that were
not queued; a crash between the two is repaired by importing again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.admission import ClockRules
from gateway.config import GatewayConfig
from gateway.devices.directory import RegistryDirectory
from gateway.errors import SinkUnavailable
from gateway.influx import InfluxWriter
from gateway.loggerfile import ALREADY, NEW, LoggerBatch, logger_batch, preview
from gateway.spool import Spool
from ledger.batch import StoredEntry
from ledger.entry import record_digest
from ledger.errors import EntryError, LedgerError
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from sensors.fields import format_timestamp
from sensors.loggers.errors import LoggerFileError
from sensors.loggers.export import LoggerExport
from sensors.loggers.formats import read_export
from sensors.loggers.table import MAX_BYTES, file_too_big
from sensors.loggers.times import DateOrder
from traceability.records.store import RecordStore
from tracehub.console import Problem
from tracehub.settings import Settings
from tracehub.site import gateway_file_options

KIND = "logger_file"
FORMAT = "tracehub.logger-file/1"


@dataclass(frozen=True)
class LoggerFile:
    """One file as read: its bytes' hash, the parsed export and its spool entries."""

    path: Path
    sha256: str
    export: LoggerExport
    batch: LoggerBatch
    shipment: str | None

    @property
    def record_id(self) -> str:
        return f"sha256:{self.sha256}"

    def record(self) -> dict[str, Any]:
        """The ``logger_file`` evidence: what the file is and what it says, no import time
        (the ledger entry has it), so the same file always gives the same record."""
        readings = self.export.readings
        instants = sorted(r.ts for r in readings)
        return {
            "format": FORMAT,
            "sha256": self.sha256,
            "file_name": self.path.name,
            "file_format": self.export.family,
            "site": self.batch.site,
            "device": self.batch.device_id,
            "shipment": self.shipment,
            "serial": self.export.serial,
            "unit": f"°{self.export.unit}",
            "time_zone": self.export.time_zone,
            "interval_s": self.export.interval_s,
            "count": len(readings),
            "first_reading": format_timestamp(instants[0]),
            "last_reading": format_timestamp(instants[-1]),
            "unreadable_lines": [u.line for u in self.export.unreadable],
        }

    @property
    def streams(self) -> list[str]:
        """The device's chain (beside its sealed windows) and the shipment's."""
        names = [f"device:{self.batch.device_id}"]
        return names + ([f"shipment:{self.shipment}"] if self.shipment else [])


def read_logger_file(
    path: Path,
    settings: Settings,
    device_id: str,
    *,
    shipment: str | None = None,
    family: str | None = None,
    tz: str | None = None,
    unit: str | None = None,
    date_order: DateOrder | None = None,
) -> LoggerFile:
    try:
        # The size first: a huge file is refused before it is read into memory.
        if (size := path.stat().st_size) > MAX_BYTES:
            raise Problem(f"{path.name}: {file_too_big(size)}")
        content = path.read_bytes()
    except OSError as exc:
        raise Problem(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        export = read_export(content, family=family, tz=tz, unit=unit, date_order=date_order)
    except LoggerFileError as exc:
        raise Problem(f"{path.name}: {exc}") from exc
    return LoggerFile(
        path=path,
        sha256=hashlib.sha256(content).hexdigest(),
        export=export,
        batch=logger_batch(export, settings.hub.site, device_id),
        shipment=shipment,
    )


def gateway_view(settings: Settings) -> GatewayConfig:
    """The hub gateway's config as far as an import needs it: the spool and dead-letter
    paths and the clock rules (MQTT settings are not read: ``mqtt_plain`` only fills it)."""
    options = gateway_file_options(settings)
    keep = {k: options[k] for k in ("spool_path", "clock", "known_devices") if k in options}
    return GatewayConfig(
        **keep,
        mqtt_plain=True,
        dead_letter_path=Path(settings.hub.state_dir) / "gateway" / "dead-letter.sqlite3",
        spool_max_bytes=settings.gateway.spool_max_bytes,
    )


def open_spool(config: GatewayConfig) -> Spool:
    return Spool(config.resolved_spool_path, config.spool_max_bytes)


def predicted(
    file: LoggerFile, spool: Spool, settings: Settings, rules: ClockRules
) -> tuple[Counter[str], dict[str, str]]:
    """What the gateway will decide for each reading (``gateway.loggerfile.preview``),
    asking InfluxDB whether the device may take a file when its URL is known."""
    directory = RegistryDirectory(settings.devices_dir)
    if settings.influx.url is None:
        return preview(file.batch, spool, directory, rules)
    with InfluxWriter(settings.influx.url, settings.influx.database) as influx:
        try:
            return preview(file.batch, spool, directory, rules, influx)
        except SinkUnavailable:
            # Only a forecast: the gateway asks InfluxDB itself before it stores any.
            return preview(file.batch, spool, directory, rules)


def shipment_note(settings: Settings, file: LoggerFile) -> str | None:
    """A word when ``--shipment`` names a shipment whose legs' vehicles are not where the
    registry places the logger (readings are stored at its placement, never at a guess)."""
    if file.shipment is None:
        return None
    with closing(RecordStore.open(settings.records_url)) as store:
        legs = store.legs_of(file.shipment)
    if not legs:
        return f"shipment {file.shipment} has no legs in the records: the file record names it"
    vehicles = {leg.vehicle for leg in legs if leg.vehicle}
    directory = RegistryDirectory(settings.devices_dir)
    places = {directory.location(file.batch.device, r.ts) for r in file.export.readings}
    astray = sorted(p or "nowhere" for p in places if p not in vehicles)
    if vehicles and astray:
        return (
            f"the logger is placed at {', '.join(astray)}, not at shipment {file.shipment}'s "
            f"vehicle(s) {', '.join(sorted(vehicles))}: place it with `tracehub devices assign "
            f"{file.batch.device} VEHICLE --at DEPARTURE` if it travelled there"
        )
    return None


def nothing_new(counts: Counter[str]) -> bool:
    return counts[ALREADY] > 0 and set(counts) == {ALREADY}


def nothing_storable(counts: Counter[str]) -> bool:
    return counts[NEW] == 0 and counts[ALREADY] == 0


def check_record(ledger: LedgerStore, file: LoggerFile) -> None:
    """Refuse, before anything is queued, a file the ledger already holds as another
    record (imported under another --device or --shipment)."""
    before = ledger.entry(KIND, file.record_id)
    if before is not None and before.entry.record_digest != record_digest(file.record()):
        earlier = ledger.kept_record(KIND, file.record_id)
        said = (
            f" as device {earlier.get('device')}, shipment {earlier.get('shipment')}"
            if isinstance(earlier, dict)
            else ""
        )
        raise Problem(
            f"{file.path.name} (sha256 {file.sha256[:12]}…) was imported before{said}: "
            "a file is evidence once; import it with the same --device and --shipment"
        )


def submit_record(
    ledger: LedgerStore, signer: Signer, file: LoggerFile
) -> tuple[StoredEntry, bool]:
    """The file's record in the site's ledger (``tracehub.commands.writers.site_ledger_of``),
    signed by ``signer``; ``True`` if it is new."""
    before = ledger.entry(KIND, file.record_id)
    try:
        stored = RecordSubmitter(ledger, signer).submit(
            KIND, file.record(), file.record_id, streams=file.streams
        )
    except EntryError as exc:  # imported meanwhile under other options
        check_record(ledger, file)
        raise Problem(f"recording {file.path.name} in the ledger: {exc}") from exc
    except LedgerError as exc:
        raise Problem(f"recording {file.path.name} in the ledger: {exc}") from exc
    return stored, before is None
