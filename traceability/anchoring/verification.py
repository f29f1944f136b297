"""Verify a lot: build its evidence bundle from the records and the ledger, check it.

Pure over data once the bundle is built (``ledger.verify.verifier``): every stored event
of the lot is re-hashed and compared with its signed ledger entry, the signature,
the lot's hash chain (a deleted or reordered event breaks it), the Merkle inclusion
proof and the batch anchor are checked, and with a ``ChainView`` the root is looked
up on chain. An event of the lot the ledger holds no capture entry for was not
captured by this hub and fails, as does an indexed column its body contradicts
(``eventcheck``, which also re-derives the journey from the signed bodies); an event
the ledger holds that the records lost is "missing".
With a ``TelemetryRows`` reader (InfluxDB), the readings at the lot's locations during
its stays are held against the gateway's sealed windows (``telemetrycheck``).
The records' product, lot and journey locations are held against their signed
versions (``mastercheck``): a field changed outside tracehub is named with both values.
The lot's incidents are told from their signed steps and their lifecycle checked
(``incidentcheck``): an altered step or an invalid lifecycle fails. Its audit entries
are held against the records' trail (``auditcheck``): an edited or deleted row fails.
With ``claims`` (``claims.PageClaims``: what the page would show now), the bundle carries
the page's numbers and ``claimcheck`` recomputes each from the proven inputs (sealed
anchored readings, the anchored band per stay, the journey from the signed bodies, the
anchored carbon report).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from gs1.identifiers import Gtin
from ledger.evidence import ClaimSource
from ledger.store.sqlstore import LedgerStore
from ledger.verify.trust import TrustAnchors
from ledger.verify.verifier import ChainView, Check, Outcome, Report, verify_bundle
from traceability.anchoring.auditcheck import audit_checks
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.claimcheck import claim_checks
from traceability.anchoring.eventcheck import event_checks, journey_from, signed_bodies
from traceability.anchoring.feeder import lot_stream
from traceability.anchoring.incidentcheck import incident_checks
from traceability.anchoring.mastercheck import master_checks
from traceability.anchoring.reportcheck import report_file_checks
from traceability.anchoring.seals import sealed_windows, spans_of
from traceability.anchoring.telemetrycheck import TelemetryRows, telemetry_checks
from traceability.audit.entry import KIND as AUDIT_KIND
from traceability.custody import CustodyService, Timeline
from traceability.records.store import RecordStore

__all__ = ["Check", "Outcome", "Report", "report_json", "verify_lot"]


def verify_lot(
    store: RecordStore,
    ledger: LedgerStore,
    gtin: Gtin | str,
    lot: str,
    chain: ChainView | None = None,
    trust: TrustAnchors | None = None,
    telemetry: TelemetryRows | None = None,
    now: datetime | None = None,
    claims: ClaimSource | None = None,
    reports: Sequence[tuple[str, bytes]] = (),
) -> Report:
    """``telemetry``: where to re-read the lot's readings (``TelemetryUnavailable``
    propagates when it cannot answer). ``trust``: who may have signed and where the
    roots count, from outside the records (on the site: its keystore and configured
    contract); without it the lot is at best "self-consistent, not attributed".
    ``reports``: PDF files (name, content) held against the lot's released reports."""
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value
    bundle = lot_bundle(store, ledger, gtin14, lot, claims=claims)
    report = verify_bundle(bundle, chain, trust, now)
    # The lot's own stream only (events, carbon reports, exposure summaries): the
    # bundle also carries master-data versions and telemetry seals of other streams.
    # Its audit entries tell changes to the lot, not its story: they verify nothing alone.
    own = lot_stream(gtin14, lot)
    in_ledger = {
        item["entry"]["record_id"]
        for item in bundle["items"]
        if any(link.get("stream") == own for link in item["entry"].get("links") or [])
        and item["entry"].get("kind") != AUDIT_KIND
    }
    extra: list[Check] = []
    events = store.events_for_lot(gtin14, lot)
    if not events and not in_ledger:
        extra.append(
            Check(
                name="events",
                outcome=Outcome.FAIL,
                subject=f"lot {lot}",
                detail=f"no events recorded for lot {lot} of {gtin14}; nothing to verify",
            )
        )
    # Every event row signed at capture, its index re-derived from its body, the
    # journey re-derived from the signed bodies (an unsigned row fails, never pending).
    extra.extend(event_checks(store, ledger, bundle, gtin14, lot))
    after: list[Check] = []
    if telemetry is not None:
        spans = spans_of(CustodyService(store).lot_timeline(gtin14, lot).locations())
        after = telemetry_checks(bundle, spans, telemetry, now or datetime.now(UTC))
    elif sealed_windows(bundle):
        after = [
            Check(
                name="telemetry",
                outcome=Outcome.SKIPPED,
                subject=f"lot {lot}",
                detail="could not check: the readings in InfluxDB against the sealed telemetry "
                "windows (no InfluxDB given: --influx URL)",
            )
        ]
    after.extend(master_checks(store, bundle, gtin14, lot))  # product, lot, places
    after.extend(incident_checks(bundle))  # the lot's incidents, from the signed steps
    after.extend(audit_checks(store, bundle))  # its audit entries, held against the trail
    after.extend(report_file_checks(bundle, reports))  # report files an inspector was given
    if claims is not None:  # the page's numbers, recomputed over the signed journey
        proven = journey_from(store, gtin14, lot, signed_bodies(bundle))
        stays = spans_of(Timeline(subject=f"{gtin14}/{lot}", stays=proven).locations())
        after.extend(claim_checks(bundle, stays=stays))
    if not extra and not after:
        return report
    return report.model_copy(update={"checks": (*extra, *report.checks, *after)})


def report_json(report: Report, extra: dict[str, object] | None = None) -> str:
    """The report as indented JSON, for ``tracehub verify --json``."""
    return json.dumps(
        {
            **(extra or {}),
            "subject": report.subject,
            "ok": report.verdict == 0,
            "verdict": report.verdict.name,
            "online": report.online,
            "trust": report.trust,
            "checks": [
                {**c.model_dump(), "ok": c.ok, "outcome": c.outcome.value} for c in report.checks
            ],
        },
        indent=2,
    )
