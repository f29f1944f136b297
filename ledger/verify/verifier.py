"""Verify an evidence bundle: offline first, the chain as an optional extra step.

Pure over data: the bundle is a parsed JSON value; the optional ``ChainView``
answers where a root is anchored. One ``Check`` per fact, each saying what it is
about, so a changed field, signature, proof, dropped or reordered event is named.
This module checks each item (record digest, signature, leaf, inclusion proof)
and puts the report together from the other checks:

* ``streamcheck``    the hash chains (dropped, reordered, replaced entries)
* ``batchcheck``     batch metadata, anchors, the root on chain (``ChainView``)
* ``manifestcheck``  the site's signed manifest over every section
* ``attribution``    whose keys signed, valid when (the anchor's block time)
* ``trust``          the trust anchors, from outside the bundle
* ``report``         ``Check``, ``Report``, ``Outcome`` and ``Verdict``

Without trust anchors a bundle that checks out is "self-consistent, not attributed"
(``Verdict.NOT_ATTRIBUTED``), never VERIFIED; offline, its anchors are not checked
(``Verdict.ANCHORS_NOT_CHECKED``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ledger.entry import Entry, record_digest
from ledger.errors import LedgerError
from ledger.evidence import BUNDLE_FORMAT, LEGACY_FORMATS
from ledger.merkle import verify_inclusion
from ledger.signing import PublicKey, format_instant, key_from_json, parse_instant
from ledger.verify.attribution import Attribution
from ledger.verify.batchcheck import ChainView, batch_checks, parse_batches
from ledger.verify.manifestcheck import completeness_checks, manifest_check
from ledger.verify.report import Check, Outcome, Report, Verdict, as_list, fail, ok, skipped
from ledger.verify.streamcheck import stream_checks
from ledger.verify.trust import TrustAnchors

__all__ = ["ChainView", "Check", "Outcome", "Report", "TrustAnchors", "Verdict", "verify_bundle"]


def verify_bundle(
    bundle: Any,
    chain: ChainView | None = None,
    trust: TrustAnchors | None = None,
    now: datetime | None = None,
) -> Report:
    """Check everything a bundle claims; ``chain`` adds the on-chain checks.

    ``trust`` (from outside the bundle) decides who may have signed and which
    contracts count: a signature by another key fails, an anchor in another
    contract fails. ``now`` judges the keys of entries not anchored yet.
    """
    checks: list[Check] = []
    found = bundle.get("format") if isinstance(bundle, dict) else type(bundle).__name__
    if found != BUNDLE_FORMAT and found not in LEGACY_FORMATS:
        checks.append(fail("format", "bundle", f"format is {found!r}, not {BUNDLE_FORMAT!r}"))
        return Report(subject={}, online=chain is not None, checks=tuple(checks))
    assert isinstance(bundle, dict)
    if found != BUNDLE_FORMAT:
        checks.append(
            ok(
                "format",
                "bundle",
                f"{found}: an older format, verified under the current rules "
                f"(re-export with the current hub for {BUNDLE_FORMAT})",
            )
        )
    checks.append(_trust_check(trust))
    subject = bundle.get("subject") if isinstance(bundle.get("subject"), dict) else {}
    keys = _keys(bundle.get("keys"), checks)
    attribution = Attribution(keys, trust, now or datetime.now(UTC))
    batches = parse_batches(bundle.get("batches"), checks)
    times = _anchor_times(batches, chain, checks)
    entries: list[tuple[Entry, bytes]] = []
    for index, item in enumerate(as_list(bundle.get("items"))):
        parsed = _item_checks(index, item, attribution, batches, times, checks)
        if parsed is not None:
            entries.append(parsed)
    checks.extend(stream_checks(as_list(bundle.get("streams")), entries))
    for batch in batches.values():
        checks.extend(batch_checks(batch, chain, None))
        if trust is not None:
            checks.extend(_contract_checks(batch, trust))
    anchored = [t for t in times.values() if t is not None]
    checks.append(manifest_check(bundle, attribution, max(anchored, default=None)))
    checks.extend(completeness_checks(bundle))
    return Report(
        subject=subject,
        online=chain is not None,
        checks=tuple(checks),
        trust=None if trust is None else trust.describe(),
    )


def _trust_check(trust: TrustAnchors | None) -> Check:
    if trust is None:
        return skipped(
            "trust",
            "signers",
            "no trust anchor given: the bundle's own keys are taken as they are, so it "
            "can only be self-consistent, not attributed (give --trust with the site's "
            "/.well-known/tracehub.json, a copy of it, or its key fingerprint)",
        )
    return ok(
        "trust",
        "signers",
        f"judged by {trust.describe()}: {len(trust.keys)} key(s), "
        f"{len(trust.contracts)} contract(s)",
    )


def _anchored_at(batch: dict[str, Any]) -> datetime | None:
    """The block time of the batch's anchor, if it has one (the chain's, not the signer's)."""
    anchor = batch.get("anchor")
    if not isinstance(anchor, dict) or not isinstance(anchor.get("block_time"), str):
        return None
    try:
        return parse_instant(anchor["block_time"])
    except ValueError:
        return None


def _anchor_times(
    batches: dict[int, dict[str, Any]], chain: ChainView | None, checks: list[Check]
) -> dict[int, datetime | None]:
    """Each batch's anchor time, by which its entries' keys are judged: the chain's block
    time when a chain is given (a block time changed in the bundle is named), else the
    bundle's (offline, where the anchors are not claimed anyway)."""
    times: dict[int, datetime | None] = {}
    for batch_id, batch in batches.items():
        claimed = _anchored_at(batch)
        times[batch_id] = claimed
        anchor = batch.get("anchor")
        if chain is None or claimed is None or not isinstance(anchor, dict):
            continue
        try:
            located = chain.locate(str(anchor.get("contract")), batch["root"])
        except LedgerError:
            continue  # the on-chain check says the chain could not be asked
        if located is None:
            continue  # the on-chain check names the missing root
        times[batch_id] = located.block_time
        if located.block_time != claimed:
            checks.append(
                fail(
                    "anchor time",
                    f"batch {batch_id}",
                    f"the bundle says block time {format_instant(claimed)}, the chain's "
                    f"block {located.block_number} was mined at "
                    f"{format_instant(located.block_time)}",
                )
            )
    return times


def _contract_checks(batch: dict[str, Any], trust: TrustAnchors) -> list[Check]:
    anchor = batch.get("anchor")
    if not isinstance(anchor, dict):
        return []
    who = f"batch {batch['id']}"
    where = f"contract {anchor.get('contract')} on chain {anchor.get('chain_id')}"
    if not trust.contracts:
        return [
            skipped(
                "contract",
                who,
                f"not pinned: anchored in {where}, and no trust anchor names the anchor "
                "contract (give --contract, or a trust document that names it)",
            )
        ]
    named = trust.contract(anchor.get("chain_id"), anchor.get("contract"))
    if named is None:
        return [fail("contract", who, f"anchored in {where}, which no trust anchor names")]
    genesis = anchor.get("genesis_hash")
    if named.genesis_hash is not None and genesis is not None and genesis != named.genesis_hash:
        return [
            Check(
                name="contract",
                outcome=Outcome.OTHER_CHAIN,
                subject=who,
                detail=f"anchored on the chain with genesis {genesis}; {named.source} names "
                f"genesis {named.genesis_hash} (the chain was reset or replaced)",
            )
        ]
    return [ok("contract", who, f"anchored in {where}, named by {named.source}")]


def _item_checks(
    index: int,
    item: Any,
    attribution: Attribution,
    batches: dict[int, dict[str, Any]],
    times: dict[int, datetime | None],
    checks: list[Check],
) -> tuple[Entry, bytes] | None:
    if not isinstance(item, dict):
        checks.append(fail("entry", f"item {index}", "is not a JSON object"))
        return None
    try:
        entry = Entry.from_json(item.get("entry"))
    except LedgerError as exc:
        checks.append(fail("entry", f"item {index}", str(exc)))
        return None
    who = f"{entry.kind} {entry.record_id}"
    rid = entry.record_id

    def add(name: str, outcome: Outcome, detail: str) -> None:
        checks.append(Check(name=name, outcome=outcome, subject=who, detail=detail, record_id=rid))

    record = item.get("record")
    if record is None:
        add("record", Outcome.FAIL, "record is missing (deleted from the records?)")
    else:
        try:
            digest = record_digest(record)
        except LedgerError as exc:
            add("record", Outcome.FAIL, f"record has no canonical form: {exc}")
        else:
            if digest == entry.record_digest:
                add("record", Outcome.OK, f"canonical SHA-256 {digest.hex()} matches the entry")
            else:
                add(
                    "record",
                    Outcome.FAIL,
                    f"record was altered: its SHA-256 {digest.hex()} is not the signed "
                    f"{entry.record_digest.hex()}",
                )
    batch_id = item.get("batch")
    anchored_at = times.get(batch_id) if isinstance(batch_id, int) else None
    add("signature", *attribution.entry(entry, anchored_at))
    leaf = entry.leaf_hash()
    if item.get("leaf_hash") != leaf.hex():
        add(
            "leaf",
            Outcome.FAIL,
            f"leaf_hash {item.get('leaf_hash')} is not the entry's {leaf.hex()}",
        )
    _add_inclusion(item, leaf, batches, add)
    return entry, leaf


def _add_inclusion(
    item: dict[str, Any],
    leaf: bytes,
    batches: dict[int, dict[str, Any]],
    add: Callable[[str, Outcome, str], None],
) -> None:
    batch_id = item.get("batch")
    if batch_id is None:
        add("inclusion", Outcome.PENDING, "not yet anchored: waiting for a batch")
        return
    batch = batches.get(batch_id) if isinstance(batch_id, int) else None
    if batch is None:
        add("inclusion", Outcome.FAIL, f"names batch {batch_id!r}, which the bundle lacks")
        return
    try:
        proof = [bytes.fromhex(p) for p in item.get("proof") or []]
        index = int(item["leaf_index"])
    except (TypeError, ValueError, KeyError):
        add("inclusion", Outcome.FAIL, "proof or leaf_index is malformed")
        return
    if verify_inclusion(leaf, index, batch["size"], proof, batch["root"]):
        add("inclusion", Outcome.OK, f"leaf {index} of {batch['size']} under batch {batch_id} root")
    else:
        add(
            "inclusion",
            Outcome.FAIL,
            f"proof does not lead from leaf {index} to batch {batch_id}'s root "
            "(entry, proof or root was changed)",
        )


def _keys(raw: Any, checks: list[Check]) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    for item in as_list(raw):
        try:
            key = key_from_json(item)
        except ValueError as exc:
            checks.append(fail("keys", "keys", f"a key record is unusable: {exc}"))
            continue
        keys[key.key_id] = key
    return keys
