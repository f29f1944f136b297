"""Master-data checks of a lot: the records' product, lot and places against the
versions the site signed (``traceability.masterdata``).

The lot depends on its product, its own master record and every location of its
journey; their streams (``master_streams``) travel in the lot's evidence bundle, so an
auditor with only the bundle reads every version. ``master_checks`` holds what the
records say now against each stream's latest signed version: a differing field FAILS
naming the field and both values, a version signed but not anchored is PENDING, and
master data with no signed version at all (written outside tracehub) FAILS.
"""

from __future__ import annotations

from typing import Any

from ledger.verify.report import Check, Outcome
from traceability.custody import CustodyService
from traceability.masterdata.compare import MasterComparison, compare
from traceability.masterdata.history import histories_from_bundle
from traceability.masterdata.versions import (
    MasterFacts,
    facts_of,
    location_stream,
    lot_master_stream,
    product_stream,
    stream_of,
)
from traceability.records.store import RecordStore

CHECK = "master data"


def journey_locations(store: RecordStore, gtin14: str, lot: str) -> list[str]:
    """The locations of the lot's journey (its custody timeline), sorted."""
    return sorted(CustodyService(store).lot_timeline(gtin14, lot).locations())


def master_streams(store: RecordStore, gtin14: str, lot: str) -> list[str]:
    """The master-data streams a lot depends on: product, lot, journey locations."""
    return [
        product_stream(gtin14),
        lot_master_stream(gtin14, lot),
        *(location_stream(urn) for urn in journey_locations(store, gtin14, lot)),
    ]


def lot_comparisons(
    store: RecordStore, bundle: Any, gtin14: str, lot: str
) -> tuple[list[MasterComparison], list[Check]]:
    """Each master subject the lot depends on, compared; and the checks for subjects
    the records lack."""
    histories = histories_from_bundle(bundle)
    found: list[MasterComparison] = []
    missing: list[Check] = []
    subjects: list[tuple[str, str, Any]] = [
        ("product", gtin14, store.get_product(gtin14)),
        ("lot", f"{gtin14}/{lot}", store.lot_master(gtin14, lot)),
        *(
            ("location", urn, store.get_location(urn))
            for urn in journey_locations(store, gtin14, lot)
        ),
    ]
    for subject, key, value in subjects:
        history = histories.get(stream_of(subject, key))  # type: ignore[arg-type]
        if value is None:
            latest = history.latest if history is not None else None
            if latest is not None:
                missing.append(
                    _check(
                        Outcome.FAIL,
                        f"{subject} {key}",
                        f"the records lack it; signed version {latest.version.version} "
                        f"describes it ({_summary(latest.version.facts)})",
                    )
                )
            elif subject != "location":
                missing.append(_check(Outcome.FAIL, f"{subject} {key}", "the records lack it"))
            continue
        found.append(compare(facts_of(value), history))
    return found, missing


def master_checks(store: RecordStore, bundle: Any, gtin14: str, lot: str) -> list[Check]:
    comparisons, checks = lot_comparisons(store, bundle, gtin14, lot)
    for item in comparisons:
        checks.append(comparison_check(item))
    return checks


def comparison_check(item: MasterComparison) -> Check:
    who = item.facts.label
    latest = item.latest
    if latest is None:
        return _check(
            Outcome.FAIL,
            who,
            "no signed version: written outside tracehub's write paths, nothing proves "
            f"it ({_summary(item.facts)})",
        )
    if item.changed:
        return _check(Outcome.FAIL, who, f"{who} {item.describe_changes()}")
    number = latest.version.version
    if not latest.anchored:
        return _check(Outcome.PENDING, who, f"matches signed version {number}; not yet anchored")
    assert latest.anchored_at is not None
    return _check(
        Outcome.OK,
        who,
        f"matches signed version {number}, anchored {latest.anchored_at.isoformat()}",
    )


def _check(outcome: Outcome, subject: str, detail: str) -> Check:
    return Check(name=CHECK, outcome=outcome, subject=subject, detail=detail)


def _summary(facts: MasterFacts) -> str:
    shown = [f"{k}={v}" for k, v in facts.fields.items() if v is not None and k != "serials"]
    return ", ".join(shown) or "no fields"
