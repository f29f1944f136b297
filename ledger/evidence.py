"""Evidence bundles: everything needed to check records without trusting us.

Format ``tracehub-evidence/2`` (a JSON object; documented in docs/ledger.md)::

    format      "tracehub-evidence/2"
    subject     what the bundle is about, opaque to the ledger (e.g. a lot)
    created_at  RFC 3339 UTC
    streams     [{stream, length, head}]    the hash chains the bundle covers, in full
    keys        [{key_id, algorithm, public_key, fingerprint, owner, valid_from, valid_until}]
    items       [{entry, record, leaf_hash, batch, leaf_index, proof}]
                entry: the signed ledger entry (kind, record_id, record_digest, links,
                signature); record: the JSON record itself (null when it is missing);
                proof: RFC 6962 audit path, hex, leaf to root
    batches     [{id, root, size, metadata, metadata_doc, anchor}]
                anchor: {chain_id, genesis_hash, contract, tx_hash, block_number,
                block_hash, block_time, status, confirmations} or null (not yet
                anchored); genesis_hash: block 0 of the chain (null: anchored before
                it was recorded); status included | confirmed | orphaned (the
                exporting hub's chain no longer holds it: reset or replaced)
    claims      optional: what the exporter states about the subject, derived from
                the records (for a lot: the page's numbers, ``tracehub.lot-claims/1``,
                docs/ledger.md); opaque to the ledger, covered by the manifest
    manifest    {digests, signature} or null: SHA-256 of every section, signed by the
                exporting site, so a change anywhere is located to its section

The ledger builds bundles from its store for any set of streams; what a
record is (an EPCIS event, a carbon report) is the caller's business.

A bundle names its own keys, so alone it proves only that it is self-consistent:
who signed is decided by trust anchors from outside it (``ledger.verify.trust``).
Format 2 added each key's ``fingerprint`` and is verified under the rules of
``ledger.verify`` (signatures attributed by trust anchors, key validity judged at
the anchor's block time); bundles of format 1 (``LEGACY_FORMATS``) are verified
under the same rules and reported as format 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.batch import BatchRecord, BatchStatus, StoredEntry
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.signing import Signer, format_instant, key_to_json

if TYPE_CHECKING:  # a type only: the store (SQLAlchemy) is the caller's to build
    from ledger.store.sqlstore import LedgerStore

BUNDLE_FORMAT = "tracehub-evidence/2"
LEGACY_FORMATS = ("tracehub-evidence/1",)  # still verifiable: same fields, less said

# (kind, record_id) → record, or None: then the ledger's kept copy (if any) is used.
RecordSource = Callable[[str, str], Any]
# The unsigned bundle → the caller's claims about its subject (None: no claims section).
ClaimSource = Callable[[dict[str, Any]], Any]


def build_bundle(
    store: LedgerStore,
    subject: dict[str, Any],
    streams: Sequence[str],
    records: RecordSource,
    signer: Signer | None,
    now: datetime,
    confirmations: int = 1,
    claims: ClaimSource | None = None,
) -> dict[str, Any]:
    """The evidence bundle for every entry of ``streams`` (signed when ``signer``);
    ``claims`` computes its ``claims`` section from the bundle before it is signed."""
    stored: dict[int, StoredEntry] = {}
    heads: list[dict[str, Any]] = []
    for name in sorted(set(streams)):
        chain = store.stream(name)
        heads.append(
            {
                "stream": name,
                "length": len(chain),
                "head": chain[-1].leaf_hash.hex() if chain else None,
            }
        )
        for item in chain:
            stored[item.id] = item
    items: list[dict[str, Any]] = []
    batch_ids: set[int] = set()
    for item in sorted(stored.values(), key=lambda s: s.id):
        batch = store.batch(item.batch_id) if item.batch_id is not None else None
        proof = store.proof(item) if batch is not None else ()
        if batch is not None:
            batch_ids.add(batch.id)
        items.append(
            {
                "entry": item.entry.to_json(),
                "record": _record(store, records, item.entry.kind, item.entry.record_id),
                "leaf_hash": item.leaf_hash.hex(),
                "batch": batch.id if batch is not None else None,
                "leaf_index": item.leaf_index if batch is not None else None,
                "proof": [p.hex() for p in proof],
            }
        )
    batch_docs = []
    for batch_id in sorted(batch_ids):
        record = store.batch(batch_id)
        assert record is not None  # referenced by an entry, so it exists
        batch_docs.append(_batch_json(record, confirmations))
    used = {item["entry"]["signature"]["key_id"] for item in items}
    if signer is not None:
        used.add(signer.key_id)
    known = [k for k in store.public_keys() if k.key_id in used]
    if signer is not None and signer.key_id not in {k.key_id for k in known}:
        known.append(signer.public)
    keys = [key_to_json(k) for k in known]
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "subject": subject,
        "created_at": format_instant(now),
        "streams": heads,
        "keys": keys,
        "items": items,
        "batches": batch_docs,
        "manifest": None,
    }
    if claims is not None:
        stated = claims(bundle)
        if stated is not None:
            bundle["claims"] = stated
    if signer is not None:
        sign_bundle(bundle, signer, now)
    return bundle


def sign_bundle(bundle: dict[str, Any], signer: Signer, now: datetime) -> None:
    """Set the bundle's manifest: the digests of its sections, signed by ``signer``."""
    digests = manifest_digests(bundle)
    signed_at = format_instant(now)
    value = signer.sign(manifest_bytes(digests, signer.key_id, signed_at, str(bundle["format"])))
    bundle["manifest"] = {
        "digests": digests,
        "signature": {"key_id": signer.key_id, "signed_at": signed_at, "value": value.hex()},
    }


def _record(store: LedgerStore, records: RecordSource, kind: str, record_id: str) -> Any:
    """The caller's copy of a record, else the one the ledger kept (``keep_record``)."""
    found = records(kind, record_id)
    return found if found is not None else store.kept_record(kind, record_id)


def _batch_json(batch: BatchRecord, confirmations: int) -> dict[str, Any]:
    anchor = None
    # An orphaned batch keeps its anchor, labelled: the exporting hub's chain no
    # longer holds it (reset or replaced); a verifier with that chain can still check it.
    if batch.status in (BatchStatus.INCLUDED, BatchStatus.CONFIRMED, BatchStatus.ORPHANED):
        assert batch.block_time is not None
        anchor = {
            "chain_id": batch.chain_id,
            "genesis_hash": batch.genesis_hash,
            "contract": batch.contract,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
            "block_hash": batch.block_hash,
            "block_time": format_instant(batch.block_time),
            "status": batch.status.value,
            "confirmations": confirmations,
        }
    return {
        "id": batch.id,
        "root": batch.root.hex(),
        "size": batch.size,
        "metadata": batch.metadata.hex(),
        "metadata_doc": batch.metadata_doc,
        "anchor": anchor,
    }


def _digest(value: Any) -> str:
    return sha256(canonicalize(value)).hex()


def manifest_digests(bundle: dict[str, Any]) -> dict[str, Any]:
    """SHA-256 of each section, so a changed field is located to its section.

    Records are not digested here: each item's entry already commits to its record.
    A ``claims`` section gets a digest of its own (absent when the bundle has none, so
    bundles exported before it existed keep their digests).
    """
    digests: dict[str, Any] = {
        "header": _digest(
            {k: bundle.get(k) for k in ("format", "subject", "created_at")},
        ),
        "streams": _digest(bundle.get("streams")),
        "keys": _digest(bundle.get("keys")),
        "items": [
            _digest({k: v for k, v in item.items() if k != "record"})
            if isinstance(item, dict)
            else _digest(item)
            for item in bundle.get("items") or []
        ],
        "batches": [_digest(b) for b in bundle.get("batches") or []],
    }
    if "claims" in bundle:
        digests["claims"] = _digest(bundle["claims"])
    return digests


def manifest_bytes(
    digests: dict[str, Any], key_id: str, signed_at: str, fmt: str = BUNDLE_FORMAT
) -> bytes:
    """What the manifest signature covers (``fmt``: the bundle's format)."""
    return canonicalize(
        {
            "format": fmt,
            "digests": digests,
            "signature": {"key_id": key_id, "signed_at": signed_at},
        }
    )
