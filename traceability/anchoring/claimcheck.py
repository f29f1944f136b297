"""What the lot page states, recomputed from the proven inputs alone.

A lot's bundle carries the page's numbers (its ``claims`` section, ``claims.LotClaims``,
covered by the signed manifest). ``claim_checks`` recomputes them with the same pure
functions the page ran (``coldchain.exposure.exposure_over``, ``mkt``, ``judge``), but
over proven inputs only:

* the readings inside the sealed telemetry windows of anchored batches at the lot's
  locations during its stays (never InfluxDB: ``telemetrycheck`` holds InfluxDB
  against the same seals), and those of the anchored sensor-only EPCIS events there
  (``provenreadings``: the page's ``epcis:`` probes);
* per stay, the product's anchored master-data version valid when the stay began
  (band, budget, MKT limit; the journey is judged against the strictest);
* the journey from the signed event bodies (``eventcheck.journey_from``; given by the
  caller, since it needs the records' unit → lot links; without it the claimed stops
  are used and the journey is reported as not re-derived);
* the footprint from the anchored carbon report the page names (its line items
  re-summed).

Each number that differs fails, naming it ("minutes out of range: the page says 0,
the sealed readings give 14"); numbers resting on hours no anchored seal covers are
pending when the gateway should have sealed them by the time the page spoke (sealed
but not anchored, or never sealed), "could not check" while a window was still open;
never proven. A footprint the page computed from the records (labelled "not anchored")
is "could not check". Pure over the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ledger.verify.report import Check, Outcome
from traceability.anchoring.claims import (
    ColdChainClaim,
    LotClaims,
    StopClaim,
    band_at,
    product_history,
)
from traceability.anchoring.footprintcheck import NAME, footprint_check
from traceability.anchoring.provenreadings import SealedSeries, SensorEvents, asked_stays
from traceability.anchoring.seals import DEFAULT_CLOSE, DEFAULT_WINDOW, Span
from traceability.anchoring.seals import window_status as _window_status
from traceability.coldchain.budget import BudgetUse, step_words
from traceability.coldchain.exposure import Band, exposure_over
from traceability.records.stability import steps_text

_MINUTES_TOL = 0.01
# The page's quiet InfluxDB stretches stand for their readings by their mean (MKT error
# below 0.005 °C for regular sampling, ``coldchain.probes``); the page shows 0.1 °C.
_MKT_TOL_C = 0.01
_TEMP_TOL_C = 1e-6


def claim_checks(
    bundle: Mapping[str, Any],
    *,
    stays: Sequence[Span] | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> list[Check]:
    """The page's claims in ``bundle`` against the proven inputs (see the module doc).

    ``stays``: the lot's stays re-derived from the signed event bodies (None: the
    bundle alone; the claimed stops are used and the journey is not re-derived)."""
    subject = bundle.get("subject") if isinstance(bundle.get("subject"), dict) else {}
    assert isinstance(subject, dict)
    lot = f"lot {subject.get('lot')}"
    if "claims" not in bundle:
        return [
            _check(
                Outcome.SKIPPED,
                lot,
                "could not check: the bundle carries no page claims (exported without "
                "them, or before they were added); the page's numbers are not covered",
            )
        ]
    try:
        claims = LotClaims.from_json(bundle["claims"])
    except ValueError as exc:
        return [_check(Outcome.FAIL, lot, str(exc))]
    if (claims.gtin, claims.lot) != (subject.get("gtin"), subject.get("lot")):
        return [
            _check(
                Outcome.FAIL,
                lot,
                f"the claims are about {claims.gtin}/{claims.lot}, the bundle about "
                f"{subject.get('gtin')}/{subject.get('lot')}",
            )
        ]
    checks = [_journey(claims, stays, lot)]
    proven = stays if stays is not None else _claimed_spans(claims.journey)
    checks.extend(_cold_chain(bundle, claims, proven, window, lot))
    checks.append(footprint_check(bundle, claims.footprint, lot))
    return checks


def _check(outcome: Outcome, subject: str, detail: str, record_id: str | None = None) -> Check:
    return Check(name=NAME, outcome=outcome, subject=subject, detail=detail, record_id=record_id)


def _at(moment: datetime | None) -> str:
    return "now" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- journey ---------------------------------------------------------------------------------


def _claimed_spans(journey: Sequence[StopClaim]) -> list[Span]:
    return [(s.location, s.arrived, s.left) for s in journey]


def _journey(claims: LotClaims, stays: Sequence[Span] | None, lot: str) -> Check:
    subject = f"journey of {lot}"
    if stays is None:
        return _check(
            Outcome.SKIPPED,
            subject,
            "could not check: the journey re-derived from the signed event bodies needs the "
            "records' unit → lot links (`tracehub verify --gtin G --lot L`); the cold chain "
            "below is recomputed over the stops the page claims",
        )
    claimed = set(_claimed_spans(claims.journey))
    proven = set(stays)
    problems = [
        f"the page shows a stop at {loc} from {_at(a)} to {_at(b)} the signed events do not"
        for loc, a, b in sorted(claimed - proven, key=lambda s: s[1])
    ] + [
        f"the signed events give a stop at {loc} from {_at(a)} to {_at(b)} the page does not show"
        for loc, a, b in sorted(proven - claimed, key=lambda s: s[1])
    ]
    if problems:
        return _check(Outcome.FAIL, subject, "; ".join(problems))
    return _check(
        Outcome.OK,
        subject,
        f"the page's {len(claimed)} stop(s) are the ones the signed event bodies give",
    )


# --- cold chain ------------------------------------------------------------------------------


def _band_text(band: Band) -> str:
    version = "records' row, not anchored" if band.version is None else f"version {band.version}"
    return f"{band.temp_min_c}–{band.temp_max_c} °C ({version})"


def _cold_chain(
    bundle: Mapping[str, Any],
    claims: LotClaims,
    stays: Sequence[Span],
    window: timedelta,
    lot: str,
) -> list[Check]:
    subject = f"cold chain of {lot}"
    claim = claims.cold_chain
    if claim is None or claim.state == "unavailable":
        why = "showed no temperature verdict" if claim is None else "could not read telemetry"
        return [_check(Outcome.SKIPPED, subject, f"could not check: the page {why}")]
    history = product_history(bundle, claims.gtin)
    at = band_at(history, None)
    closed = [(loc, a, b or claims.as_of) for loc, a, b in stays]
    if history is None or history.latest_anchored is None:
        return [
            _check(
                Outcome.PENDING,
                subject,
                "no anchored version of the product: the band, budget and MKT limit the "
                f"page judged against ({_band_text(_claimed_limits(claim))}) are not proven",
            )
        ]
    bands = [(loc, a, b, at(loc, a)) for loc, a, b in closed]
    hold = timedelta(minutes=claim.max_hold_min)
    sensors = SensorEvents.of(bundle)
    series = SealedSeries.of(bundle, sensors)
    found = ColdChainClaim.of(
        exposure_over(claims.gtin, claims.lot, bands, series, max_hold=hold), hold
    )
    problems = _band_problems(claim, found) + _number_problems(claim, found)
    if claim.state == "no_record" and found.state == "no_record":
        return [_check(Outcome.OK, subject, "no readings at the lot's stays, as the page says")]
    # Seals are asked of the stays the gateway read; sensor events of every stay.
    asked = asked_stays(claim, stays)
    cover = _window_status(bundle, asked, claims.as_of, window)
    late = _overdue(bundle, asked, claims.as_of, window)
    waiting = sensors.waiting(closed, hold)
    if cover.sealed or cover.open or waiting:
        # Hours the gateway should have sealed by now and did not (or whose seal is not
        # anchored), sensor events not anchored yet: pending. Hours still open when the
        # page spoke: not checkable yet.
        pending = late.sealed + late.open
        detail = (
            f"{cover.sealed + cover.open} of {cover.total} hour(s) of the lot's stays are not "
            f"covered by an anchored telemetry seal ({cover.sealed} sealed, not anchored yet; "
            f"{cover.open} open or never sealed"
            + (f"; {pending} of them past their sealing time" if pending else "")
            + (f"; {len(waiting)} sensor event(s) signed, not anchored yet" if waiting else "")
            + "): the page's verdict rests on readings no proof covers yet"
        )
        if problems:
            detail += "; so far: " + "; ".join(problems)
        if pending or waiting:
            return [_check(Outcome.PENDING, subject, detail)]
        return [_check(Outcome.SKIPPED, subject, "could not check: " + detail)]
    if problems:
        return [_check(Outcome.FAIL, subject, p) for p in problems]
    versions = ", ".join("records' row" if v is None else f"version {v}" for v in found.versions())
    left = (
        ""
        if found.budget is None
        else f", {found.budget.left_min:.0f} min of the stability budget left"
    )
    return [
        _check(
            Outcome.OK,
            subject,
            f"{found.state}: {found.minutes_out:.0f} min out of range, MKT "
            f"{_num(found.mkt_c)} °C, {len(found.excursions)} excursion(s){left}, recomputed from "
            f"{found.readings} sealed reading(s) in {cover.proven} anchored hour(s)"
            + (" of telemetry seals and anchored sensor events" if sensors.anchored else "")
            + f", judged against product {versions}",
        )
    ]


def _overdue(
    bundle: Mapping[str, Any], stays: Sequence[Span], as_of: datetime, window: timedelta
) -> Any:
    """The coverage of the hours that had ended, plus the gateway's grace, at ``as_of``."""
    step = int(window.total_seconds())
    cut = datetime.fromtimestamp(
        int((as_of - DEFAULT_CLOSE).timestamp()) // step * step, tz=as_of.tzinfo
    )
    ended = [(loc, a, min(b or as_of, cut)) for loc, a, b in stays if a < cut]
    return _window_status(bundle, ended, cut, window)


def _claimed_limits(claim: ColdChainClaim) -> Band:
    first = claim.stays[0].band if claim.stays else None
    return first or Band(temp_min_c=None, temp_max_c=None, excursion_budget_min=None,
                         mkt_limit_c=None)  # fmt: skip


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def _band_problems(claim: ColdChainClaim, found: ColdChainClaim) -> list[str]:
    problems = []
    proven = {(s.location, s.start): s.band for s in found.stays}
    for stay in claim.stays:
        want = proven.get((stay.location, stay.start))
        if want is None:
            continue  # a stop the journey check names
        if stay.band != want:
            problems.append(
                f"band at {stay.location} from {_at(stay.start)}: the page judged against "
                f"{_band_text(stay.band)}, the anchored product version valid then is "
                f"{_band_text(want)} (budget {want.excursion_budget_min} min, stability "
                f"budget {steps_text(want.stability_budget) or 'none'}, MKT limit "
                f"{want.mkt_limit_c} °C)"
            )
    return problems


def _number_problems(claim: ColdChainClaim, found: ColdChainClaim) -> list[str]:
    problems: list[str] = []
    src = "the sealed readings give"

    def differ(label: str, page: float | None, proven: float | None, tol: float, fmt: str) -> None:
        same = (page is None and proven is None) or (
            page is not None and proven is not None and abs(page - proven) <= tol
        )
        if not same:
            shown = "none" if page is None else format(page, fmt)
            got = "none" if proven is None else format(proven, fmt)
            problems.append(f"{label}: the page says {shown}, {src} {got}")

    if claim.state != found.state:
        problems.append(f"verdict: the page says {claim.state}, {src} {found.state}")
    differ("minutes out of range", claim.minutes_out, found.minutes_out, _MINUTES_TOL, ".2f")
    differ("MKT °C", claim.mkt_c, found.mkt_c, _MKT_TOL_C, ".3f")
    differ("minimum °C", claim.min_c, found.min_c, _TEMP_TOL_C, "g")
    differ("maximum °C", claim.max_c, found.max_c, _TEMP_TOL_C, "g")
    differ("excursion budget min", claim.budget_min, found.budget_min, 0.0, "g")
    differ("MKT limit °C", claim.mkt_limit_c, found.mkt_limit_c, 0.0, "g")
    problems.extend(_budget_problems(claim, found))
    if claim.readings != found.readings:
        problems.append(f"readings: the page counts {claim.readings}, {src} {found.readings}")
    if claim.probes is not None and claim.probes != found.probes:
        problems.append(
            f"probes: the page read {_probes(claim)}, the proven readings give {_probes(found)}"
        )
    page_ex = [(e.location, e.start, e.end, round(e.minutes, 2)) for e in claim.excursions]
    sealed_ex = [(e.location, e.start, e.end, round(e.minutes, 2)) for e in found.excursions]
    if page_ex != sealed_ex:
        problems.append(
            f"excursions: the page shows {_excursions(page_ex)}, {src} {_excursions(sealed_ex)}"
        )
    return problems


def _probes(claim: ColdChainClaim) -> str:
    stays = [f"{', '.join(p.devices) or 'none'} at {p.location}" for p in claim.probes or ()]
    return "; ".join(stays) or "none"


def _budget_problems(claim: ColdChainClaim, found: ColdChainClaim) -> list[str]:
    """The stability budget the page says is left, per step, against the recomputation."""
    src = "the sealed readings give"
    page, proven = claim.budget, found.budget
    if page is None or proven is None:
        if (page is None) != (proven is None):
            said = "none" if page is None else _steps_left(page)
            got = "none" if proven is None else _steps_left(proven)
            return [f"stability budget: the page says {said}, {src} {got}"]
        return []
    same = (
        len(page.steps) == len(proven.steps)
        and abs(page.beyond_min - proven.beyond_min) <= _MINUTES_TOL
        and all(
            a.step == b.step and abs(a.used_min - b.used_min) <= _MINUTES_TOL
            for a, b in zip(page.steps, proven.steps, strict=False)
        )
    )
    if not same:
        return [f"stability budget: the page says {_steps_left(page)}, {src} {_steps_left(proven)}"]
    return []


def _steps_left(use: BudgetUse) -> str:
    spent = [f"{u.used_min:.2f} min {step_words(u.step)} of {u.step.minutes:g}" for u in use.steps]
    if use.beyond_min > 0:
        spent.append(f"{use.beyond_min:.2f} min beyond every step")
    return "; ".join(spent)


def _excursions(found: Sequence[tuple[str, datetime, datetime, float]]) -> str:
    if not found:
        return "none"
    return ", ".join(f"{_at(a)}–{_at(b)} {m:g} min at {loc}" for loc, a, b, m in found)


# --- footprint -------------------------------------------------------------------------------


__all__ = ["NAME", "SealedSeries", "claim_checks"]
