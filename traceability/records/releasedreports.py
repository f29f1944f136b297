"""Released temperature reports in the records database (``released_reports``, issue #20).

``keep_report`` stores a released PDF and who released it; ``note_report_entry`` notes
the ledger record that holds its hash once signed; reads give the reports of a lot
(newest first, without the file) or one report with its file. A PDF already kept (same
SHA-256) is the same report, not a second one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc

from traceability.errors import RecordConflict
from traceability.records.database import Database, from_db, gtin_digits, to_db
from traceability.records.reporttables import released_reports

_T = released_reports
_META = [c for c in _T.c if c.name != "pdf"]


class ReleasedReport(BaseModel):
    """A released report as kept (without its file)."""

    model_config = ConfigDict(frozen=True)

    id: int
    gtin: str
    lot: str
    sha256: str
    size: int
    released_at: AwareDatetime
    released_by: str
    role: str
    meaning: str
    entry: str | None  # the ledger record id; None: not signed into the ledger (yet)


class ReleasedReportRecords(Database):
    """Released temperature reports, each PDF as it was signed."""

    def keep_report(
        self,
        gtin: str,
        lot: str,
        pdf: bytes,
        *,
        released_at: datetime,
        released_by: str,
        role: str,
        meaning: str,
    ) -> ReleasedReport:
        digest = hashlib.sha256(pdf).hexdigest()
        row = {
            "gtin": gtin_digits(gtin),
            "lot": lot,
            "sha256": digest,
            "size": len(pdf),
            "released_at": to_db(released_at),
            "released_by": released_by,
            "role": role,
            "meaning": meaning,
            "entry": None,
            "pdf": pdf,
        }
        try:
            with self._tx() as conn:
                conn.execute(_T.insert().values(**row))
        except sa_exc.IntegrityError:
            pass  # the same file again: the report kept already
        found = self._report_where(_T.c.sha256 == digest)
        assert found is not None  # inserted, or there before
        return found

    def note_report_entry(self, report_id: int, entry: str) -> None:
        with self._tx() as conn:
            conn.execute(_T.update().where(_T.c.id == report_id).values(entry=entry))

    def released_reports(self, gtin: str, lot: str) -> list[ReleasedReport]:
        query = (
            sa.select(*_META)
            .where(_T.c.gtin == gtin_digits(gtin), _T.c.lot == lot)
            .order_by(_T.c.released_at.desc(), _T.c.id.desc())
        )
        with self._tx() as conn:
            return [_report(row._asdict()) for row in conn.execute(query)]

    def released_report(self, report_id: int) -> tuple[ReleasedReport, bytes] | None:
        """The report and its file, as kept; a file that no longer has the SHA-256 it
        was kept with is a ``RecordConflict`` (edited outside tracehub), never served."""
        with self._tx() as conn:
            row = conn.execute(sa.select(_T).where(_T.c.id == report_id)).first()
        if row is None:
            return None
        data = row._asdict()
        pdf = bytes(data["pdf"])
        if hashlib.sha256(pdf).hexdigest() != data["sha256"]:
            raise RecordConflict(
                f"released report {report_id}: the kept file does not match the SHA-256 it "
                "was released with (edited outside tracehub); the signed hash is in the "
                "lot's records: release the report again"
            )
        return _report(data), pdf

    def _report_where(self, condition: Any) -> ReleasedReport | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(*_META).where(condition)).first()
        return None if row is None else _report(row._asdict())


def _report(data: dict[str, Any]) -> ReleasedReport:
    return ReleasedReport.model_validate({**data, "released_at": from_db(data["released_at"])})
