"""What the lot page embeds so the browser can re-check the Merkle proofs itself.

Two sources, one shape:

* the ledger (the hub): the lot's evidence bundle (``traceability.anchoring.bundle.lot_bundle``,
  behind the ``EvidenceSource`` port). Each item carries its signed ledger entry; the
  page's script canonicalises it (RFC 8785), hashes ``0x00 ‖ entry`` (RFC 6962 leaf)
  and walks the audit path to the batch root. The entry holds only digests and ids
  (event hash id, record digest, stream, signature): no place or device names.
* the records alone (no evidence source): the ledger's batches as ``EventFeeder``
  mirrored them (leaf hashes and indexes) and audit paths built from those leaves; the
  script checks the path only.

At most ``limit`` items are embedded (the newest), so a lot with thousands of events
keeps the page small; the page says how many of how many were checked and the bundle
download holds them all.

A batch the hub found orphaned (its anchor is on a chain the hub's chain no longer
is: reset or replaced; ``ledger.worker.AnchorWorker.audit``) is not anchored as far
as the page goes: its items count in ``orphaned``, never in ``anchored``, so the page
does not say "On chain" for what its chain cannot show. The page does not wait for the
audit to have run (a restarted hub audits only once the anchoring lease is its own):
given the hub's chain (``ChainIdentity``), an anchor recorded on another chain id or
genesis counts as orphaned at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ledger.evidence import ClaimSource
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.bundle import lot_bundle
from traceability.records.store import RecordStore

DEFAULT_LIMIT = 40


class EvidenceSource(Protocol):
    def bundle(self, gtin: str, lot: str, claims: bool = False) -> dict[str, Any] | None:
        """The lot's evidence bundle (``tracehub-evidence/2``), None if there is none;
        ``claims``: with what the page states (the bundles people download carry it)."""
        ...


class LedgerEvidence:
    """``EvidenceSource`` over the ledger store, signed by the site when given a signer."""

    def __init__(
        self,
        store: RecordStore,
        ledger: LedgerStore,
        signer: Signer | None = None,
        confirmations: int = 1,
        renew_signer: Callable[[], Signer] | None = None,
        claims: Callable[[datetime], ClaimSource] | None = None,
    ) -> None:
        """``renew_signer`` loads the site's current key once the one held was rotated
        out (``tracehub ledger rotate-key``, usually by another process): a manifest
        signed by a closed key fails against the site's trust document. ``claims``
        computes what the page states at a given time (``claims.PageClaims``)."""
        self._store = store
        self._ledger = ledger
        self._signer = signer
        self._confirmations = confirmations
        self._renew = renew_signer
        self._claims = claims

    def bundle(self, gtin: str, lot: str, claims: bool = False) -> dict[str, Any] | None:
        now = datetime.now(UTC)
        bundle = lot_bundle(
            self._store,
            self._ledger,
            gtin,
            lot,
            self._current_signer(now),
            now,
            confirmations=self._confirmations,
            # the page's own view needs no copy of its numbers; a download does
            claims=self._claims(now) if claims and self._claims is not None else None,
        )
        return bundle if bundle["items"] else None

    def _current_signer(self, now: datetime) -> Signer | None:
        """The held signer while its key covers ``now``, by its own record and by the
        ledger's (where a rotation elsewhere closed it); else the renewed one."""
        signer = self._signer
        if signer is None or self._renew is None:
            return signer
        recorded = next((k for k in self._ledger.public_keys() if k.key_id == signer.key_id), None)
        if signer.public.covers(now) and (recorded is None or recorded.covers(now)):
            return signer
        self._signer = self._renew()
        return self._signer


class AnchoredBatch(BaseModel):
    """An anchored Merkle batch as the page shows it."""

    model_config = ConfigDict(frozen=True)

    id: int
    root: str  # hex
    size: int
    chain_id: int
    contract: str
    tx_hash: str | None  # None: recovered from the contract, which keeps no tx hash
    block_number: int


class ProofItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: dict[str, Any] | None  # the signed ledger entry; None: leaf given as recorded
    leaf: str  # hex
    index: int
    size: int
    proof: tuple[str, ...]
    root: str  # hex, the root of the item's batch


class PageProofs(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: tuple[ProofItem, ...]  # embedded, newest last
    total: int  # items of the lot (entries in the ledger, or events in the records)
    anchored: int
    batches: tuple[AnchoredBatch, ...]  # newest last
    orphaned: int = 0  # items anchored on a chain this hub can no longer reach

    @property
    def latest(self) -> AnchoredBatch | None:
        return self.batches[-1] if self.batches else None

    def script_data(self) -> dict[str, Any]:
        """The JSON the page's script reads (``<script type="application/json">``)."""
        return {
            "items": [item.model_dump() for item in self.items],
            "total": self.total,
            "anchored": self.anchored,
        }


class ChainIdentity(BaseModel):
    """The chain the hub anchors on now: its id and block 0."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    genesis_hash: str

    def holds(self, anchor: dict[str, Any]) -> bool:
        """Whether an anchor recorded in a bundle is on this chain (an anchor recorded
        before the ledger kept genesis hashes is judged by its chain id)."""
        genesis = anchor.get("genesis_hash")
        return anchor.get("chain_id") == self.chain_id and genesis in (None, self.genesis_hash)


def bundle_proofs(
    bundle: dict[str, Any], limit: int = DEFAULT_LIMIT, here: ChainIdentity | None = None
) -> PageProofs:
    """The page's proofs from an evidence bundle: items of anchored batches only
    (``here``: the hub's chain; anchors on any other count as orphaned)."""
    batches: dict[int, AnchoredBatch] = {}
    orphaned: set[int] = set()
    for doc in bundle["batches"]:
        anchor = doc.get("anchor")
        if anchor is None:
            continue
        if anchor.get("status") == "orphaned" or (here is not None and not here.holds(anchor)):
            orphaned.add(doc["id"])
            continue
        batches[doc["id"]] = AnchoredBatch(
            id=doc["id"],
            root=doc["root"],
            size=doc["size"],
            chain_id=anchor["chain_id"],
            contract=anchor["contract"],
            tx_hash=anchor["tx_hash"],
            block_number=anchor["block_number"],
        )
    anchored = [
        ProofItem(
            entry=item["entry"],
            leaf=item["leaf_hash"],
            index=item["leaf_index"],
            size=batches[item["batch"]].size,
            proof=tuple(item["proof"]),
            root=batches[item["batch"]].root,
        )
        for item in bundle["items"]
        if item["batch"] in batches
    ]
    return PageProofs(
        items=tuple(anchored[-limit:]) if limit else (),
        total=len(bundle["items"]),
        anchored=len(anchored),
        batches=tuple(batches[k] for k in sorted(batches)),
        orphaned=sum(1 for item in bundle["items"] if item["batch"] in orphaned),
    )
