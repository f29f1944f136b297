"""Verify a lot's evidence: stored events → leaves → batch roots → roots on chain.

Pure over data: the records store supplies events and batches, and an optional
``chain_lookup(root)`` (e.g. ``AnchorContract.lookup``) supplies what the chain says.
No web3 here. Every failing check names the event or batch it is about, so an altered
stored event is reported by its id.

Checks, per event of the lot (oldest first):

* ``anchored``  — fails with "not yet anchored" for an event still pending;
* ``leaf``      — the event's canonical hash equals the leaf recorded for it;
* ``inclusion`` — an RFC 6962 inclusion proof, recomputed from the batch's recorded
  leaves, proves the event's recomputed leaf under the batch root;

and per batch holding any of those events:

* ``batch root`` — the recorded leaves reproduce the recorded root and size;
* ``on chain``   — the root is anchored on chain with the same size, or
  "skipped: offline" (ok) when no ``chain_lookup`` is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from ledger.anchor import OnChainAnchor
from ledger.errors import ChainError, LedgerError
from ledger.merkle import inclusion_proof, merkle_root, verify_inclusion
from traceability.anchoring import event_leaf
from traceability.gs1 import Gtin
from traceability.records import Batch, RecordStore, StoredEvent

ChainLookup = Callable[[bytes], OnChainAnchor | None]


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    detail: str
    event_id: str | None = None
    batch_id: int | None = None


class VerificationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    online: bool  # whether roots were checked on chain
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Every check passed: all events anchored, unaltered and (online) on chain."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    @property
    def pending_event_ids(self) -> tuple[str, ...]:
        return tuple(
            c.event_id for c in self.checks if c.name == "anchored" and c.event_id and not c.ok
        )


def verify_lot(
    store: RecordStore, gtin: Gtin | str, lot: str, chain_lookup: ChainLookup | None = None
) -> VerificationReport:
    gtin14 = gtin.value if isinstance(gtin, Gtin) else Gtin.parse(gtin).value
    events = store.events_for_lot(gtin14, lot)
    checks: list[Check] = []
    if not events:
        checks.append(
            Check(
                name="events",
                ok=False,
                detail=f"no events recorded for lot {lot} of {gtin14}; nothing to verify",
            )
        )
    batches: dict[int, tuple[Batch | None, list[bytes]]] = {}
    for event in events:
        if event.batch_id is None:
            checks.append(
                Check(name="anchored", ok=False, detail="not yet anchored", event_id=event.id)
            )
            continue
        if event.batch_id not in batches:
            leaves = [leaf.leaf_hash for leaf in store.batch_leaves(event.batch_id)]
            batches[event.batch_id] = (store.batch(event.batch_id), leaves)
        batch, leaves = batches[event.batch_id]
        checks.extend(_event_checks(event, batch, leaves))
    for batch_id, (batch, leaves) in batches.items():
        if batch is not None:
            checks.append(_root_check(batch, leaves))
            checks.append(_chain_check(batch, chain_lookup))
        else:
            checks.append(
                Check(
                    name="batch root",
                    ok=False,
                    detail=f"batch {batch_id} is referenced by events but not recorded",
                    batch_id=batch_id,
                )
            )
    return VerificationReport(
        gtin=gtin14, lot=lot, online=chain_lookup is not None, checks=tuple(checks)
    )


def _event_checks(event: StoredEvent, batch: Batch | None, leaves: list[bytes]) -> list[Check]:
    try:
        leaf = event_leaf(event)
    except (ValueError, LedgerError) as exc:  # json.JSONDecodeError is a ValueError
        return [
            Check(
                name="leaf",
                ok=False,
                detail=f"stored event JSON cannot be read or canonicalised: {exc}",
                event_id=event.id,
            )
        ]
    same = leaf == event.leaf_hash
    recorded = event.leaf_hash.hex() if event.leaf_hash else "none"
    checks = [
        Check(
            name="leaf",
            ok=same,
            detail=(
                f"canonical hash matches leaf {event.leaf_index}"
                if same
                else f"stored event was altered: its hash {leaf.hex()} is not the recorded "
                f"leaf {recorded}"
            ),
            event_id=event.id,
        )
    ]
    checks.append(_inclusion_check(event, leaf, batch, leaves))
    return checks


def _inclusion_check(
    event: StoredEvent, leaf: bytes, batch: Batch | None, leaves: list[bytes]
) -> Check:
    index = event.leaf_index
    if batch is None or index is None or not 0 <= index < len(leaves):
        return Check(
            name="inclusion",
            ok=False,
            detail=f"leaf index {index} is not within batch {event.batch_id}'s recorded leaves",
            event_id=event.id,
            batch_id=event.batch_id,
        )
    try:
        proof = inclusion_proof(leaves, index)
        ok = verify_inclusion(leaf, index, batch.size, proof, batch.root)
    except LedgerError as exc:
        ok, why = False, str(exc)
    else:
        why = "" if ok else "the proof does not lead to the batch root"
    return Check(
        name="inclusion",
        ok=ok,
        detail=(
            f"included at leaf {index} of {batch.size} under root {batch.root.hex()}"
            if ok
            else f"not provably in batch {batch.id} at leaf {index}: {why}"
        ),
        event_id=event.id,
        batch_id=batch.id,
    )


def _root_check(batch: Batch, leaves: list[bytes]) -> Check:
    try:
        root = merkle_root(leaves)
    except LedgerError as exc:
        return Check(name="batch root", ok=False, detail=str(exc), batch_id=batch.id)
    if len(leaves) != batch.size:
        detail = f"batch {batch.id} records size {batch.size} but has {len(leaves)} leaves"
    elif root != batch.root:
        detail = (
            f"batch {batch.id} leaves give root {root.hex()}, not the recorded "
            f"{batch.root.hex()} (a leaf was changed, removed or reordered)"
        )
    else:
        return Check(
            name="batch root",
            ok=True,
            detail=f"{batch.size} leaves reproduce root {batch.root.hex()}",
            batch_id=batch.id,
        )
    return Check(name="batch root", ok=False, detail=detail, batch_id=batch.id)


def _chain_check(batch: Batch, chain_lookup: ChainLookup | None) -> Check:
    def check(ok: bool, detail: str) -> Check:
        return Check(name="on chain", ok=ok, detail=detail, batch_id=batch.id)

    if chain_lookup is None:
        return check(True, "skipped: offline")
    try:
        found = chain_lookup(batch.root)
    except ChainError as exc:
        return check(False, f"chain unavailable, root {batch.root.hex()} not checked: {exc}")
    if found is None:
        return check(
            False,
            f"root {batch.root.hex()} is not anchored in contract {batch.contract} "
            f"(chain {batch.chain_id})",
        )
    if found.size != batch.size:
        return check(
            False, f"root is anchored with size {found.size}, but the batch records {batch.size}"
        )
    return check(
        True,
        f"anchored in block {found.block_number} (timestamp {found.timestamp}) by {found.anchorer}",
    )


def report_json(report: VerificationReport) -> str:
    """The report as indented JSON, for ``tracehub verify --json``."""
    return json.dumps(
        {
            "gtin": report.gtin,
            "lot": report.lot,
            "ok": report.ok,
            "online": report.online,
            "checks": [c.model_dump() for c in report.checks],
        },
        indent=2,
    )
