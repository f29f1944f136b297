"""The page's claims in a lot's bundle, recomputed from the proven inputs and tampered.

Real components (as ``test_telemetrycheck``): the gateway's pipeline and sealer on a real
spool, InfluxDB, records and ledger in SQLite, anchors on the embedded EVM; the product
and lot signed as master data. The page's numbers go into the bundle the way the page
computes them (``PageClaims``), then an operator edits them, with and without re-signing.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.evidence import sign_bundle
from ledger.signing import Signer
from ledger.verify.report import Check, Outcome
from ledger.verify.verifier import verify_bundle
from tests.support.events import GTIN
from tests.support.masterdata import sign_master
from tests.traceability.anchoring.test_telemetrycheck import T0, Site, message, site
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.claimcheck import claim_checks
from traceability.anchoring.claims import PageClaims
from traceability.carbon.ledgerreport import publish_report
from traceability.carbon.lotfootprint import LedgerFootprint
from traceability.coldchain.budget import budget_left
from traceability.coldchain.exposure import Band, Bucket, Exposure, exposure_over
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.custody import CustodyService

pytestmark = pytest.mark.integration
__all__ = ["site"]  # the fixture, shared with the telemetry checks

AS_OF = T0 + timedelta(hours=3)  # hours 10–12 sealed and anchored; the stay ends here
SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))


def report(total: float = 12.5) -> dict[str, Any]:
    """A lot carbon report as ``carbon.report.lot_report`` shapes it (the parts read)."""
    items = [{"kind": "leg", "kgCO2e": f"{total - 2.5:g}"}, {"kind": "hub", "kgCO2e": "2.5"}]
    data = {
        "totalKgCO2e": f"{total:g}",
        "perUnitKgCO2e": f"{total / 10:g}",
        "perKgKgCO2e": "0.5",
        "units": 10,
        "items": items,
        "standard": "ISO 14083:2023; GLEC Framework v3.0",
    }
    return {"id": "urn:uuid:" + str(uuid.uuid4()), "created": "x", "extensions": [{"data": data}]}


def honest(site: Site, as_of: datetime = AS_OF) -> dict[str, Any]:
    """Readings at 3 °C with 15 minutes at 5 °C (above the 0–4 °C band), sealed and
    anchored with the product's signed version and a carbon report; the signed bundle
    with the page's claims."""
    site.receive(
        *(message(m, T0 + timedelta(minutes=m), 5.0 if 30 <= m < 45 else 3.0) for m in range(190))
    )
    sign_master(site.store, site.ledger, SIGNER)
    publish_report(site.ledger, SIGNER, GTIN, "L1", report())
    site.seal_and_anchor()
    return bundle_of(site, as_of)


def bundle_of(site: Site, as_of: datetime) -> dict[str, Any]:
    from traceability.coldchain.exposure import ExposureService

    exposure = ExposureService(site.store, site.reader, now=as_of)
    claims = PageClaims(site.store, exposure, LedgerFootprint(site.ledger), as_of)
    return lot_bundle(site.store, site.ledger, GTIN, "L1", SIGNER, as_of, claims=claims)


def checks(site: Site, bundle: dict[str, Any]) -> dict[str, list[Check]]:
    spans = [
        (loc, start, end)
        for loc, runs in CustodyService(site.store).lot_timeline(GTIN, "L1").locations().items()
        for start, end in runs
    ]
    found: dict[str, list[Check]] = {}
    for check in claim_checks(bundle, stays=spans):
        found.setdefault(check.subject.split(" of ")[0], []).append(check)
    return found


def test_an_honest_lot_recomputes_every_number_the_page_states(site: Site) -> None:
    bundle = honest(site)
    stated = bundle["claims"]["cold_chain"]
    assert (stated["state"], stated["minutes_out"], len(stated["excursions"])) == (
        "compromised",
        15.0,
        1,
    )
    assert stated["stays"][0]["band"]["version"] == 1  # the anchored version, named
    found = checks(site, bundle)
    assert [c.outcome for c in found["cold chain"]] == [Outcome.OK]
    assert "15 min out of range" in found["cold chain"][0].detail
    assert "product version 1" in found["cold chain"][0].detail
    assert found["journey"][0].outcome is Outcome.OK
    assert found["footprint"][0].outcome is Outcome.OK
    assert verify_bundle(bundle, None, None).failures == ()  # manifest covers the claims


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("cold_chain", "minutes_out"), 0.0, "minutes out of range: the page says 0.00, "
         "the sealed readings give 15.00"),
        (("cold_chain", "mkt_c"), 2.0, "MKT °C: the page says 2.000"),
        (("cold_chain", "state"), "ok", "verdict: the page says ok, the sealed readings give "
         "compromised"),
        (("cold_chain", "excursions"), [], "excursions: the page shows none"),
        (("footprint", "total_kg"), 1.0, "total: the page says 1 kg CO2e, the 2 line items"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("resigned", [False, True])
def test_an_edited_claim_fails_naming_the_number(
    site: Site, path: tuple[str, str], value: Any, named: str, resigned: bool
) -> None:
    bundle = copy.deepcopy(honest(site))
    bundle["claims"][path[0]][path[1]] = value
    if resigned:  # the site's own key re-signs the edited bundle: the manifest holds
        sign_bundle(bundle, SIGNER, AS_OF)
    manifest = [c for c in verify_bundle(bundle, None, None).checks if c.name == "bundle signature"]
    if resigned:
        assert manifest[0].outcome is Outcome.OK
    else:
        assert manifest[0].outcome is Outcome.FAIL
        assert "changed after export: claims" in manifest[0].detail
    failed = [c.detail for c in claim_checks(bundle) if c.outcome is Outcome.FAIL]
    assert any(named in detail for detail in failed), failed


def test_a_band_widened_in_sql_does_not_change_the_verdict(site: Site) -> None:
    honest(site)
    with site.store._engine.begin() as conn:  # an operator's SQL console
        conn.execute(sa.text("UPDATE products SET temp_max_c = 25"))
    bundle = bundle_of(site, AS_OF)
    stated = bundle["claims"]["cold_chain"]
    assert (stated["state"], stated["minutes_out"]) == ("compromised", 15.0)  # version 1
    assert [c.outcome for c in checks(site, bundle)["cold chain"]] == [Outcome.OK]


def test_a_claim_over_an_open_window_could_not_be_checked(site: Site) -> None:
    bundle = honest(site, as_of=T0 + timedelta(hours=3, minutes=10))  # 13:00 still open
    found = checks(site, bundle)["cold chain"]
    assert [c.outcome for c in found] == [Outcome.SKIPPED]
    assert "1 of 4 hour(s) of the lot's stays are not covered" in found[0].detail


def test_a_claim_over_windows_sealed_but_not_anchored_is_pending(site: Site) -> None:
    site.receive(*(message(m, T0 + timedelta(minutes=m)) for m in range(190)))
    sign_master(site.store, site.ledger, SIGNER)
    site.seal_and_anchor()  # the product's version and hours 10–12 anchored
    site.clock[0] = int((T0 + timedelta(minutes=230)).timestamp()) * 10**9  # live, not ahead
    site.receive(*(message(m, T0 + timedelta(minutes=m)) for m in range(190, 230)))
    site.clock[0] += 2 * 3_600 * 10**9
    assert site.sealer.seal_due() == 1  # hour 13 sealed, its seal not anchored
    site.feeder.sync()
    bundle = bundle_of(site, T0 + timedelta(hours=4, minutes=30))
    found = checks(site, bundle)["cold chain"]
    assert [c.outcome for c in found] == [Outcome.PENDING]
    assert "(1 sealed, not anchored yet; 1 open or never sealed; 1 of them past" in found[0].detail


def test_an_unsigned_claim_the_page_did_not_make_is_refused(site: Site) -> None:
    bundle = copy.deepcopy(honest(site))
    del bundle["claims"]
    found = claim_checks(bundle)
    assert [c.outcome for c in found] == [Outcome.SKIPPED]
    manifest = [c for c in verify_bundle(bundle, None, None).checks if c.name == "bundle signature"]
    assert manifest[0].outcome is Outcome.FAIL  # the signed digests name a claims section


class Readings:
    """An in-memory series: one reading every ten minutes per location."""

    def __init__(self, celsius: dict[str, list[float]]) -> None:
        self.celsius = celsius

    def buckets(
        self, location: str, start: datetime, end: datetime, low: float | None,
        high: float | None, width: timedelta,
    ) -> list[Bucket]:  # fmt: skip
        from traceability.coldchain.exposure import raw_buckets

        points = [
            (int((start + i * width).timestamp()) * 10**9, c)
            for i, c in enumerate(self.celsius[location])
        ]
        return raw_buckets(points, width, low, high)

    def probes(
        self, location: str, start: datetime, end: datetime, low: float | None,
        high: float | None, max_hold: timedelta,
    ) -> list[ProbeSeries]:  # fmt: skip
        step = 600 * 10**9
        first = int(start.timestamp()) * 10**9
        points = [(None, first + i * step, c) for i, c in enumerate(self.celsius[location])]
        return points_series(points, start, end, max_hold)


def test_a_band_changed_by_an_honest_version_mid_journey_is_applied_per_stay() -> None:
    v1 = Band(temp_min_c=2.0, temp_max_c=8.0, excursion_budget_min=60.0, mkt_limit_c=None,
              version=1)  # fmt: skip
    v2 = Band(temp_min_c=2.0, temp_max_c=6.0, excursion_budget_min=30.0, mkt_limit_c=None,
              version=2)  # fmt: skip
    t0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    series = Readings({"a": [7.0] * 6, "b": [7.0] * 6})  # 7 °C: in v1's band, not in v2's
    found = exposure_over(
        GTIN, "L1", [("a", t0, t1, v1), ("b", t1, t1 + timedelta(hours=1), v2)], series
    )
    assert found.minutes_out_of_range == 60.0  # only the stay under version 2
    assert [s.band.version for s in found.stays] == [1, 2]
    assert found.limits is not None
    assert found.limits.excursion_budget_min == 30.0  # the strictest of the stays'
    assert found.status == "compromised"


def test_versions_with_different_step_budgets_are_each_charged_and_the_worst_kept() -> None:
    # 60 min at 7 °C, above both versions' band: v1 allows 90 min up to 25 °C (30 left),
    # v2 only 70 min up to 25 °C (10 left): the journey is judged by v2's budget.
    v1 = Band(temp_min_c=2.0, temp_max_c=6.0, excursion_budget_min=None, mkt_limit_c=None,
              version=1, stability_budget="above:25:90")  # fmt: skip
    v2 = Band.model_validate({**v1.model_dump(), "version": 2, "stability_budget": "above:25:70"})
    t0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    series = Readings({"a": [7.0] * 3, "b": [7.0] * 3})

    def journey(first: Band, second: Band) -> Exposure:
        half = timedelta(minutes=30)
        stays = [("a", t0, t0 + half, first), ("b", t1, t1 + half, second)]
        return exposure_over(GTIN, "L1", stays, series)

    found = journey(v1, v2)
    assert found.minutes_out_of_range == 60.0
    assert found.budget is not None
    assert [(u.step.minutes, u.used_min, u.left_min) for u in found.budget.steps] == [
        (70.0, 60.0, 10.0)
    ]
    assert (found.status, found.reasons) == ("at_risk", ("60 min at ≤ 25 °C of 70 allowed",))
    assert budget_left(found) == 10.0
    # A version without any budget allows no time at all: the lot is compromised.
    worst = journey(v1, v1.model_copy(update={"stability_budget": None, "version": 3}))
    assert (worst.status, worst.reasons) == (
        "compromised",
        ("60 min out of range: no time allowed",),
    )
    assert budget_left(worst) == 0.0


def budgeted(site: Site, steps: str = "above:6:20") -> dict[str, Any]:
    """``honest`` with the product's stability budget signed: 15 min at 5 °C spend 15 of
    the 20 allowed up to 6 °C."""
    site.store.update_product(GTIN, stability_budget=steps, excursion_budget_min=None)
    return honest(site)


def test_the_stability_budget_left_is_claimed_and_recomputed_from_the_signed_version(
    site: Site,
) -> None:
    bundle = budgeted(site)
    stated = bundle["claims"]["cold_chain"]
    assert stated["state"] == "at_risk"
    assert stated["stays"][0]["band"]["stability_budget"] == [
        {"side": "above", "limit_c": 6.0, "minutes": 20.0}
    ]
    assert (stated["budget"]["left_min"], stated["budget"]["share_left"]) == (5.0, 0.25)
    (found,) = checks(site, bundle)["cold chain"]
    assert found.outcome is Outcome.OK
    assert "5 min of the stability budget left" in found.detail
    # The steps edited in SQL: the page still judges by the signed version.
    with site.store._engine.begin() as conn:
        conn.execute(sa.text("UPDATE products SET stability_budget = 'above:6:600'"))
    again = bundle_of(site, AS_OF)["claims"]["cold_chain"]
    assert (again["state"], again["budget"]["left_min"]) == ("at_risk", 5.0)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda c: c["budget"]["steps"][0].update(used_min=0.0, left_min=20.0),
         "stability budget: the page says 0.00 min at ≤ 6 °C of 20, the sealed readings give "
         "15.00 min at ≤ 6 °C of 20"),
        (lambda c: c.update(budget=None), "stability budget: the page says none"),
        (lambda c: c["stays"][0]["band"].update(stability_budget=[
            {"side": "above", "limit_c": 6.0, "minutes": 600.0}]), "stability budget above:6:20"),
    ],
)  # fmt: skip
def test_an_edited_budget_claim_fails_naming_the_budget(site: Site, edit: Any, named: str) -> None:
    bundle = copy.deepcopy(budgeted(site))
    edit(bundle["claims"]["cold_chain"])
    sign_bundle(bundle, SIGNER, AS_OF)  # re-signed by the site's key: only the numbers tell
    failed = [c.detail for c in claim_checks(bundle) if c.outcome is Outcome.FAIL]
    assert any(named in detail for detail in failed), failed
