"""A verification report: one ``Check`` per fact, and the verdict they add up to.

Outcomes, strongest first (the verdict is the strongest outcome of any check):

* ``fail``        the evidence contradicts itself or the chain → TAMPERED
* ``other chain`` the chain asked is not the one the batch was anchored on (another
                  genesis or chain id, or no anchor contract there: the chain was reset
                  or replaced) → OTHER_CHAIN; says nothing about the records either way
* ``unreachable`` the chain could not be asked → CHAIN_UNREACHABLE
* ``pending``     an item is not in an anchored batch yet → NOT_ANCHORED
* ``skipped``     could not be checked (offline; no signed manifest) — listed, not a failure
* ``ok``

When every check passes, two things still stand between the report and VERIFIED:

* no trust anchor was given (``Report.trust`` is None): the bundle's own keys signed
  it, and anybody can make such a bundle → NOT_ATTRIBUTED ("self-consistent, not
  attributed");
* offline: the roots were not looked up on chain → ANCHORS_NOT_CHECKED (signed by a
  trusted key, the anchors only as the bundle states them).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Outcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    PENDING = "pending"
    UNREACHABLE = "unreachable"
    OTHER_CHAIN = "other chain"
    FAIL = "fail"


class Verdict(IntEnum):
    """The verdict; its value is the exit code of ``tracehub verify``."""

    VERIFIED = 0
    TAMPERED = 1
    NOT_ANCHORED = 3
    CHAIN_UNREACHABLE = 4
    OTHER_CHAIN = 5
    NOT_ATTRIBUTED = 6
    ANCHORS_NOT_CHECKED = 7


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    outcome: Outcome
    subject: str
    detail: str
    record_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.SKIPPED)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: dict[str, Any]
    online: bool
    checks: tuple[Check, ...]
    trust: str | None = None  # the trust anchors the signatures were judged by

    @property
    def verdict(self) -> Verdict:
        outcomes = {c.outcome for c in self.checks}
        if Outcome.FAIL in outcomes or not self.checks:
            return Verdict.TAMPERED
        if Outcome.OTHER_CHAIN in outcomes:
            return Verdict.OTHER_CHAIN
        if Outcome.UNREACHABLE in outcomes:
            return Verdict.CHAIN_UNREACHABLE
        if Outcome.PENDING in outcomes:
            return Verdict.NOT_ANCHORED
        if self.trust is None:
            return Verdict.NOT_ATTRIBUTED
        if not self.online:
            return Verdict.ANCHORS_NOT_CHECKED
        return Verdict.VERIFIED

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    @property
    def not_checked(self) -> tuple[Check, ...]:
        """What could not be checked (offline, unsigned): said, never silently passed."""
        return tuple(c for c in self.checks if c.outcome is Outcome.SKIPPED)


def ok(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.OK, subject=subject, detail=detail)


def fail(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.FAIL, subject=subject, detail=detail)


def pending(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.PENDING, subject=subject, detail=detail)


def skipped(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.SKIPPED, subject=subject, detail=detail)


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else empty: a malformed section checks as absent."""
    return value if isinstance(value, list) else []
