"""Incident checks of a lot: the signed incident steps its bundle carries form a valid
lifecycle (``traceability.incidents.lifecycle``), and say what happened.

One check per incident (subject ``incident inc-…``): OK (anchored) or PENDING (signed,
not yet anchored), printed by ``tracehub verify`` as "incident inc-…: 14-min excursion
at Cold room 1 on 3 Dec (peak 9.4 °C), acknowledged by li (operator), released by qa
(quality) — anchored" — the minutes from the alarm's start to its signed clearing, or
"excursion at … since 3 Dec, still going on" before it cleared; FAIL when a step record
was altered (it does not hash to its signed digest) or the lifecycle does not hold (a
seq missing, a state going back, a disposition by a role that may not take it, a
closing while the excursion went on). Pure over the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.verify.report import Check, Outcome
from traceability.incidents.lifecycle import Lifecycle, lifecycles

CHECK = "incident"
_DONE = {"release": "released", "quarantine": "quarantined", "reject": "rejected"}


def incident_checks(bundle: Mapping[str, Any]) -> list[Check]:
    subject = bundle.get("subject")
    if not isinstance(subject, dict) or subject.get("type") != "lot":
        return []
    gtin, lot = str(subject.get("gtin")), str(subject.get("lot"))
    checks: list[Check] = []
    for found in lifecycles(bundle, gtin, lot):
        who = f"incident {found.incident}"
        if not found.valid:
            checks.append(
                Check(
                    name=CHECK,
                    outcome=Outcome.FAIL,
                    subject=who,
                    detail="; ".join(found.problems),
                )
            )
            continue
        proof = "anchored" if found.anchored else "not yet anchored"
        checks.append(
            Check(
                name=CHECK,
                outcome=Outcome.OK if found.anchored else Outcome.PENDING,
                subject=who,
                detail=f"{story(found, gtin, lot)} — {proof}",
            )
        )
    return checks


def story(found: Lifecycle, gtin: str, lot: str) -> str:
    """ "14-min excursion at Cold room 1 on 3 Dec (peak 9.4 °C), acknowledged by li …"."""
    minutes = found.minutes(gtin, lot)
    day = f"{found.started_at.day} {found.started_at:%b}" if found.started_at else None
    peak = f" (peak {found.peak_c:g} °C)" if found.peak_c is not None else ""
    if found.ongoing:
        since = f" since {day}" if day else ""
        parts = [f"excursion at {found.place}{since}, still going on{peak}"]
    else:
        what = f"{round(minutes)}-min excursion" if minutes is not None else "excursion"
        parts = [f"{what} at {found.place}{f' on {day}' if day else ''}{peak}"]
    if (ack := found.who("acknowledged")) is not None:
        parts.append(f"acknowledged by {ack[0]} ({ack[1]})")
    if (assessed := found.who("assessed")) is not None:
        parts.append(f"assessed by {assessed[0]} ({assessed[1]})")
    if (disposed := found.disposition(gtin, lot)) is not None:
        parts.append(f"{_DONE.get(disposed[0], disposed[0])} by {disposed[1]} ({disposed[2]})")
    else:
        parts.append(f"{found.state}, not yet disposed")
    return ", ".join(parts)
