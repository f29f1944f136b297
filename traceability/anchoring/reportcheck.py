"""Is this PDF a temperature report released for the lot? (``tracehub verify --report``)

A released report's SHA-256 is in the lot's ``temperature-report`` record, signed into
its stream when a quality user released it (``traceability.reports.release``). A file
is checked by its hash: found in a record of THIS lot (its GTIN and lot, linked into the
lot's stream), the check names who released it, when and what the signature means, with
the record's id, so the record's own checks (its digest, its signature, its batch and
anchor) decide whether that is proven; not found, the file is not a report this lot
released (edited, or another lot's): FAIL.

The record also holds the numbers the report states (``states``). They are held against
the lot's claims in the bundle, which ``verify`` recomputes from the proven inputs: the
same numbers pass; different ones FAIL when the lot's journey had ended by the time of
the report (its numbers cannot have moved since), and cannot be compared otherwise (the
lot's numbers now include readings after the report).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ledger.verify.report import Check, Outcome
from traceability.reports.release import KIND

NAME = "report file"
STATES = "report states"
_NUMBERS = ("mkt_c", "min_c", "max_c", "minutes_out")
_TOLERANCE = 0.05  # the report prints one decimal


def released_records(bundle: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """sha256 -> (record id, record) of every report the bundle's lot released."""
    subject = bundle.get("subject") or {}
    own = subject.get("stream")
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for item in bundle.get("items") or []:
        entry, record = item.get("entry") or {}, item.get("record")
        if entry.get("kind") != KIND or not isinstance(record, Mapping):
            continue
        links = {link.get("stream") for link in entry.get("links") or [] if isinstance(link, dict)}
        ours = (record.get("gtin"), record.get("lot")) == (subject.get("gtin"), subject.get("lot"))
        digest = record.get("sha256")
        if ours and own in links and isinstance(digest, str):
            found[digest] = (str(entry.get("record_id")), record)
    return found


def report_file_checks(
    bundle: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
) -> list[Check]:
    """One check per ``(name, content)`` file, and one of the numbers it states."""
    released = released_records(bundle)
    checks = []
    for name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        hit = released.get(digest)
        if hit is None:
            checks.append(
                Check(
                    name=NAME,
                    outcome=Outcome.FAIL,
                    subject=name,
                    detail=f"SHA-256 {digest} is not a temperature report released for "
                    "this lot: the file was changed, or it is another lot's",
                )
            )
            continue
        record_id, record = hit
        by = record.get("released_by") or {}
        checks.append(
            Check(
                name=NAME,
                outcome=Outcome.OK,
                subject=name,
                detail=f"SHA-256 {digest}: released by {by.get('display_name')} "
                f"({by.get('name')}, {by.get('role')}) at {by.get('signed_at')}: "
                f'"{by.get("meaning")}" (record {record_id}, checked above)',
                record_id=record_id,
            )
        )
        checks.append(_states_check(bundle, name, record_id, record.get("states")))
    return checks


def _states_check(bundle: Mapping[str, Any], name: str, record_id: str, states: Any) -> Check:
    claims = bundle.get("claims") or {}
    cold = claims.get("cold_chain") if isinstance(claims, Mapping) else None
    if not isinstance(states, Mapping) or not states or not isinstance(cold, Mapping):
        return Check(
            name=STATES,
            outcome=Outcome.SKIPPED,
            subject=name,
            detail="could not check: "
            + ("the release record names no numbers" if not states else "the bundle has no claims"),
            record_id=record_id,
        )
    differ = _differences(states, cold)
    if not differ:
        return Check(
            name=STATES,
            outcome=Outcome.OK,
            subject=name,
            detail=f"{states.get('state')}, MKT {states.get('mkt_c')}, "
            f"{states.get('minutes_out')} min out, {states.get('excursions')} excursions: "
            "the lot's proven numbers (claims, recomputed above)",
            record_id=record_id,
        )
    text = "; ".join(differ)
    if _journey_ended_by(claims, states.get("as_of")):
        return Check(
            name=STATES,
            outcome=Outcome.FAIL,
            subject=name,
            detail=f"the report states what the lot's proven readings do not give: {text}",
            record_id=record_id,
        )
    return Check(
        name=STATES,
        outcome=Outcome.SKIPPED,
        subject=name,
        detail=f"could not check: the lot's numbers now cover readings after the report "
        f"(as of {states.get('as_of')}): {text}",
        record_id=record_id,
    )


def _differences(states: Mapping[str, Any], cold: Mapping[str, Any]) -> list[str]:
    found = []
    if states.get("state") != cold.get("state"):
        found.append(f"verdict {states.get('state')} (report) vs {cold.get('state')} (proven)")
    for key in _NUMBERS:
        a, b = states.get(key), cold.get(key)
        if (a is None) != (b is None) or (
            isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) > _TOLERANCE
        ):
            found.append(f"{key} {a} (report) vs {b} (proven)")
    stated = states.get("excursions")
    proven = len(cold.get("excursions") or [])
    if stated != proven:
        found.append(f"{stated} excursions (report) vs {proven} (proven)")
    return found


def _journey_ended_by(claims: Mapping[str, Any], as_of: Any) -> bool:
    """Every stay of the lot had ended by ``as_of``: its numbers cannot have moved since."""
    try:
        moment = datetime.fromisoformat(str(as_of))
        stops = claims.get("journey") or []
        lefts = [datetime.fromisoformat(str(s["left"])) for s in stops if s.get("left")]
    except (TypeError, ValueError, KeyError, AttributeError):
        return False
    return bool(stops) and len(lefts) == len(stops) and max(lefts) <= moment
