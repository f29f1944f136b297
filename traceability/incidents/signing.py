"""Signing an incident's steps: every step one ledger record (``record.py``) in the
incident's stream and each affected lot's, kept so the lot's evidence bundle carries it.

``StepSigner.sign(incident)`` submits every step the records hold (the ledger is
idempotent by record id: what it already holds stays as it is), renewing the site's key
once when the ledger refuses the one held, and then tells ``on_lot(gtin, lot)`` of each
affected lot (the hub drops the lot's cached pages, which tell the incident). Ledger
failures come out as ``traceability.errors`` ``StoreUnavailable`` (retry: the step is
recorded) or ``RecordConflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.batch import Submission
from ledger.errors import LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.signing import Signer
from ledger.submitter import LeafStore, RecordSubmitter
from traceability.epclinks import lot_stream
from traceability.errors import RecordConflict, StoreUnavailable
from traceability.incidents.model import Incident
from traceability.incidents.record import STEP_KIND, incident_stream

LotHook = Callable[[str, str], None]  # (gtin14, lot), as CaptureBridge's ``on_lot``


StepLedger = LeafStore  # ``ledger.store.sqlstore.LedgerStore``: what the service signs into


class StepSigner:
    """Signs incidents' steps with the site's key; see the module docstring."""

    def __init__(
        self,
        ledger: StepLedger,
        signer: Signer,
        clock: Callable[[], datetime],
        renew: Callable[[], Signer] | None = None,
        on_lot: LotHook | None = None,
    ) -> None:
        self._submitter = RecordSubmitter(ledger, signer, clock, renew=renew)
        self._on_lot = on_lot

    def sign(self, incident: Incident) -> None:
        """Submit every step of ``incident``, then tell ``on_lot`` of each of its lots."""
        streams = (
            incident_stream(incident.id),
            *(lot_stream(*key.split("/", 1)) for key in incident.lots),
        )
        items = [
            Submission(
                kind=STEP_KIND,
                record_id=s.record_id,
                record=s.record,
                streams=streams,
                keep_record=True,
            )
            for s in incident.steps
        ]
        if not items:
            return
        try:
            self._submitter.submit_many(items)
        except LedgerStoreUnavailable as exc:
            raise StoreUnavailable(
                f"signing incident {incident.id}: {exc}; the step is recorded, retry it to sign"
            ) from exc
        except LedgerError as exc:
            raise RecordConflict(f"signing incident {incident.id}: {exc}") from exc
        if self._on_lot is not None:
            for key in incident.lots:
                self._on_lot(*key.split("/", 1))
