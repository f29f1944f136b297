"""The signed versions of a master-data stream and whether each is anchored.

Read from an evidence bundle (pure: what ``tracehub verify`` and the lot page use, so
both speak from the same signed bytes) or from the ledger store (what the writer uses
to number the next version). A version counts only when its record is the one its
signed entry names (record digest); a bundle's other faults are the verifier's to name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ledger.batch import BatchStatus
from ledger.entry import Entry, record_digest
from ledger.errors import LedgerError
from ledger.signing import parse_instant
from traceability.masterdata.versions import SUBJECT_OF_KIND, MasterVersion

if TYPE_CHECKING:  # a type only: the caller opens the store
    from ledger.store.sqlstore import LedgerStore


class SignedVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: MasterVersion
    record_id: str
    anchored_at: datetime | None  # block time of its batch; None: signed, not anchored yet

    @property
    def anchored(self) -> bool:
        return self.anchored_at is not None


class History(BaseModel):
    """Every signed version of one stream, oldest first."""

    model_config = ConfigDict(frozen=True)

    stream: str
    versions: tuple[SignedVersion, ...] = ()

    @property
    def latest(self) -> SignedVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def latest_anchored(self) -> SignedVersion | None:
        return next((v for v in reversed(self.versions) if v.anchored), None)

    def anchored_at(self, moment: datetime) -> SignedVersion | None:
        """The anchored version valid at ``moment`` (its ``valid_from`` at or before it);
        before the first one took effect, the first anchored version (what the site
        signed when it first described the thing)."""
        anchored = [v for v in self.versions if v.anchored]
        valid = [v for v in anchored if v.version.valid_from <= moment]
        if valid:
            return valid[-1]
        return anchored[0] if anchored else None


def histories_from_bundle(bundle: Any) -> dict[str, History]:
    """The master-data streams' histories in an evidence bundle, by stream name."""
    anchors: dict[int, datetime] = {}
    for doc in _list(bundle.get("batches") if isinstance(bundle, dict) else None):
        anchor = doc.get("anchor") if isinstance(doc, dict) else None
        if isinstance(anchor, dict) and isinstance(doc.get("id"), int):
            try:
                anchors[doc["id"]] = parse_instant(str(anchor.get("block_time")))
            except ValueError:
                continue
    found: dict[str, list[SignedVersion]] = {}
    for item in _list(bundle.get("items") if isinstance(bundle, dict) else None):
        if not isinstance(item, dict):
            continue
        try:
            entry = Entry.from_json(item.get("entry"))
        except LedgerError:
            continue
        signed = _signed(entry, item.get("record"), anchors.get(_int(item.get("batch"))))
        if signed is not None:
            for link in entry.links:
                found.setdefault(link.stream, []).append(signed)
    return {name: _history(name, versions) for name, versions in found.items()}


def history_from_ledger(ledger: LedgerStore, stream: str) -> History:
    """The stream's history as the ledger store holds it (kept records)."""
    versions = []
    for stored in ledger.stream(stream):
        entry = stored.entry
        if entry.kind not in SUBJECT_OF_KIND:
            continue
        at = None
        if stored.batch_id is not None:
            batch = ledger.batch(stored.batch_id)
            if batch is not None and batch.status in (BatchStatus.INCLUDED, BatchStatus.CONFIRMED):
                at = batch.block_time
        signed = _signed(entry, ledger.kept_record(entry.kind, entry.record_id), at)
        if signed is not None:
            versions.append(signed)
    return _history(stream, versions)


def _signed(entry: Entry, record: Any, anchored_at: datetime | None) -> SignedVersion | None:
    if entry.kind not in SUBJECT_OF_KIND or record is None:
        return None
    try:
        if record_digest(record) != entry.record_digest:
            return None
        version = MasterVersion.from_record(record)
    except (LedgerError, ValueError):
        return None
    return SignedVersion(version=version, record_id=entry.record_id, anchored_at=anchored_at)


def _history(stream: str, versions: Iterable[SignedVersion]) -> History:
    ordered = sorted(versions, key=lambda v: v.version.version)
    return History(stream=stream, versions=tuple(ordered))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1
