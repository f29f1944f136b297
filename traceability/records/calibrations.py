"""Probe calibration records in the records database (``probe_calibrations``, issue #20).

Append-only: ``add_calibrations`` inserts a file's (or one form's) records in ONE
transaction; the same certificate again with the same values is a no-op, with other
values a ``RecordConflict`` naming the row, and nothing of the file is kept. There is no
update and no delete: a correction is a new certificate, so a probe's history stays
readable. Signing is ``traceability.masterdata.calibration``'s, after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.calibration.record import FIELDS, Calibration
from traceability.errors import RecordConflict, RecordError
from traceability.records.calibrationtables import probe_calibrations
from traceability.records.database import Database, now_utc, to_db

_T = probe_calibrations


class CalibrationRecords(Database):
    """Probe calibration certificates, a history per probe."""

    def add_calibrations(self, records: Sequence[Calibration]) -> list[Calibration]:
        """Insert every record in one transaction (rows named 1…); the records back."""
        stamp = to_db(now_utc())
        with self._tx() as conn:
            for number, record in enumerate(records, start=1):
                try:
                    _put(conn, record, stamp)
                except RecordError as exc:
                    where = f"row {number}: " if len(records) > 1 else ""
                    raise type(exc)(f"{where}{exc}") from exc
        return list(records)

    def calibrations(
        self, probe: str | None = None, due_before: date | None = None
    ) -> list[Calibration]:
        """Every record (of ``probe``; due before ``due_before``), by probe, oldest first."""
        query = sa.select(_T).order_by(_T.c.probe, _T.c.calibrated_on, _T.c.certificate_number)
        if probe is not None:
            query = query.where(_T.c.probe == probe)
        if due_before is not None:
            query = query.where(_T.c.due_on < due_before)
        with self._tx() as conn:
            return [_record(row._asdict()) for row in conn.execute(query)]

    def calibrations_of(self, probes: Sequence[str]) -> list[Calibration]:
        """The records of the named probes (the probes of a lot's stays)."""
        if not probes:
            return []
        query = sa.select(_T).where(_T.c.probe.in_(sorted(set(probes))))
        with self._tx() as conn:
            return [_record(row._asdict()) for row in conn.execute(query)]


def _put(conn: Connection, record: Calibration, stamp: Any) -> None:
    row = record.model_dump()
    key = sa.and_(_T.c.probe == record.probe, _T.c.certificate_number == record.certificate_number)
    found = conn.execute(sa.select(_T).where(key)).first()
    if found is None:
        conn.execute(_T.insert().values(**row, recorded_at=stamp))
        return
    if _record(found._asdict()) != record:
        raise RecordConflict(
            f"calibration of probe {record.probe} certificate {record.certificate_number} "
            "is recorded with other values; records are not edited: record the corrected "
            "certificate under its own number"
        )


def _record(data: dict[str, Any]) -> Calibration:
    return Calibration.model_validate({name: data[name] for name in FIELDS})
