"""The footprint the page states, against the anchored carbon report: the report is in the
lot's signed stream and anchored, and its line items re-sum to the claimed totals.
Part of ``claimcheck`` (same check name); pure over the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.entry import record_digest
from ledger.errors import LedgerError
from ledger.verify.report import Check, Outcome
from traceability.anchoring.claims import (
    FootprintClaim,
)
from traceability.anchoring.feeder import CARBON_REPORT_KIND

NAME = "claims"  # the check name of every claim (claimcheck)
_KG_TOL = 0.001  # the report's figures are 6-decimal strings; the page shows 0.01 kg


def _check(outcome: Outcome, subject: str, detail: str, record_id: str | None = None) -> Check:
    return Check(name=NAME, outcome=outcome, subject=subject, detail=detail, record_id=record_id)


def footprint_check(bundle: Mapping[str, Any], claim: FootprintClaim | None, lot: str) -> Check:
    subject = f"footprint of {lot}"
    if claim is None:
        return _check(Outcome.SKIPPED, subject, "could not check: the page showed no footprint")
    if claim.report_id is None:  # the page labels it "not anchored yet": claims no proof
        return _check(
            Outcome.SKIPPED,
            subject,
            f"could not check: the page's {claim.total_kg:g} kg CO2e were computed from the "
            "records (shown as not anchored): no carbon report is kept for the lot yet",
        )
    report, anchored = _report(bundle, claim.report_id)
    named = claim.report_id  # each check below names the report it rests on

    if report is None:
        return _check(
            Outcome.FAIL,
            subject,
            f"the page names carbon report {claim.report_id}; the bundle holds no signed report "
            "with that id",
            named,
        )
    try:
        data = report["extensions"][-1]["data"]
        items = data["items"]
        total = sum(float(item["kgCO2e"]) for item in items)
        units = int(data["units"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return _check(
            Outcome.FAIL, subject, f"carbon report {claim.report_id} is malformed: {exc}", named
        )
    per_unit = total / units if units else 0.0
    tol = _KG_TOL + 1e-6 * len(items)
    problems = []
    if abs(claim.total_kg - total) > tol:
        problems.append(
            f"total: the page says {claim.total_kg:g} kg CO2e, the {len(items)} line items of "
            f"report {claim.report_id} sum to {total:.6g}"
        )
    if abs(claim.per_unit_kg - per_unit) > tol:
        problems.append(
            f"per unit: the page says {claim.per_unit_kg:g} kg CO2e, the report gives "
            f"{per_unit:.6g} ({units} units)"
        )
    if claim.units != units:
        problems.append(f"units: the page says {claim.units}, the report {units}")
    if problems:
        return _check(Outcome.FAIL, subject, "; ".join(problems), named)
    if not anchored:
        return _check(
            Outcome.PENDING,
            subject,
            f"{total:.6g} kg CO2e re-summed from report {claim.report_id}, which is not in an "
            "anchored batch yet",
            named,
        )
    return _check(
        Outcome.OK,
        subject,
        f"{total:.6g} kg CO2e ({per_unit:.6g} per unit) re-summed from the {len(items)} line "
        f"items of anchored report {claim.report_id}",
        named,
    )


def _report(bundle: Mapping[str, Any], report_id: str) -> tuple[dict[str, Any] | None, bool]:
    anchored = {
        b.get("id") for b in bundle.get("batches") or [] if isinstance(b, dict) and b.get("anchor")
    }
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != CARBON_REPORT_KIND:
            continue
        record = item.get("record")
        if entry.get("record_id") != report_id or not isinstance(record, dict):
            continue
        try:
            if record_digest(record).hex() != entry.get("record_digest"):
                continue  # an altered report: the record check names it
        except LedgerError:
            continue
        return record, item.get("batch") in anchored
    return None, False
