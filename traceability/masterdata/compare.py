"""The records' current master data against its signed versions (pure).

Per field, one state:

* ``proven``    the records hold the value of the latest signed version, and it is anchored
* ``pending``   the records hold the value of the latest signed version, not anchored yet
* ``changed``   the records differ from the latest signed version (an edit outside
  tracehub, or a signature lost): not proven
* ``unsigned``  no signed version at all (written outside tracehub's write paths)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from traceability.masterdata.history import History, SignedVersion
from traceability.masterdata.versions import FIELDS, MasterFacts, changed_fields
from traceability.records.stability import BudgetStep, steps_text

FactState = Literal["proven", "pending", "changed", "unsigned"]


class FieldCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    records: Any  # the records' current value
    state: FactState
    signed: Any = None  # the latest signed version's value (changed: differs)
    version: int | None = None  # the latest signed version's number


class MasterComparison(BaseModel):
    """One subject (a product, a lot, a location): each field's state."""

    model_config = ConfigDict(frozen=True)

    facts: MasterFacts
    latest: SignedVersion | None
    fields: tuple[FieldCheck, ...]

    def state(self, field: str) -> FactState:
        return next(f.state for f in self.fields if f.field == field)

    @property
    def changed(self) -> tuple[FieldCheck, ...]:
        return tuple(f for f in self.fields if f.state == "changed")

    def describe_changes(self) -> str:
        """``temp_max_c: records say 25.0, signed version 3 says 8.0; …``"""
        return "; ".join(
            f"{f.field}: records say {_text(f.records)}, signed version {f.version} says "
            f"{_text(f.signed)}"
            for f in self.changed
        )


def compare(facts: MasterFacts, history: History | None) -> MasterComparison:
    latest = history.latest if history is not None else None
    if latest is None:
        checks = tuple(
            FieldCheck(field=name, records=facts.fields.get(name), state="unsigned")
            for name in FIELDS[facts.subject]
        )
        return MasterComparison(facts=facts, latest=None, fields=checks)
    differs = {name for name, *_ in changed_fields(facts, latest.version.facts)}
    same: Literal["proven", "pending"] = "proven" if latest.anchored else "pending"
    checks = tuple(
        FieldCheck(
            field=name,
            records=facts.fields.get(name),
            state="changed" if name in differs else same,
            signed=latest.version.facts.fields.get(name),
            version=latest.version.version,
        )
        for name in FIELDS[facts.subject]
    )
    return MasterComparison(facts=facts, latest=latest, fields=checks)


def _text(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        # A stability budget's steps: the text an operator types and the records hold.
        try:
            return steps_text([BudgetStep.model_validate(v) for v in value]) or "nothing"
        except ValidationError:
            return str(value)
    return str(value)
