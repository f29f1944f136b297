"""The anchoring worker: cut batches by policy and drive each to a confirmed anchor.

Policy: a batch is cut every ``max_leaves`` pending leaves or when the oldest
pending leaf has waited ``max_age_s``, whichever comes first; one transaction
per batch whatever its size. One batch is in flight at a time, so the account's
next nonce is always the chain's pending count.

A batch moves cut → sent → included → confirmed; every move is written to the
store under the lease before the next side effect, so any worker can resume any
batch after a crash:

* cut:      if the root is already on chain (sent before a crash), adopt that block;
            otherwise estimate, sign (fees under the ceiling, balance checked), record
            the signed tx, then broadcast it.
* sent:     wait for the receipt; without one, look the root up (a replacement may
            have anchored it) or re-broadcast the recorded tx unchanged; a nonce taken
            by another tx sends the batch back to cut.
* included: the block must still hold the root (else it was reorged out: back to
            sent, re-broadcast); confirmed once ``confirmations`` blocks deep.

A recorded tx whose nonce is above the account's next nonce can never be mined (the
chain lost the account's earlier txs: it was reset): it is re-signed.

Before its first step (``audit``) a worker checks that the chain still holds what
the store says is confirmed. Batches anchored on another chain (chain id or genesis
hash differ, or no anchor contract at their address: the chain was reset) become
``orphaned``, are logged, and are not re-anchored (that would move the anchored
time); orphaned batches on the worker's chain again are confirmed again. The newest
confirmed batches on this very chain whose block the node lost (anvil persists its
state every second: a SIGKILL can drop the last blocks) go back to sent, so their
recorded tx is re-broadcast.

Chain failures raise out of ``step`` as ``ChainError``; nothing is lost, the next
step continues where this one stopped ("an RPC outage only delays"). A leaf that can
never be verified (its stored data does not parse as its entry: written around
``submit``) is set aside when a batch is cut, with its reason, and the batch goes on
without it (``ledger.store.setaside``): one poison record never stops anchoring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from ledger.anchor import AnchorChain, Located
from ledger.batch import AnchorTarget, BatchRecord, BatchStatus, Inclusion, Lease, SetAsideRecord
from ledger.errors import AnchorRejected, LeaseLost

if TYPE_CHECKING:  # a type only: the store (SQLAlchemy) is the caller's to build
    from ledger.store.sqlstore import LedgerStore

log = logging.getLogger(__name__)


class BatchPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_leaves: int = Field(default=1000, ge=1)
    max_age_s: float = Field(default=5.0, gt=0)
    confirmations: int = Field(default=1, ge=1)  # 1 = mined; raise it on public chains
    receipt_wait_s: float = Field(default=2.0, ge=0)
    replace_after_s: float = Field(default=120.0, gt=0)
    lease_ttl_s: float = Field(default=15.0, gt=0)


class StepResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    holding: bool  # whether this worker held the lease during the step
    confirmed: tuple[BatchRecord, ...] = ()
    in_flight: BatchRecord | None = None


class Audit(BaseModel):
    """What ``AnchorWorker.audit`` found: batch counts moved, per kind."""

    model_config = ConfigDict(frozen=True)

    orphaned: int = 0  # on a chain that is not this one
    restored: int = 0  # orphaned before, on this chain again
    resent: tuple[int, ...] = ()  # batch ids whose block this chain lost


AUDIT_DEPTH = 20  # newest confirmed batches per chain checked for a lost block


def _told(aside: SetAsideRecord) -> None:
    log.warning(
        "set aside %s %s (entry %s), not anchored: %s; the batch goes on without it "
        "(tracehub status lists it)",
        aside.kind,
        aside.record_id,
        aside.entry_id,
        aside.reason,
    )


class AnchorWorker:
    """One worker; several may run against one store, the lease picks the active one."""

    def __init__(
        self,
        store: LedgerStore,
        chain: AnchorChain,
        holder: str,
        policy: BatchPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._chain = chain
        self.holder = holder
        self.policy = policy or BatchPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lease: Lease | None = None
        self._audited = False

    def due(self, now: datetime | None = None) -> bool:
        """Whether the policy asks for a batch now."""
        pending = self._store.pending()
        if pending.count == 0 or pending.oldest_submitted_at is None:
            return False
        if pending.count >= self.policy.max_leaves:
            return True
        age = ((now or self._clock()) - pending.oldest_submitted_at).total_seconds()
        return age >= self.policy.max_age_s

    def seconds_until_due(self) -> float | None:
        """How long until the oldest pending leaf is due; None when nothing is pending."""
        pending = self._store.pending()
        if pending.oldest_submitted_at is None:
            return None
        if pending.count >= self.policy.max_leaves:
            return 0.0
        age = (self._clock() - pending.oldest_submitted_at).total_seconds()
        return max(0.0, self.policy.max_age_s - age)

    def step(self, flush: bool = False) -> StepResult:
        """Take or renew the lease, finish in-flight batches, cut new ones when due.

        ``flush`` cuts whatever is pending now, regardless of the policy.
        """
        lease = self._store.acquire_lease(self.holder, self.policy.lease_ttl_s, self._clock())
        self._lease = lease
        if lease is None:
            return StepResult(holding=False)
        confirmed: list[BatchRecord] = []
        try:
            if not self._audited:
                self._audit(lease)
            for batch in self._store.unfinished_batches():
                batch = self._advance(lease, batch)
                if batch.status is not BatchStatus.CONFIRMED:
                    return StepResult(holding=True, confirmed=tuple(confirmed), in_flight=batch)
                confirmed.append(batch)
            while flush or self.due():
                cut = self._store.cut_batch(
                    lease, self.policy.max_leaves, self._clock(), on_set_aside=_told
                )
                if cut is None:
                    break
                log.info("cut batch %s: %s leaves, root %s", cut.id, cut.size, cut.root.hex())
                batch = self._advance(lease, cut)
                if batch.status is not BatchStatus.CONFIRMED:
                    return StepResult(holding=True, confirmed=tuple(confirmed), in_flight=batch)
                confirmed.append(batch)
        except LeaseLost:
            self._lease = None
            raise
        return StepResult(holding=True, confirmed=tuple(confirmed))

    def audit(self) -> Audit | None:
        """Check the confirmed batches against the chain (see the module docstring);
        None when another worker holds the lease (it audits). Raises ``ChainError``."""
        lease = self._store.acquire_lease(self.holder, self.policy.lease_ttl_s, self._clock())
        self._lease = lease
        if lease is None:
            return None
        return self._audit(lease)

    def release(self) -> None:
        """Hand the lease over at once (clean shutdown)."""
        if self._lease is not None:
            self._store.release_lease(self._lease)
            self._lease = None

    # the audit --------------------------------------------------------------------

    def _audit(self, lease: Lease) -> Audit:
        orphaned = restored = 0
        resent: list[int] = []
        for target, status in self._store.anchor_targets():
            elsewhere = self._elsewhere(target)
            if elsewhere is not None:
                if status is BatchStatus.CONFIRMED:
                    count = self._store.mark_orphaned(lease, target)
                    orphaned += count
                    log.warning(
                        "%s batches anchored in %s on chain %s are not on this chain (%s): "
                        "they stay as anchored there, and are not re-anchored; point "
                        "TRACEHUB_CHAIN_RPC_URL at that chain to check them",
                        count,
                        target.contract,
                        target.chain_id,
                        elsewhere,
                    )
                continue
            if status is BatchStatus.ORPHANED:
                count = self._store.mark_restored(lease, target)
                restored += count
                log.info("%s orphaned batches are on this chain again: confirmed", count)
                continue
            lost = self._lost_tail(target)
            if lost is None:
                count = self._store.mark_orphaned(lease, target)
                orphaned += count
                log.warning(
                    "none of the newest batches anchored in %s is on this chain: "
                    "%s batches orphaned (the chain was reset)",
                    target.contract,
                    count,
                )
                continue
            for batch in lost:
                log.warning(
                    "batch %s: block %s no longer holds its root (the node lost it): "
                    "re-sending its transaction",
                    batch.id,
                    batch.block_number,
                )
                self._store.mark_vanished(lease, batch.id)
                resent.append(batch.id)
        self._audited = True
        return Audit(orphaned=orphaned, restored=restored, resent=tuple(resent))

    def _elsewhere(self, target: AnchorTarget) -> str | None:
        """Why ``target`` is not on this chain, or None when it may be."""
        chain = self._chain
        if target.chain_id != chain.chain_id:
            return f"chain id {target.chain_id}, this node is chain {chain.chain_id}"
        if target.genesis_hash is not None and target.genesis_hash != chain.genesis_hash:
            return f"genesis {target.genesis_hash}, this chain's is {chain.genesis_hash}"
        if not chain.has_code(target.contract):
            return f"no contract at {target.contract}: the chain was reset"
        return None

    def _lost_tail(self, target: AnchorTarget) -> list[BatchRecord] | None:
        """The newest confirmed batches whose block this chain lost (empty: none); None
        when the chain holds none of them and cannot be told by its genesis (an older
        ledger): then it is another chain, not a lost tail."""
        if target.contract.lower() != self._chain.contract.lower():
            return []  # another contract on this chain: it still holds its own roots
        newest = self._store.newest_confirmed(target, AUDIT_DEPTH)
        lost: list[BatchRecord] = []
        for batch in newest:
            located = self._chain.locate(batch.root)
            if located is not None and located.block_hash == batch.block_hash:
                return lost
            lost.append(batch)
        return None if target.genesis_hash is None and lost else lost

    # the state machine -----------------------------------------------------------

    def _advance(self, lease: Lease, batch: BatchRecord) -> BatchRecord:
        if batch.status is BatchStatus.CUT:
            batch = self._send(lease, batch)
        if batch.status is BatchStatus.SENT:
            batch = self._watch(lease, batch)
        if batch.status is BatchStatus.INCLUDED:
            batch = self._confirm(lease, batch)
        return batch

    def _send(self, lease: Lease, batch: BatchRecord) -> BatchRecord:
        located = self._chain.locate(batch.root)
        if located is not None:
            log.info("batch %s root already on chain (recovered)", batch.id)
            return self._included(lease, batch, located, recovered=True)
        tx = self._chain.prepare_anchor(
            batch.root, batch.size, batch.metadata, self._chain.next_nonce()
        )
        batch = self._store.mark_sent(lease, batch.id, tx, self._clock())
        self._chain.broadcast(tx)
        return batch

    def _watch(self, lease: Lease, batch: BatchRecord) -> BatchRecord:
        sent = batch.sent_tx()
        if sent is None:
            return self._store.mark_unsent(lease, batch.id)
        outcome = self._chain.receipt(sent.tx_hash, self.policy.receipt_wait_s)
        if outcome is not None and not outcome.succeeded:
            # Gas was estimated first, so this is a race (e.g. anchorer revoked meanwhile).
            self._store.mark_unsent(lease, batch.id)
            raise AnchorRejected(f"anchor tx {batch.tx_hash} of batch {batch.id} reverted")
        located = self._chain.locate(batch.root)
        if located is not None:
            return self._included(lease, batch, located, recovered=located.tx_hash is None)
        if sent.nonce > self._chain.next_nonce():
            # A gap no tx of ours fills: the chain lost the earlier ones (it was reset).
            log.warning(
                "batch %s: nonce %s is ahead of the chain; re-signing", batch.id, sent.nonce
            )
            return self._store.mark_unsent(lease, batch.id)
        result = self._chain.broadcast(sent)
        if result == "nonce_used":
            log.warning(
                "batch %s: nonce %s was used by another tx; re-signing", batch.id, sent.nonce
            )
            return self._store.mark_unsent(lease, batch.id)
        if result == "accepted":
            # Re-broadcast after a restart, a reorg or a node that lost its mempool.
            self._chain.receipt(sent.tx_hash, self.policy.receipt_wait_s)
            located = self._chain.locate(batch.root)
            if located is not None:
                return self._included(lease, batch, located, recovered=False)
            return batch
        waited = (self._clock() - (batch.sent_at or self._clock())).total_seconds()
        if waited >= self.policy.replace_after_s:
            # Still pending after a long time: outbid it with the same nonce.
            bumped = self._chain.prepare_anchor(
                batch.root, batch.size, batch.metadata, sent.nonce, replacing=sent
            )
            log.warning("batch %s: tx pending %.0fs, replacing with higher fees", batch.id, waited)
            batch = self._store.mark_sent(lease, batch.id, bumped, self._clock())
            self._chain.broadcast(bumped)
        return batch

    def _confirm(self, lease: Lease, batch: BatchRecord) -> BatchRecord:
        located = self._chain.locate(batch.root)
        if located is None or located.block_hash != batch.block_hash:
            log.warning(
                "batch %s: block %s no longer holds its root (reorg)", batch.id, batch.block_number
            )
            batch = self._store.mark_reorged(lease, batch.id)
            return self._watch(lease, batch) if batch.raw_tx is not None else batch
        depth = self._chain.head() - located.block_number + 1
        if depth >= self.policy.confirmations:
            return self._store.mark_confirmed(lease, batch.id, self._clock())
        return batch

    def _included(
        self, lease: Lease, batch: BatchRecord, located: Located, *, recovered: bool
    ) -> BatchRecord:
        inclusion = Inclusion(
            chain_id=self._chain.chain_id,
            contract=self._chain.contract,
            tx_hash=located.tx_hash,
            block_number=located.block_number,
            block_hash=located.block_hash,
            block_time=located.block_time,
            genesis_hash=self._chain.genesis_hash,
        )
        batch = self._store.mark_included(lease, batch.id, inclusion, recovered=recovered)
        return self._confirm(lease, batch)
