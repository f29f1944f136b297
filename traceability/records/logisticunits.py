"""Logistic units: pallets and containers by their SSCC, so events naming them place
what they carry (``traceability.custody``)."""

from __future__ import annotations

import sqlalchemy as sa

from gs1.identifiers import check_digit, key_of
from traceability.errors import RecordConflict
from traceability.records.database import Database
from traceability.records.schema import logistic_units


class LogisticUnitRecords(Database):
    """Registered logistic units."""

    def add_logistic_unit(self, sscc: str, kind: str, description: str | None = None) -> str:
        """Register a logistic unit (pallet, container) by SSCC digits or EPC URN."""
        digits = sscc_digits(sscc) if not sscc.isdigit() else sscc
        if digits is None or len(digits) != 18 or int(digits[-1]) != check_digit(digits[:17]):
            raise RecordConflict(
                f"sscc {sscc!r}: give 18 digits with a valid check digit or an SSCC EPC URN"
            )
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(logistic_units.c.sscc).where(logistic_units.c.sscc == digits)
            ).first()
            if exists is None:
                conn.execute(
                    logistic_units.insert().values(sscc=digits, kind=kind, description=description)
                )
        return digits


def sscc_digits(epc: str) -> str | None:
    """The 18-digit SSCC of an SSCC EPC URN or Digital Link, else None."""
    if epc.startswith("urn:epc:id:sscc:"):
        parts = epc[len("urn:epc:id:sscc:") :].split(".")
        if len(parts) == 2 and len(parts[0]) + len(parts[1]) == 17:
            return key_of(parts[0], parts[1])
        return None
    marker = "/00/"
    if epc.startswith(("http://", "https://")) and marker in epc:
        digits = epc.rsplit(marker, 1)[1][:18]
        return digits if len(digits) == 18 and digits.isdigit() else None
    return None
