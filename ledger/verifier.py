"""Verify an evidence bundle: offline first, the chain as an optional extra step.

Pure over data: the bundle is a parsed JSON value; the optional ``ChainView``
answers where a root is anchored. One ``Check`` per fact, each saying what it is
about, so a changed field, signature, proof, dropped or reordered event is named.

Outcomes, strongest first (the verdict is the strongest outcome of any check):

* ``fail``        the evidence contradicts itself or the chain → TAMPERED
* ``unreachable`` the chain could not be asked → CHAIN_UNREACHABLE
* ``pending``     an item is not in an anchored batch yet → NOT_ANCHORED
* ``skipped``     not checked (offline; unsigned bundle) — listed, not a failure
* ``ok``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ledger.anchor import Located
from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import Entry, record_digest, signature_problem
from ledger.errors import ChainError, LedgerError
from ledger.evidence import BUNDLE_FORMAT, manifest_bytes, manifest_digests
from ledger.merkle import verify_inclusion
from ledger.signing import PublicKey, key_from_json, parse_instant


class Outcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    PENDING = "pending"
    UNREACHABLE = "unreachable"
    FAIL = "fail"


class Verdict(IntEnum):
    """The verdict; its value is the exit code of ``tracehub verify``."""

    VERIFIED = 0
    TAMPERED = 1
    NOT_ANCHORED = 3
    CHAIN_UNREACHABLE = 4


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    outcome: Outcome
    subject: str
    detail: str
    record_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.SKIPPED)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: dict[str, Any]
    online: bool
    checks: tuple[Check, ...]

    @property
    def verdict(self) -> Verdict:
        outcomes = {c.outcome for c in self.checks}
        if Outcome.FAIL in outcomes or not self.checks:
            return Verdict.TAMPERED
        if Outcome.UNREACHABLE in outcomes:
            return Verdict.CHAIN_UNREACHABLE
        if Outcome.PENDING in outcomes:
            return Verdict.NOT_ANCHORED
        return Verdict.VERIFIED

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


class ChainView(Protocol):
    """Read access to a chain: where is ``root`` anchored in ``contract``, if at all."""

    def chain_id(self) -> int: ...

    def locate(self, contract: str, root: bytes) -> Located | None: ...

    def size_of(self, contract: str, root: bytes) -> int | None: ...


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
        checks.append(_fail("format", "bundle", f"format is {found!r}, not {BUNDLE_FORMAT!r}"))
        return Report(subject={}, online=chain is not None, checks=tuple(checks))
    subject = bundle.get("subject") if isinstance(bundle.get("subject"), dict) else {}
    keys = _keys(bundle.get("keys"), checks)
    trust = set(trusted_keys) if trusted_keys is not None else None
    batches = _batches(bundle.get("batches"), checks)
    entries: list[tuple[int, Entry, bytes]] = []
    for index, item in enumerate(_list(bundle.get("items"))):
        parsed = _item_checks(index, item, keys, trust, batches, checks)
        if parsed is not None:
            entries.append((index, *parsed))
    _stream_checks(_list(bundle.get("streams")), entries, checks)
    for batch in batches.values():
        checks.extend(_batch_checks(batch, chain))
        anchor = batch.get("anchor")
        anchored_in = anchor.get("contract") if isinstance(anchor, dict) else None
        if (
            contract is not None
            and anchored_in is not None
            and (str(anchored_in).lower() != contract.lower())
        ):
            checks.append(
                _fail(
                    "contract",
                    f"batch {batch['id']}",
                    f"anchored in {anchored_in}, not the trusted {contract}",
                )
            )
    checks.append(_manifest_check(bundle, keys))
    return Report(subject=subject, online=chain is not None, checks=tuple(checks))


# items ------------------------------------------------------------------------------


def _item_checks(
    index: int,
    item: Any,
    keys: dict[str, PublicKey],
    trust: set[str] | None,
    batches: dict[int, dict[str, Any]],
    checks: list[Check],
) -> tuple[Entry, bytes] | None:
    if not isinstance(item, dict):
        checks.append(_fail("entry", f"item {index}", "is not a JSON object"))
        return None
    try:
        entry = Entry.from_json(item.get("entry"))
    except LedgerError as exc:
        checks.append(_fail("entry", f"item {index}", str(exc)))
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
    add_inclusion(item, entry, leaf, batches, add)
    return entry, leaf


def add_inclusion(
    item: dict[str, Any],
    entry: Entry,
    leaf: bytes,
    batches: dict[int, dict[str, Any]],
    add: Any,
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


# hash chains -------------------------------------------------------------------------


def _stream_checks(
    streams: list[Any], entries: list[tuple[int, Entry, bytes]], checks: list[Check]
) -> None:
    by_stream: dict[str, list[tuple[int, bytes, Entry]]] = defaultdict(list)
    for _, entry, leaf in entries:
        for link in entry.links:
            by_stream[link.stream].append((link.seq, leaf, entry))
    for claim in streams:
        if not isinstance(claim, dict) or not isinstance(claim.get("stream"), str):
            checks.append(_fail("chain", "streams", "a stream record is malformed"))
            continue
        name = claim["stream"]
        problems = _chain_problems(name, claim, sorted(by_stream.get(name, []), key=_seq))
        if problems:
            checks.extend(_fail("chain", f"stream {name}", p) for p in problems)
        else:
            checks.append(
                Check(
                    name="chain",
                    outcome=Outcome.OK,
                    subject=f"stream {name}",
                    detail=f"{claim.get('length')} entries linked in order, head matches",
                )
            )


def _seq(value: tuple[int, bytes, Entry]) -> int:
    return value[0]


def _chain_problems(
    name: str, claim: dict[str, Any], links: list[tuple[int, bytes, Entry]]
) -> list[str]:
    problems: list[str] = []
    length = claim.get("length")
    seen: dict[int, tuple[bytes, Entry]] = {}
    for seq, leaf, entry in links:
        if seq in seen:
            problems.append(
                f"seq {seq} is claimed by both {seen[seq][1].record_id} and {entry.record_id}"
            )
        seen[seq] = (leaf, entry)
    if not isinstance(length, int) or length < 0:
        return [*problems, f"length {length!r} is not a count"]
    for seq in range(length):
        if seq not in seen:
            problems.append(f"entry at seq {seq} is missing (an event was dropped)")
            continue
        prev = seen[seq][1].link(name)
        expected = seen[seq - 1][0] if seq > 0 and seq - 1 in seen else None
        if prev is not None and seq > 0 and expected is not None and prev.prev != expected:
            problems.append(
                f"{seen[seq][1].record_id} at seq {seq} does not follow "
                f"{seen[seq - 1][1].record_id} (reordered or replaced)"
            )
        if prev is not None and seq == 0 and prev.prev is not None:
            problems.append(f"{seen[0][1].record_id} claims seq 0 but links a predecessor")
    beyond = sorted(s for s in seen if s >= length)
    if beyond:
        problems.append(f"entries at seq {beyond} lie beyond the stream's length {length}")
    head = claim.get("head")
    last = seen.get(length - 1)
    if length and last is not None and head != last[0].hex():
        problems.append(f"head {head} is not the leaf of seq {length - 1}")
    return problems


# batches and the chain ---------------------------------------------------------------


def _batches(raw: Any, checks: list[Check]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for item in _list(raw):
        try:
            found[int(item["id"])] = {
                **item,
                "root": bytes.fromhex(item["root"]),
                "size": int(item["size"]),
                "metadata": bytes.fromhex(item["metadata"]),
            }
        except (KeyError, TypeError, ValueError):
            checks.append(_fail("batch", "batches", f"a batch record is malformed: {item!r:.80}"))
    return found


def _batch_checks(batch: dict[str, Any], chain: ChainView | None) -> list[Check]:
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
        Check(name="metadata", outcome=Outcome.OK, subject=who, detail="metadata hash matches")
        if meta_ok and size_ok
        else _fail("metadata", who, "metadata document does not hash to the metadata or size")
    )
    anchor = batch.get("anchor")
    if not isinstance(anchor, dict):
        out.append(_pending("anchor", who, "not yet anchored: no transaction recorded"))
        return out
    if anchor.get("status") != "confirmed":
        out.append(
            _pending(
                "anchor",
                who,
                f"mined in block {anchor.get('block_number')}, awaiting "
                f"{anchor.get('confirmations')} confirmations",
            )
        )
    else:
        out.append(
            Check(
                name="anchor",
                outcome=Outcome.OK,
                subject=who,
                detail=(
                    f"chain {anchor.get('chain_id')} contract {anchor.get('contract')} tx "
                    f"{anchor.get('tx_hash')} block {anchor.get('block_number')} "
                    f"({anchor.get('block_time')})"
                ),
            )
        )
    out.append(_on_chain(who, batch, anchor, chain))
    return out


def _on_chain(
    who: str, batch: dict[str, Any], anchor: dict[str, Any], chain: ChainView | None
) -> Check:
    if chain is None:
        return Check(
            name="on chain",
            outcome=Outcome.SKIPPED,
            subject=who,
            detail="skipped: offline — the root's presence on chain was not checked (use --rpc)",
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
        return _fail(
            "on chain", who, f"node is chain {chain_id}, bundle says {anchor.get('chain_id')}"
        )
    if located is None:
        return _fail("on chain", who, f"root {batch['root'].hex()} is not anchored in {contract}")
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
        return _fail("on chain", who, "anchor differs from the chain: " + "; ".join(wrong))
    return Check(
        name="on chain",
        outcome=Outcome.OK,
        subject=who,
        detail=f"root anchored in block {located.block_number} ({located.block_hash})",
    )


# manifest and keys -------------------------------------------------------------------


def _keys(raw: Any, checks: list[Check]) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    for item in _list(raw):
        try:
            key = key_from_json(item)
        except ValueError as exc:
            checks.append(_fail("keys", "keys", f"a key record is unusable: {exc}"))
            continue
        keys[key.key_id] = key
    return keys


def _manifest_check(bundle: dict[str, Any], keys: dict[str, PublicKey]) -> Check:
    manifest = bundle.get("manifest")
    if manifest is None:
        return Check(
            name="bundle signature",
            outcome=Outcome.SKIPPED,
            subject="bundle",
            detail="skipped: the bundle is unsigned (built for local verification)",
        )
    try:
        sig = manifest["signature"]
        claimed = manifest["digests"]
        key = keys.get(sig["key_id"])
        value = bytes.fromhex(sig["value"])
        signed_at = parse_instant(sig["signed_at"])
    except (KeyError, TypeError, ValueError):
        return _fail("bundle signature", "bundle", "manifest is malformed")
    if key is None:
        return _fail("bundle signature", "bundle", f"signing key {sig['key_id']} is not in keys")
    if not key.covers(signed_at) or not key.verify(
        value, manifest_bytes(claimed, sig["key_id"], sig["signed_at"])
    ):
        return _fail("bundle signature", "bundle", "manifest signature does not verify")
    actual = manifest_digests(bundle)
    changed = [name for name in ("header", "streams", "keys") if claimed.get(name) != actual[name]]
    for section in ("items", "batches"):
        want, got = claimed.get(section) or [], actual[section]
        if len(want) != len(got):
            changed.append(f"{section} (count {len(got)}, signed {len(want)})")
        changed += [
            f"{section}[{i}]{_label(bundle, section, i)}"
            for i, (w, g) in enumerate(zip(want, got, strict=False))
            if w != g
        ]
    if changed:
        return _fail(
            "bundle signature",
            "bundle",
            "changed after export: " + ", ".join(changed),
        )
    return Check(
        name="bundle signature",
        outcome=Outcome.OK,
        subject="bundle",
        detail=f"every section as exported, signed by {key.owner} ({key.key_id})",
    )


def _label(bundle: dict[str, Any], section: str, index: int) -> str:
    try:
        item = bundle[section][index]
        if section == "items":
            return f" ({item['entry']['kind']} {item['entry']['record_id']})"
        return f" (batch {item['id']})"
    except (KeyError, TypeError, IndexError):
        return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fail(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.FAIL, subject=subject, detail=detail)


def _pending(name: str, subject: str, detail: str) -> Check:
    return Check(name=name, outcome=Outcome.PENDING, subject=subject, detail=detail)
