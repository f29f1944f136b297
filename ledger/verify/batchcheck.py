"""Batch checks: each batch's metadata, its anchor record, and the root on chain.

Offline, a batch's metadata document must hash to the anchored metadata and
state its size, and its anchor record must say it is confirmed. With a
``ChainView`` the root is looked up in the contract: the chain id, block, block
hash, transaction and size must all be the bundle's.

"This chain is not the one the batch was anchored on" is told apart from
"tampered": a chain with another chain id or genesis hash (block 0) than the
anchor names, or with no contract at the anchor's address (a reset chain), gives
``other chain``, not ``fail`` — the records may be honest, their anchor cannot be
checked there. A root absent from, or different on, the right chain is ``fail``.
An anchor the exporting hub marked ``orphaned`` (its chain no longer holds it) is
``other chain`` offline; with a chain it is checked on that chain like any other.
"""

from __future__ import annotations

from typing import Any, Protocol

from ledger.anchor import Located
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.errors import ChainError, LedgerError
from ledger.verify.report import Check, Outcome, as_list, fail, ok, pending, skipped


def other_chain(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.OTHER_CHAIN, subject=subject, detail=detail)


class ChainView(Protocol):
    """Read access to a chain: where is ``root`` anchored in ``contract``, if at all."""

    def chain_id(self) -> int: ...

    def genesis_hash(self) -> str: ...

    def has_code(self, contract: str) -> bool: ...

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
    if anchor.get("status") == "orphaned":
        where = (
            f"chain {anchor.get('chain_id')} (genesis {anchor.get('genesis_hash')}) "
            f"contract {anchor.get('contract')} block {anchor.get('block_number')}"
        )
        if chain is None:
            out.append(
                other_chain(
                    "anchor",
                    who,
                    f"anchored on {where}, which the exporting hub's chain no longer is "
                    "(reset or replaced); check it with --rpc on that chain",
                )
            )
        else:
            out.append(skipped("anchor", who, f"orphaned by the exporting hub; on {where}"))
    elif anchor.get("status") != "confirmed":
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
        genesis = chain.genesis_hash()
        elsewhere = _elsewhere(anchor, chain_id, genesis)
        if elsewhere is None and not chain.has_code(contract):
            elsewhere = f"no contract at {contract} on this chain (it was reset or replaced)"
        located = None if elsewhere else chain.locate(contract, batch["root"])
        size = chain.size_of(contract, batch["root"]) if located is not None else None
    except ChainError as exc:
        return Check(
            name="on chain",
            outcome=Outcome.UNREACHABLE,
            subject=who,
            detail=f"could not reach the chain: {exc}",
        )
    if elsewhere is not None:
        return other_chain(
            "on chain", who, f"this chain is not the one the batch was anchored on: {elsewhere}"
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


def _elsewhere(anchor: dict[str, Any], chain_id: int, genesis: str) -> str | None:
    """Why the node asked is another chain than the anchor's, or None."""
    if chain_id != anchor.get("chain_id"):
        return f"the node is chain {chain_id}, the batch was anchored on {anchor.get('chain_id')}"
    named = anchor.get("genesis_hash")
    if named is not None and str(named).lower() != genesis.lower():
        return f"its genesis block is {genesis}, the batch's chain began with {named}"
    return None
