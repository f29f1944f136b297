"""The auditor API: raw events, telemetry windows, exposure and evidence bundles.

What the consumer page leaves out (location URNs, raw readings, the events themselves)
is served here, in JSON, to API clients with the ``auditor`` scope (``Authorization:
Bearer …``; ``web.access``, applied to these routes in ``web.app``).

* ``GET /auditor/lots/{gtin}/{lot}/events``     the lot's EPCIS events (eventID,
  recordTime, batch and leaf index, ``capturedBy``: the client its signed capture
  receipt names, null when none does)
* ``GET /auditor/lots/{gtin}/{lot}/telemetry?from=&to=``  raw temperature readings
  at every place the lot stayed, clipped to its stays and to the window (≤ 31 days)
* ``GET /auditor/lots/{gtin}/{lot}/exposure``   the full exposure (with URNs), each
  stay judged against the product version anchored then (as the page), with the
  state of the band the records hold (``band``)
* ``GET /auditor/lots/{gtin}/{lot}/masterdata`` the product, the lot and the places of
  its journey, each field with its records value, its latest signed value and its
  state (proven / pending / changed / unsigned, as the page labels it), and every
  signed version (the audit trail)
* ``GET /auditor/lots/{gtin}/{lot}/evidence``   the evidence bundle

Nothing here presents master data as proven on the records' word: a field is
``proven`` only when the records hold the value of an anchored signed version; nor a
sender on the records' word: ``capturedBy`` comes from receipts that hold to their
signed digest. Refusals are ``web.problem`` answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gs1.epcis.event import format_time
from traceability.anchoring.claims import band_at, product_history
from traceability.anchoring.proofs import EvidenceSource
from traceability.anchoring.receipts import captured_by
from traceability.coldchain.exposure import Band, ExposureService
from traceability.custody import CustodyService
from traceability.errors import TelemetryUnavailable
from traceability.masterdata.compare import FieldCheck, MasterComparison
from traceability.masterdata.facts import LotFacts, lot_facts
from traceability.masterdata.history import History
from traceability.records.store import RecordStore
from web.params import path_lot
from web.problem import Problem

MAX_WINDOW = timedelta(days=31)
BAND_FIELDS = (
    "temp_min_c",
    "temp_max_c",
    "excursion_budget_min",
    "stability_budget",
    "mkt_limit_c",
)
_WEAKEST = ("proven", "pending", "unsigned", "changed")  # weakest last


class Reading(Protocol):
    """One raw temperature reading, as the telemetry store returns it."""

    @property
    def time(self) -> datetime: ...

    @property
    def celsius(self) -> float: ...


class TelemetryWindow(Protocol):
    """The auditor's port to the telemetry store (``InfluxTemperatureReader`` fits).
    Declared here, not imported from the adapter's module, so that web does not
    depend on the InfluxDB client."""

    def points(self, location: str, start: datetime, end: datetime) -> Sequence[Reading]:
        """Raw readings at ``location`` in ``[start, end)``; ``TelemetryUnavailable``."""
        ...


def _window(request: Request, now: datetime) -> tuple[datetime | None, datetime]:
    def moment(name: str) -> datetime | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{name}: {value!r} is not an ISO 8601 time") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    return moment("from"), moment("to") or now


def auditor_routes(
    store: RecordStore,
    *,
    telemetry: TelemetryWindow | None,
    exposure: ExposureService | None,
    evidence: EvidenceSource | None,
    now: Callable[[], datetime] | None = None,
) -> Sequence[Route]:
    custody = CustodyService(store)
    clock = now or (lambda: datetime.now(UTC))

    def lot_of(request: Request) -> tuple[str, str]:
        gtin, lot = path_lot(request)
        if store.get_lot(gtin, lot) is None:
            raise Problem(404, "unknown lot", f"lot {lot} of {gtin} is not in the records")
        return gtin, lot

    def events(request: Request) -> Response:
        found = lot_of(request)
        # Who sent each event, from the lot's signed receipts (never from a records column).
        bundle = evidence.bundle(*found) if evidence is not None else None
        senders = captured_by(bundle) if bundle is not None else {}
        rows = [
            {
                **e.document(),
                "eventID": e.id,
                "recordTime": format_time(e.captured_at),
                "tracehub:batch": e.batch_id,
                "tracehub:leafIndex": e.leaf_index,
                "capturedBy": senders.get(e.id),
            }
            for e in store.events_for_lot(*found)
        ]
        return JSONResponse({"gtin": found[0], "lot": found[1], "events": rows})

    def telemetry_window(request: Request) -> Response:
        found = lot_of(request)
        if telemetry is None:
            raise Problem(503, "telemetry unavailable", "no telemetry store configured")
        try:
            start, end = _window(request, clock())
        except ValueError as exc:
            raise Problem(400, "bad query parameter", str(exc)) from exc
        start = start or end - timedelta(days=1)
        if end <= start or end - start > MAX_WINDOW:
            raise Problem(
                400,
                "bad window",
                f"from/to: give from < to, at most {MAX_WINDOW.days} days apart",
            )
        series: list[dict[str, Any]] = []
        try:
            for location, spans in sorted(custody.lot_timeline(*found).locations().items()):
                points: list[dict[str, Any]] = []
                for s, e in spans:
                    lo, hi = max(s, start), min(e or end, end)
                    if lo < hi:
                        points.extend(
                            {"time": format_time(p.time), "celsius": p.celsius}
                            for p in telemetry.points(location, lo, hi)
                        )
                series.append({"location": location, "points": points})
        except TelemetryUnavailable as exc:
            raise Problem(503, "telemetry unavailable", str(exc)) from exc
        return JSONResponse(
            {
                "gtin": found[0],
                "lot": found[1],
                "from": format_time(start),
                "to": format_time(end),
                "series": series,
            }
        )

    def facts_of(gtin: str, lot: str) -> tuple[LotFacts, dict[str, Any] | None] | None:
        """The lot's master data against its signed versions (None: no evidence source,
        so nothing can be labelled proven)."""
        product = store.get_product(gtin)
        if evidence is None or product is None:
            return None
        bundle = evidence.bundle(gtin, lot)
        places = {loc.urn: loc for loc in store.locations()}
        visited = {u: places[u] for u in custody.lot_timeline(gtin, lot).locations() if u in places}
        return lot_facts(bundle, product, store.lot_master(gtin, lot), visited), bundle

    def exposure_endpoint(request: Request) -> Response:
        found = lot_of(request)
        if exposure is None:
            raise Problem(503, "exposure unavailable", "no telemetry configured")
        known = facts_of(*found)
        product = store.get_product(found[0])
        bands = None
        if known is not None and product is not None:
            # Each stay against the product version anchored when it began, as the page.
            bands = band_at(product_history(known[1], product.gtin), Band.of(product))
        try:
            result = exposure.exposure(*found, band_at=bands)
        except TelemetryUnavailable as exc:
            raise Problem(503, "telemetry unavailable", str(exc)) from exc
        body = json.loads(result.model_dump_json())
        if known is not None:
            checks = [f for f in known[0].product.fields if f.field in BAND_FIELDS]
            body["band"] = {"state": _weakest(checks), "fields": [_field(f) for f in checks]}
        else:
            body["band"] = {"state": None, "fields": []}  # no evidence: nothing claimed
        return JSONResponse(body)

    def masterdata_endpoint(request: Request) -> Response:
        found = lot_of(request)
        known = facts_of(*found)
        if known is None:
            raise Problem(
                503,
                "master data proofs unavailable",
                "no evidence source configured: the records' master data cannot be held "
                "against its signed versions",
            )
        facts = known[0]
        subjects = [facts.product, *([facts.lot] if facts.lot is not None else [])]
        places = [facts.locations[urn] for urn in sorted(facts.locations)]
        every = [f for item in [*subjects, *places] for f in item.fields]
        return JSONResponse(
            {
                "gtin": found[0],
                "lot": found[1],
                "state": _weakest(every),
                "product": _subject(facts.product, facts.histories),
                "lot_record": None if facts.lot is None else _subject(facts.lot, facts.histories),
                "locations": [_subject(item, facts.histories) for item in places],
            }
        )

    def evidence_endpoint(request: Request) -> Response:
        found = lot_of(request)
        bundle = evidence.bundle(*found, claims=True) if evidence is not None else None
        if bundle is None:
            raise Problem(404, "no evidence", "nothing of this lot is in the ledger yet")
        return JSONResponse(bundle)

    base = "/auditor/lots/{gtin}/{lot}"
    return [
        Route(f"{base}/events", events),
        Route(f"{base}/telemetry", telemetry_window),
        Route(f"{base}/exposure", exposure_endpoint),
        Route(f"{base}/masterdata", masterdata_endpoint),
        Route(f"{base}/evidence", evidence_endpoint),
    ]


def _weakest(checks: Sequence[FieldCheck]) -> str:
    return max((c.state for c in checks), key=_WEAKEST.index, default="unsigned")


def _field(check: FieldCheck) -> dict[str, Any]:
    return {
        "field": check.field,
        "records": check.records,
        "signed": check.signed,
        "version": check.version,
        "state": check.state,
    }


def _subject(item: MasterComparison, histories: Mapping[str, History]) -> dict[str, Any]:
    """One product, lot or place: its fields' states and every signed version."""
    history = histories.get(item.facts.stream)
    return {
        "subject": item.facts.subject,
        "key": item.facts.key,
        "stream": item.facts.stream,
        "state": _weakest(item.fields),
        "fields": [_field(f) for f in item.fields],
        "versions": [
            {
                "version": v.version.version,
                "record_id": v.record_id,
                "valid_from": format_time(v.version.valid_from),
                "anchored_at": None if v.anchored_at is None else format_time(v.anchored_at),
                "fields": v.version.facts.fields,
            }
            for v in (history.versions if history is not None else ())
        ],
    }
