"""Capture receipts: which client sent each event, signed with the events themselves.

Every capture call that signs new events (``feeder.EventLeaves.sign``) also signs one
receipt, in the same ledger transaction::

    {"format": "tracehub-capture-receipt/1", "source": "erp-1",
     "events": ["ni:///sha-256;…", …], "received_at": "2026-11-22T09:00:00Z"}

``source`` is the authenticated API client's name (``POST /epcis/capture``),
``gateway:<its MQTT client id>`` for the gateway's in-process capture, or
``cli:<os user>`` for ``tracehub records capture``. The record id is a digest of the
content; the receipt is kept by the ledger and linked into the streams of the lots its
events name, so each lot's evidence bundle carries it. A redelivered event (already
signed) gets no new receipt: its first one stands.

``source_checks`` reports per lot who captured its events ("captured by erp-1: 3
events"), fails a receipt whose content does not hash to its signed digest or is not a
receipt, and lists events without one (adopted events, data from before receipts) as
"source not recorded" (skipped, never failed). ``captured_by`` gives the auditor API
the same attribution per event. Pure over the bundle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ledger.entry import record_digest
from ledger.errors import LedgerError
from ledger.verify.report import Check, Outcome

EVENT_KIND = "epcis-event"  # a captured event's entry (feeder.EventLeaves signs both)
RECEIPT_KIND = "capture-receipt"
RECEIPT_FORMAT = "tracehub-capture-receipt/1"


def receipt_record(source: str, event_ids: Iterable[str], received_at: datetime) -> dict[str, Any]:
    """The receipt of one capture call (``events`` sorted, so the content is canonical)."""
    moment = received_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "format": RECEIPT_FORMAT,
        "source": source,
        "events": sorted(set(event_ids)),
        "received_at": moment,
    }


def receipt_id(record: Mapping[str, Any]) -> str:
    return "receipt:sha256:" + record_digest(dict(record)).hex()


def _receipts(bundle: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[Check]]:
    """The bundle's receipts whose record holds to its signed digest, and a failing
    check for each one that does not (or is no receipt)."""
    good: list[dict[str, Any]] = []
    bad: list[Check] = []
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != RECEIPT_KIND:
            continue
        rid = str(entry.get("record_id"))
        record = item.get("record")
        problem = _problem(record, entry)
        if problem is None:
            good.append(record)
        else:
            bad.append(
                Check(
                    name="source",
                    outcome=Outcome.FAIL,
                    subject=f"{RECEIPT_KIND} {rid}",
                    detail=f"{problem}: who sent its events cannot be told",
                    record_id=rid,
                )
            )
    return good, bad


def _problem(record: Any, entry: Mapping[str, Any]) -> str | None:
    if not isinstance(record, dict):
        return "the receipt is missing"
    try:
        digest = record_digest(record).hex()
    except LedgerError:
        return "the receipt has no canonical form"
    if digest != entry.get("record_digest"):
        return "the receipt was altered: it does not hash to its signed digest"
    events = record.get("events")
    if (
        record.get("format") != RECEIPT_FORMAT
        or not isinstance(record.get("source"), str)
        or not isinstance(events, list)
        or not all(isinstance(e, str) for e in events)
    ):
        return f"signed, but not a {RECEIPT_FORMAT} record"
    return None


def _sources(receipts: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Event id → the source of the earliest receipt naming it."""
    found: dict[str, str] = {}
    for record in sorted(receipts, key=lambda r: str(r.get("received_at"))):
        for event_id in record["events"]:
            found.setdefault(event_id, record["source"])
    return found


def captured_by(bundle: Mapping[str, Any]) -> dict[str, str]:
    """Event id → the source its valid signed receipt names."""
    return _sources(_receipts(bundle)[0])


def source_checks(bundle: Mapping[str, Any], lot: str, event_ids: Iterable[str]) -> list[Check]:
    """Who captured each of ``event_ids`` (the lot's signed events), per source."""
    receipts, checks = _receipts(bundle)
    altered = bool(checks)
    sources = _sources(receipts)
    wanted = sorted(set(event_ids))
    counts = Counter(sources[e] for e in wanted if e in sources)
    subject = f"lot {lot}"
    for source, count in sorted(counts.items()):
        checks.append(
            Check(
                name="source",
                outcome=Outcome.OK,
                subject=subject,
                detail=f"captured by {source}: {count} event{'s' if count != 1 else ''} "
                "(signed capture receipts)",
            )
        )
    unknown = [e for e in wanted if e not in sources]
    if unknown:
        checks.append(
            Check(
                name="source",
                outcome=Outcome.SKIPPED,
                subject=subject,
                detail=f"source not recorded: {len(unknown)} event"
                f"{'s' if len(unknown) != 1 else ''} without a valid capture receipt "
                + (
                    "(a receipt fails above)"
                    if altered
                    else "(adopted, or captured before receipts were signed)"
                ),
            )
        )
    return checks


def lot_source_checks(bundle: Mapping[str, Any]) -> list[Check]:
    """``source_checks`` for a lot bundle: the events signed into the subject's stream."""
    subject = bundle.get("subject")
    if not isinstance(subject, dict) or subject.get("type") != "lot":
        return []
    stream = subject.get("stream")
    events = [
        str(item["entry"].get("record_id"))
        for item in bundle.get("items") or []
        if isinstance(item, dict)
        and isinstance(item.get("entry"), dict)
        and item["entry"].get("kind") == EVENT_KIND
        and any(
            isinstance(link, dict) and link.get("stream") == stream
            for link in item["entry"].get("links") or []
        )
    ]
    return source_checks(bundle, str(subject.get("lot")), events)
