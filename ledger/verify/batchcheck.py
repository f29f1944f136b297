"""Batch checks: each batch's metadata, its anchor record, and the root on chain.

Offline, a batch's metadata document must hash to the anchored metadata and
state its size, and its anchor record must say it is confirmed. With a
``ChainView`` the root is looked up in the contract: the chain id, block, block
hash, transaction and size must all be the bundle's.
"""

from __future__ import annotations

from typing import Any, Protocol

from ledger.anchor import Located
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.errors import ChainError, LedgerError
from ledger.verify.report import Check, Outcome, as_list, fail, ok, pending, skipped


class ChainView(Protocol):
    """Read access to a chain: where is ``root`` anchored in ``contract``, if at all."""

    def chain_id(self) -> int: ...

    def locate(self, contract: str, root: bytes) -> Located | None: ...

    def size_of(self, contract: str, root: bytes) -> int | None: ...


def parse_batches(raw: Any, checks: list[Check]) -> dict[int, dict[str, Any]]:
    """The bundle's batches by id, root and metadata as bytes; malformed ones are failures."""
    found: dict[int, dict[str, Any]] = {}
    for item in as_list(raw):
        try:
            found[int(item["id"])] = {
                **item,
                "root": bytes.fromhex(item["root"]),
                "size": int(item["size"]),
                "metadata": bytes.fromhex(item["metadata"]),
            }
        except (KeyError, TypeError, ValueError):
            checks.append(fail("batch", "batches", f"a batch record is malformed: {item!r:.80}"))
    return found


def batch_checks(
    batch: dict[str, Any], chain: ChainView | None, contract: str | None
) -> list[Check]:
    """Metadata, anchor, on-chain presence (and the trusted contract, when pinned)."""
    who = f"batch {batch['id']}"
    out: list[Check] = []
    try:
        meta_ok = sha256(canonicalize(batch.get("metadata_doc"))) == batch["metadata"]
    except LedgerError:
        meta_ok = False
    size_ok = isinstance(batch.get("metadata_doc"), dict) and (
        batch["metadata_doc"].get("size") == batch["size"]
    )
    out.append(
        ok("metadata", who, "metadata hash matches")
        if meta_ok and size_ok
        else fail("metadata", who, "metadata document does not hash to the metadata or size")
    )
    anchor = batch.get("anchor")
    if not isinstance(anchor, dict):
        out.append(pending("anchor", who, "not yet anchored: no transaction recorded"))
        return out
    if anchor.get("status") != "confirmed":
        out.append(
            pending(
                "anchor",
                who,
                f"mined in block {anchor.get('block_number')}, awaiting "
                f"{anchor.get('confirmations')} confirmations",
            )
        )
    else:
        out.append(
            ok(
                "anchor",
                who,
                f"chain {anchor.get('chain_id')} contract {anchor.get('contract')} tx "
                f"{anchor.get('tx_hash')} block {anchor.get('block_number')} "
                f"({anchor.get('block_time')})",
            )
        )
    out.append(_on_chain(who, batch, anchor, chain))
    anchored_in = anchor.get("contract")
    if (
        contract is not None
        and anchored_in is not None
        and str(anchored_in).lower() != (contract.lower())
    ):
        out.append(fail("contract", who, f"anchored in {anchored_in}, not the trusted {contract}"))
    return out


def _on_chain(
    who: str, batch: dict[str, Any], anchor: dict[str, Any], chain: ChainView | None
) -> Check:
    if chain is None:
        return skipped(
            "on chain",
            who,
            "skipped: offline — the root's presence on chain was not checked (use --rpc)",
        )
    contract = str(anchor.get("contract"))
    try:
        chain_id = chain.chain_id()
        located = chain.locate(contract, batch["root"])
        size = chain.size_of(contract, batch["root"]) if located is not None else None
    except ChainError as exc:
        return Check(
            name="on chain",
            outcome=Outcome.UNREACHABLE,
            subject=who,
            detail=f"could not reach the chain: {exc}",
        )
    if chain_id != anchor.get("chain_id"):
        return fail(
            "on chain", who, f"node is chain {chain_id}, bundle says {anchor.get('chain_id')}"
        )
    if located is None:
        return fail("on chain", who, f"root {batch['root'].hex()} is not anchored in {contract}")
    wrong = [
        f"{field} {anchor.get(field)} ≠ chain's {value}"
        for field, value in (
            ("block_number", located.block_number),
            ("block_hash", located.block_hash),
            ("tx_hash", located.tx_hash),
        )
        if value is not None and anchor.get(field) != value
    ]
    if size != batch["size"]:
        wrong.append(f"size {batch['size']} ≠ chain's {size}")
    if wrong:
        return fail("on chain", who, "anchor differs from the chain: " + "; ".join(wrong))
    return ok(
        "on chain", who, f"root anchored in block {located.block_number} ({located.block_hash})"
    )
