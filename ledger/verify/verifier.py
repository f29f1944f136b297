"""Verify an evidence bundle: offline first, the chain as an optional extra step.

Pure over data: the bundle is a parsed JSON value; the optional ``ChainView``
answers where a root is anchored. One ``Check`` per fact, each saying what it is
about, so a changed field, signature, proof, dropped or reordered event is named.
This module checks each item (record digest, signature, leaf, inclusion proof)
and puts the report together from the other checks:

* ``streamcheck``    the hash chains (dropped, reordered, replaced entries)
* ``batchcheck``     batch metadata, anchors, the root on chain (``ChainView``)
* ``manifestcheck``  the site's signed manifest over every section
* ``report``         ``Check``, ``Report``, ``Outcome`` and ``Verdict``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ledger.entry import Entry, record_digest, signature_problem
from ledger.errors import LedgerError
from ledger.evidence import BUNDLE_FORMAT
from ledger.merkle import verify_inclusion
from ledger.signing import PublicKey, key_from_json
from ledger.verify.batchcheck import ChainView, batch_checks, parse_batches
from ledger.verify.manifestcheck import completeness_checks, manifest_check
from ledger.verify.report import Check, Outcome, Report, Verdict, as_list, fail
from ledger.verify.streamcheck import stream_checks

__all__ = ["ChainView", "Check", "Outcome", "Report", "Verdict", "verify_bundle"]


def verify_bundle(
    bundle: Any,
    chain: ChainView | None = None,
    trusted_keys: Iterable[str] | None = None,
    contract: str | None = None,
) -> Report:
    """Check everything a bundle claims; ``chain`` adds the on-chain checks.

    ``trusted_keys`` (key ids) and ``contract`` pin what the auditor trusts: a
    signature by another key, or an anchor in another contract, fails.
    """
    checks: list[Check] = []
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        found = bundle.get("format") if isinstance(bundle, dict) else type(bundle).__name__
        checks.append(fail("format", "bundle", f"format is {found!r}, not {BUNDLE_FORMAT!r}"))
        return Report(subject={}, online=chain is not None, checks=tuple(checks))
    subject = bundle.get("subject") if isinstance(bundle.get("subject"), dict) else {}
    keys = _keys(bundle.get("keys"), checks)
    trust = set(trusted_keys) if trusted_keys is not None else None
    batches = parse_batches(bundle.get("batches"), checks)
    entries: list[tuple[Entry, bytes]] = []
    for index, item in enumerate(as_list(bundle.get("items"))):
        parsed = _item_checks(index, item, keys, trust, batches, checks)
        if parsed is not None:
            entries.append(parsed)
    checks.extend(stream_checks(as_list(bundle.get("streams")), entries))
    for batch in batches.values():
        checks.extend(batch_checks(batch, chain, contract))
    checks.append(manifest_check(bundle, keys))
    checks.extend(completeness_checks(bundle))
    return Report(subject=subject, online=chain is not None, checks=tuple(checks))


def _item_checks(
    index: int,
    item: Any,
    keys: dict[str, PublicKey],
    trust: set[str] | None,
    batches: dict[int, dict[str, Any]],
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
    key = keys.get(entry.signature.key_id)
    problem = signature_problem(entry, key)
    if problem is None and trust is not None and entry.signature.key_id not in trust:
        problem = f"key {entry.signature.key_id} is not one of the trusted keys"
    add(
        "signature",
        Outcome.FAIL if problem else Outcome.OK,
        problem or f"Ed25519 signature by {key.owner if key else '?'} ({entry.signature.key_id})",
    )
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
