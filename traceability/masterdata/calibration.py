"""Probe calibration records as signed master data (issue #20): ``ProbeCalibrations``
writes a certificate to the records, records an audit entry and signs it into the
ledger, as ``MasterData`` does for products, lots and places (same order, same crash
window: records first, audit second, ledger third; the same write again repairs).

A calibration record (ledger kind ``probe-calibration``)::

    format              "tracehub-calibration/1"
    probe … certificate_sha256   every field of ``traceability.calibration.record``
                        (dates as ISO text, null when not given)

It is chained into two streams: the probe's (``probe-calibration:{probe}``, its history)
and ``probe-calibrations`` (every record of the site, so a row deleted from the records,
even a probe's last one, is still found). Its record id is
``probe-calibration:{probe}#{certificate number}``: certificates are not versioned, a
correction is a new certificate, and re-signing the same one is a no-op.

``calibration_checks`` is the verifier's path (pure, the same outcomes as
``traceability.anchoring.mastercheck`` gives master data): each records row against the
signed record of its certificate — OK when it matches an anchored one, PENDING when
signed but not anchored yet, FAIL naming each differing field and both values (an edit
in the database after signing), FAIL when no signature backs a row, or a signed record
has no row. ``tracehub calibration verify`` prints them.

The audit action is ``master.calibration.create``: a console user needs their electronic
signature for it, as for every master-data change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ledger.batch import BatchStatus, Submission
from ledger.digest import sha256
from ledger.entry import record_digest
from ledger.errors import LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from ledger.verify.report import Check, Outcome
from traceability.audit.entry import AuditSubject
from traceability.audit.port import SYSTEM_ACTOR, AuditLog, Authorship, check_authorship
from traceability.calibration.errors import CalibrationRejected
from traceability.calibration.record import FIELDS, Calibration, refuse_future
from traceability.calibration.status import AttestedCalibration, describe, stay_calibration
from traceability.errors import RecordConflict, StoreUnavailable
from traceability.records.store import RecordStore

KIND = "probe-calibration"
FORMAT = "tracehub-calibration/1"
ACTION = "master.calibration.create"
ALL_STREAM = "probe-calibrations"
CHECK = "calibration"
_MAX_NAME = 200  # a ledger stream name and record id are at most 200 characters


def calibration_stream(probe: str) -> str:
    name = f"{KIND}:{probe}"
    return name if len(name) <= _MAX_NAME else f"{KIND}:sha256:" + sha256(probe.encode()).hex()


def calibration_record_id(record: Calibration) -> str:
    name = f"{calibration_stream(record.probe)}#{record.certificate_number}"
    if len(name) <= _MAX_NAME:
        return name
    return f"{KIND}:sha256:" + sha256(f"{record.probe}#{record.certificate_number}".encode()).hex()


def signed_record(record: Calibration) -> dict[str, Any]:
    return {"format": FORMAT, **record.record()}


class SignedCalibration(BaseModel):
    """A calibration record the site signed, when (its entry's signing time) and when its
    batch was anchored."""

    model_config = ConfigDict(frozen=True)

    calibration: Calibration
    record_id: str
    anchored_at: datetime | None = None
    recorded_at: datetime | None = None

    @property
    def anchored(self) -> bool:
        return self.anchored_at is not None

    def attested(self) -> AttestedCalibration:
        """The record with what backs it, for the statements of a stay (``describe``)."""
        return AttestedCalibration(
            **self.calibration.model_dump(),
            recorded_at=self.recorded_at or datetime.max.replace(tzinfo=UTC),
            anchored_at=self.anchored_at,
        )


def signed_calibrations(ledger: LedgerStore, stream: str = ALL_STREAM) -> list[SignedCalibration]:
    """The signed calibration records of a stream (default: the site's), whose kept
    record is the one their entry signed; others are left out (``calibration_checks``
    then names the row no signature backs)."""
    found = []
    for stored in ledger.stream(stream):
        entry = stored.entry
        if entry.kind != KIND:
            continue
        kept = ledger.kept_record(KIND, entry.record_id)
        try:
            if kept is None or record_digest(kept) != entry.record_digest:
                continue
            calibration = parse_record(kept)
        except (LedgerError, ValueError):
            continue
        at = None
        if stored.batch_id is not None:
            batch = ledger.batch(stored.batch_id)
            if batch is not None and batch.status in (BatchStatus.INCLUDED, BatchStatus.CONFIRMED):
                at = batch.block_time
        found.append(
            SignedCalibration(
                calibration=calibration, record_id=entry.record_id, anchored_at=at,
                recorded_at=entry.signature.signed_at,
            )
        )  # fmt: skip
    return found


def parse_record(record: Any) -> Calibration:
    """A signed record, parsed; ``ValueError`` naming what is wrong."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} record")
    try:
        return Calibration.model_validate({k: record.get(k) for k in FIELDS})
    except ValidationError as exc:
        raise ValueError(f"{FORMAT} record: {exc.errors()[0]['msg']}") from exc


def calibration_checks(
    rows: Iterable[Calibration], signed: Iterable[SignedCalibration]
) -> list[Check]:
    """Each records row against its signed record, and each signed record the records
    lack (module docstring), by probe and certificate."""
    by_id: Mapping[str, SignedCalibration] = {s.record_id: s for s in signed}
    checks: list[Check] = []
    seen: set[str] = set()
    for row in rows:
        rid = calibration_record_id(row)
        seen.add(rid)
        checks.append(_row_check(row, by_id.get(rid), rid))
    for rid, item in by_id.items():
        if rid not in seen:
            checks.append(
                _check(Outcome.FAIL, item.calibration, "the records lack it; the site signed "
                       f"it (due {item.calibration.due_on})", rid)
            )  # fmt: skip
    return sorted(checks, key=lambda c: (c.subject, c.record_id or ""))


def _row_check(row: Calibration, signed: SignedCalibration | None, rid: str) -> Check:
    if signed is None:
        return _check(
            Outcome.FAIL, row, "no signed record: written outside tracehub, nothing proves it", rid
        )
    ours, theirs = row.record(), signed.calibration.record()
    changed = [
        f"{k}: records say {ours[k]}, signed record says {theirs[k]}"
        for k in FIELDS
        if ours[k] != theirs[k]
    ]
    if changed:
        return _check(Outcome.FAIL, row, "; ".join(changed), rid)
    if signed.anchored_at is None:
        return _check(Outcome.PENDING, row, "matches the signed record; not yet anchored", rid)
    return _check(
        Outcome.OK,
        row,
        f"matches the signed record, anchored {signed.anchored_at.isoformat()}",
        rid,
    )


def _check(outcome: Outcome, record: Calibration, detail: str, rid: str) -> Check:
    subject = f"probe {record.probe} certificate {record.certificate_number}"
    return Check(name=CHECK, outcome=outcome, subject=subject, detail=detail, record_id=rid)


class SignedCalibrationSource:
    """The site's signed calibration records, read from the ledger (never the editable
    rows): ``source(probes)`` for the exposure and the lot page, ``describe`` for the
    temperature report (``web.report.build.CalibrationSource``). Each record carries
    when it was signed and anchored, so a stay calibrated by a record not yet anchored,
    or signed after the stay, says so (``traceability.calibration.status``)."""

    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger

    def __call__(self, probes: Sequence[str]) -> list[Calibration]:
        return [
            s.attested()
            for probe in sorted(set(probes))
            for s in signed_calibrations(self._ledger, calibration_stream(probe))
        ]

    def describe(self, device: str, start: datetime, end: datetime) -> str:
        found = stay_calibration(device, self([device]), start, end)
        return describe(found).removeprefix(f"probe {device} ")


class ProbeCalibrations:
    """Writes calibration records to the records, audits and signs each new one."""

    def __init__(
        self,
        store: RecordStore,
        ledger: LedgerStore,
        signer: Signer,
        clock: Callable[[], datetime] | None = None,
        renew: Callable[[], Signer] | None = None,
        audit: AuditLog | None = None,
        author: Authorship | None = None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._submitter = RecordSubmitter(ledger, signer, self._clock, renew=renew)
        self._audit = audit
        self._author = author or Authorship(actor=SYSTEM_ACTOR)
        check_authorship(self._author, ACTION)

    def acting(self, author: Authorship) -> ProbeCalibrations:
        """This writer with its writes by ``author`` (``AuditRefused`` at once when the
        trail would refuse them: a console user without their signature)."""
        check_authorship(author, ACTION)
        bound = copy.copy(self)
        bound._author = author
        return bound

    @property
    def store(self) -> RecordStore:
        return self._store

    def add(self, records: Sequence[Calibration]) -> list[Calibration]:
        """Write ``records`` (one transaction: all or none), then audit and sign those no
        signature backs yet; the records that were new to the ledger. A calibration dated
        after today is refused (``CalibrationRejected``), nothing written."""
        now = self._clock()
        for record in records:
            if (why := refuse_future(record, now)) is not None:
                raise CalibrationRejected(f"probe {record.probe}: {why}")
        self._store.add_calibrations(records)
        try:
            known, _ = self._ledger.readable_entries(
                KIND, [calibration_record_id(r) for r in records]
            )
        except LedgerStoreUnavailable as exc:
            raise StoreUnavailable(f"reading the ledger: {exc}; retry") from exc
        fresh = [r for r in dict.fromkeys(records) if calibration_record_id(r) not in known]
        if not fresh:
            return []
        if self._audit is not None:
            self._audit.record_many([
                self._author.change(
                    ACTION,
                    AuditSubject(kind="calibration", key=f"{r.probe}#{r.certificate_number}"),
                    None,
                    r.record(),
                )
                for r in fresh
            ])  # fmt: skip
        items = [
            Submission(
                kind=KIND,
                record_id=calibration_record_id(r),
                record=signed_record(r),
                streams=(calibration_stream(r.probe), ALL_STREAM),
                keep_record=True,
            )
            for r in fresh
        ]
        try:
            self._submitter.submit_many(items, now)
        except LedgerStoreUnavailable as exc:
            raise StoreUnavailable(f"signing {items[0].record_id}: {exc}; retry") from exc
        except LedgerError as exc:
            raise RecordConflict(f"signing {items[0].record_id}: {exc}") from exc
        return fresh

    def signed(self, probes: Sequence[str] | None = None) -> list[Calibration]:
        """The signed records (of ``probes``): what pages and exposures may state."""
        wanted = None if probes is None else set(probes)
        return [
            s.calibration
            for s in signed_calibrations(self._ledger)
            if wanted is None or s.calibration.probe in wanted
        ]

    def checks(self) -> list[Check]:
        """Every row against its signed record (``calibration_checks``)."""
        return calibration_checks(self._store.calibrations(), signed_calibrations(self._ledger))
