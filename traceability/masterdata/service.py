"""``MasterData``: tracehub's one write path for products, lots and locations.

Each write goes to the records store, which hands the values exactly as it commits
them (a lot with all its serials) to a ``before_commit`` callback; once the SQL has
committed, each value that differs from its stream's latest signed version becomes a
new version, signed by the site and kept by the ledger. Writing the identical value
again signs nothing.

Order and crash window: records first, ledger second. A crash or a refused signature
(ledger down, key rotated out) between the two leaves a records value no signature
backs: ``tracehub verify`` FAILS naming the field and both values, the lot page says
"changed since anchoring: not proven", and the write raises to its caller. The same
write again repairs it (the SQL is a no-op, the version is signed). Never the other
way round: a version signed first and then refused by the records would be a signed
statement the records never held, in the permanent audit trail; and records and
ledger share one SQLite file by default, so signing inside the records transaction
would wait on its own write lock.

A value the records already hold without a signed version (a database from before
versioning) is signed as version 1 when written again through here; there is no job
that signs whatever the table holds, which would sign a hand edit.

With an audit trail (``audit``), each new version is also an audit entry
(``master.{product,lot,location}.{create,update}``: the previous signed version's fields
before, the new ones after) by the bound ``author`` (``acting``: a console user, a
command's OS user; the hub itself when none), recorded once the records committed and
before the versions are signed: a signing that fails leaves the entry (the change is in
the records), and the same write again records it again with its version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from ledger.batch import Submission
from ledger.errors import LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from traceability.audit.entry import AuditChange, AuditSubject
from traceability.audit.port import SYSTEM_ACTOR, AuditLog, Authorship, check_authorship
from traceability.errors import RecordConflict, StoreUnavailable
from traceability.masterdata.history import SignedVersion, history_from_ledger
from traceability.masterdata.versions import (
    KINDS,
    MasterFacts,
    MasterValue,
    MasterVersion,
    changed_fields,
    facts_of,
    record_id,
)
from traceability.records.entities import Lot, Product
from traceability.records.locations import Location
from traceability.records.rows import LotRow, ProductRow
from traceability.records.store import RecordStore


class MasterData:
    """Writes master data to the records and signs each new version into the ledger."""

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
        """``renew`` loads the site's current key when the ledger refuses the one held;
        ``audit`` records each new version as by ``author`` (default: the hub itself)."""
        self._store = store
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._submitter = RecordSubmitter(ledger, signer, self._clock, renew=renew)
        self._audit = audit
        self._author = author or Authorship(actor=SYSTEM_ACTOR)
        check_authorship(self._author, "master.product.update")

    def acting(self, author: Authorship) -> MasterData:
        """This writer with its writes by ``author`` (``AuditRefused`` before any write
        when the trail would refuse them: a console user without their signature)."""
        check_authorship(author, "master.product.update")
        bound = copy.copy(self)
        bound._author = author
        return bound

    @property
    def store(self) -> RecordStore:
        return self._store

    # products ---------------------------------------------------------------------

    def add_product(self, gtin: str, name: str, **fields: Any) -> Product:
        with self._signing() as written:
            return self._store.add_product(gtin, name, before_commit=written, **fields)

    def update_product(self, gtin: str, **changes: Any) -> Product:
        with self._signing() as written:
            return self._store.update_product(gtin, before_commit=written, **changes)

    def import_products(self, rows: Sequence[ProductRow]) -> None:
        with self._signing() as written:
            self._store.import_products(rows, before_commit=written)

    # lots -------------------------------------------------------------------------

    def add_lot(
        self,
        gtin: str,
        lot: str,
        *,
        expiry: date | None = None,
        origin: str | None = None,
        quantity: int | None = None,
        serials: Sequence[str | int] | range = (),
        production_date: date | None = None,
        gross_kg: float | None = None,
    ) -> Lot:
        with self._signing() as written:
            return self._store.add_lot(
                gtin,
                lot,
                expiry=expiry,
                origin=origin,
                quantity=quantity,
                serials=serials,
                production_date=production_date,
                gross_kg=gross_kg,
                before_commit=written,
            )

    def update_lot(self, gtin: str, lot: str, **changes: Any) -> Lot:
        with self._signing() as written:
            return self._store.update_lot(gtin, lot, before_commit=written, **changes)

    def import_lots(self, rows: Sequence[LotRow]) -> None:
        with self._signing() as written:
            self._store.import_lots(rows, before_commit=written)

    # locations --------------------------------------------------------------------

    def add_location(self, location: Location) -> Location:
        with self._signing() as written:
            return self._store.add_location(location, before_commit=written)

    def update_location(self, urn: str, **changes: Any) -> Location:
        with self._signing() as written:
            return self._store.update_location(urn, before_commit=written, **changes)

    def import_locations(self, rows: Sequence[Location]) -> None:
        with self._signing() as written:
            self._store.import_locations(rows, before_commit=written)

    # signing ----------------------------------------------------------------------

    @contextmanager
    def _signing(self) -> Iterator[Callable[[Sequence[Any]], None]]:
        """Collect what the store commits; sign it once the write has returned (the
        records have committed). A write that raised committed nothing: nothing signed."""
        written: list[MasterValue] = []
        yield written.extend
        self.sign(written)

    def latest(self, value: MasterValue) -> SignedVersion | None:
        """The latest signed version of ``value``'s stream, or None."""
        return history_from_ledger(self._ledger, facts_of(value).stream).latest

    def sign(self, values: Sequence[MasterValue]) -> None:
        """Submit a new version for each value that differs from its latest signed one
        (all in one ledger transaction); raises what the ledger raises."""
        now = self._clock()
        items: list[Submission] = []
        changes: list[AuditChange] = []
        for value in values:
            facts = facts_of(value)
            latest = self.latest(value)
            if latest is not None and not changed_fields(facts, latest.version.facts):
                continue
            changes.append(self._change(facts, latest))
            number = 1 if latest is None else latest.version.version + 1
            version = MasterVersion(facts=facts, version=number, valid_from=now)
            items.append(
                Submission(
                    kind=KINDS[facts.subject],
                    record_id=record_id(facts.stream, number),
                    record=version.record(),
                    streams=(facts.stream,),
                    keep_record=True,
                )
            )
        if not items:
            return
        if self._audit is not None:
            self._audit.record_many(changes)
        try:
            self._submitter.submit_many(items, now)
        except LedgerStoreUnavailable as exc:
            raise StoreUnavailable(f"signing {items[0].record_id}: {exc}; retry") from exc
        except LedgerError as exc:
            # Nothing is committed: the write that asked for the signature rolls back.
            raise RecordConflict(f"signing {items[0].record_id}: {exc}") from exc

    def _change(self, facts: MasterFacts, latest: SignedVersion | None) -> AuditChange:
        verb = "create" if latest is None else "update"
        return self._author.change(
            f"master.{facts.subject}.{verb}",
            AuditSubject(kind=facts.subject, key=facts.key),
            None if latest is None else dict(latest.version.facts.fields),
            dict(facts.fields),
            lots=(facts.key,) if facts.subject == "lot" else (),
        )
