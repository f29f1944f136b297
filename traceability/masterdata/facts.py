"""What a lot page may claim about its product, lot and places (pure over a bundle).

``lot_facts`` holds the records' current values against the signed versions the lot's
evidence bundle carries (``compare``) and answers, per field shown, whether it is
proven. A journey stop shows the place as its anchored version valid at the time of
the stay described it (a renamed cold room keeps its old name on old stays); a place
without an anchored version shows the records' name, marked not yet anchored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from traceability.masterdata.compare import FactState, MasterComparison, compare
from traceability.masterdata.history import History, histories_from_bundle
from traceability.masterdata.versions import facts_of, location_stream, stream_of
from traceability.records.catalog import LotMaster
from traceability.records.entities import Product
from traceability.records.locations import Location


class Unproven(BaseModel):
    """A fact the page shows that no anchored version backs."""

    model_config = ConfigDict(frozen=True)

    subject: str  # "product", "lot", "location"
    name: str  # what a shopper recognises: the product or place name, the lot number
    field: str
    records: Any
    signed: Any
    state: FactState


class Place(BaseModel):
    """A place as the page may show it at a moment."""

    model_config = ConfigDict(frozen=True)

    name: str | None
    kind: str | None
    country: str | None
    state: FactState


class LotFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: MasterComparison
    lot: MasterComparison | None
    locations: Mapping[str, MasterComparison]
    histories: Mapping[str, History]

    def state(self, subject: str, field: str) -> FactState:
        """The state of a product or lot field (``unsigned`` when it is unknown)."""
        found = self.product if subject == "product" else self.lot
        return "unsigned" if found is None else found.state(field)

    def proven(self, subject: str, *fields: str) -> bool:
        return all(self.state(subject, f) == "proven" for f in fields)

    def place_at(self, urn: str, moment: datetime) -> Place | None:
        """The place at ``urn`` as shown for a stay beginning at ``moment``; None when the
        records do not describe it."""
        history = self.histories.get(location_stream(urn))
        anchored = history.anchored_at(moment) if history is not None else None
        current = self.locations.get(urn)
        if anchored is not None:
            fields = anchored.version.facts.fields
            # The version valid then is proven; the records' own (later) state is
            # reported in ``unproven`` when it differs from what the site signed.
            return Place(
                name=fields.get("name"),
                kind=fields.get("kind"),
                country=fields.get("country"),
                state="proven",
            )
        if current is None:
            return None
        worst = _worst([current.state(f) for f in ("name", "kind", "country")])
        return Place(
            name=current.facts.fields.get("name"),
            kind=current.facts.fields.get("kind"),
            country=current.facts.fields.get("country"),
            state=worst,
        )

    def unproven(self) -> tuple[Unproven, ...]:
        """Every field whose records value no anchored version backs (each feeds what
        the page says: the band and budget its verdict, the serials its unit pages,
        coordinates and country its footprint)."""
        found: list[Unproven] = []
        subjects: list[tuple[str, MasterComparison | None]] = [
            ("product", self.product),
            ("lot", self.lot),
            *(("location", c) for c in self.locations.values()),
        ]
        for subject, item in subjects:
            if item is None:
                continue
            name = str(item.facts.fields.get("name") or item.facts.key.rsplit("/", 1)[-1])
            for check in item.fields:
                if check.state != "proven":
                    found.append(
                        Unproven(
                            subject=subject,
                            name=name,
                            field=check.field,
                            records=check.records,
                            signed=check.signed,
                            state=check.state,
                        )
                    )
        return tuple(found)


def lot_facts(
    bundle: Any,
    product: Product,
    lot: LotMaster | None,
    locations: Mapping[str, Location],
) -> LotFacts:
    """The page's facts: ``locations`` are the records' places of the lot's journey."""
    histories = histories_from_bundle(bundle) if bundle is not None else {}

    def compared(value: Product | LotMaster | Location) -> MasterComparison:
        facts = facts_of(value)
        return compare(facts, histories.get(stream_of(facts.subject, facts.key)))

    return LotFacts(
        product=compared(product),
        lot=compared(lot) if lot is not None else None,
        locations={urn: compared(loc) for urn, loc in locations.items()},
        histories=histories,
    )


_ORDER: tuple[FactState, ...] = ("proven", "pending", "unsigned", "changed")


def _worst(states: list[FactState]) -> FactState:
    return max(states, key=_ORDER.index) if states else "unsigned"
