"""The trail against itself and against the ledger: what ``AuditTrail.verify`` reports (pure).

Each row is read back as an entry and hashed afresh (never trusting its ``digest``
column): a row signed into the ledger must hash to the signed ``record_digest`` (else it
was *edited*, naming the fields that differ from the ledger's kept copy, or *reordered*
when it holds what another entry signed), under a signature that holds; each entry must
name the one before it (``prev``: the signed digest, or the stored one of an entry not
yet signed), else the *chain* is broken there; every seq from 1 to the last, and every
seq the ledger signed, must be a row (else *deleted*); a row the records note as signed
that the ledger does not hold is *lost*. An entry not yet signed is listed as
``unsigned`` — waiting for the ledger, not tampered — though an edit of it still shows
when it no longer hashes to its stored digest, or breaks the next entry's link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import groupby
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ledger.batch import StoredEntry
from ledger.entry import signature_problem
from ledger.merkle import leaf_hash, merkle_root
from ledger.signing import PublicKey
from traceability.audit.entry import KIND, AuditEntry, differing, from_row, seq_of

ProblemKind = Literal[
    "edited", "reordered", "deleted", "chain", "signature", "lost", "forged", "batch"
]
_PLACE = ("seq", "prev")  # what a moved entry changes; the rest is what it says


class AuditProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    kind: ProblemKind
    detail: str

    def describe(self) -> str:
        return f"audit entry {self.seq} {self.kind}: {self.detail}"


class AuditReport(BaseModel):
    """``problems`` by seq (the first is the first entry that differs); ``unsigned``:
    entries the ledger does not hold yet."""

    model_config = ConfigDict(frozen=True)

    entries: int
    signed: int
    anchored: int
    unsigned: tuple[int, ...]
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> AuditProblem | None:
        return self.problems[0] if self.problems else None


def check_trail(
    rows: Sequence[Mapping[str, Any]],
    ledger_entries: Sequence[StoredEntry],
    kept: Callable[[int], Any],
    marked: set[int],
    keys: Mapping[str, PublicKey],
    untagged: AbstractSet[int] = frozenset(),
) -> AuditReport:
    """``rows`` by seq; ``ledger_entries`` the ledger's ``audit-entry`` entries; ``kept(seq)``
    the ledger's kept record of an entry; ``marked`` the seqs the records note as signed;
    ``keys`` the site's public keys by id, from outside the database (the keystore): a
    signature under any other key is "not the site's key"; ``untagged`` the seqs whose
    row tag fails (``AuditTrail``): not yet signed, such a row is *forged*."""
    signed: dict[int, StoredEntry] = {}
    for found in ledger_entries:
        number = seq_of(found.entry.record_id)
        if found.entry.kind == KIND and number is not None:
            signed[number] = found
    problems: list[AuditProblem] = []
    unsigned: list[int] = []
    mismatched: dict[int, dict[str, Any]] = {}
    before: tuple[int, str | None] = (0, None)  # the previous row's seq and digest
    for row in rows:
        seq, stored = int(row["seq"]), signed.get(int(row["seq"]))
        link = stored.entry.record_digest.hex() if stored else str(row["digest"])
        try:
            entry = from_row(row)
        except ValueError as exc:
            problems.append(AuditProblem(seq=seq, kind="edited", detail=f"unreadable: {exc}"))
            before = (seq, link)
            continue
        digest = entry.digest()
        if stored is not None and stored.entry.record_digest.hex() != digest:
            mismatched[seq] = entry.record()
        elif stored is not None:
            key = keys.get(stored.entry.signature.key_id)
            held = stored.entry.signature.key_id
            wrong = (
                f"not the site's key ({held} is not in its keystore)"
                if key is None
                else signature_problem(stored.entry, key)
            )
            if wrong is not None:
                problems.append(AuditProblem(seq=seq, kind="signature", detail=wrong))
        else:
            if seq in marked:
                problems.append(
                    AuditProblem(
                        seq=seq,
                        kind="lost",
                        detail="the records note it signed; the ledger holds no record of it",
                    )
                )
            else:
                unsigned.append(seq)
            if seq in untagged and row["digest"] == digest:
                why = (
                    "forged or edited before signing: its row tag fails (not written by the trail)"
                )
                problems.append(AuditProblem(seq=seq, kind="forged", detail=why))
            if row["digest"] != digest:
                problems.append(
                    AuditProblem(
                        seq=seq,
                        kind="edited",
                        detail="it no longer hashes to the digest stored with it "
                        "(not signed yet: the fields edited cannot be named)",
                    )
                )
        if seq not in mismatched and before[0] == seq - 1 and entry.prev != before[1]:
            problems.append(_broken(entry, before[1]))
        before = (seq, link)
    problems.extend(_mismatches(mismatched, signed, kept))
    problems.extend(_deleted([int(r["seq"]) for r in rows], signed))
    order = {kind: i for i, kind in enumerate(("deleted", "edited", "reordered", "chain"))}
    problems.sort(key=lambda p: (p.seq, order.get(p.kind, 9)))
    return AuditReport(
        entries=len(rows),
        signed=len(signed),
        anchored=sum(1 for s in signed.values() if s.batch_id is not None),
        unsigned=tuple(unsigned),
        problems=tuple(problems),
    )


class BatchLeaves(BaseModel):
    """One cut batch as the ledger holds it: its root and size, and its leaves now."""

    model_config = ConfigDict(frozen=True)

    id: int
    root: bytes
    size: int
    leaves: tuple[bytes, ...]


def check_batches(
    batches: Sequence[BatchLeaves], ledger_entries: Sequence[StoredEntry], last_seq: int
) -> list[AuditProblem]:
    """Inclusion: each batched audit entry's leaf is its entry's hash, at its place in
    its batch, and each batch's leaves still make its root. An anchored entry deleted
    from the ledger (with its row) shows here, from the batch that held it; named at the
    first audit entry of that batch, or past the last row when it held no other."""
    problems: list[AuditProblem] = []
    held: dict[int, list[int]] = {}
    by_id = {b.id: b for b in batches}
    for found in ledger_entries:
        number = seq_of(found.entry.record_id)
        if found.entry.kind != KIND or number is None or found.batch_id is None:
            continue
        held.setdefault(found.batch_id, []).append(number)
        batch = by_id.get(found.batch_id)
        index = found.leaf_index
        leaf = leaf_hash(found.entry.leaf_data())
        if (
            batch is None
            or index is None
            or index >= len(batch.leaves)
            or (batch.leaves[index] != leaf or found.leaf_hash != leaf)
        ):
            why = f"its leaf is not the hash of its entry at its place in batch {found.batch_id}"
            problems.append(AuditProblem(seq=number, kind="batch", detail=why))
    for batch in batches:
        if len(batch.leaves) == batch.size and merkle_root(batch.leaves) == batch.root:
            continue
        seq = min(held.get(batch.id, [last_seq + 1]))
        why = (
            f"batch {batch.id} holds {len(batch.leaves)} of the {batch.size} leaves its root "
            "commits to, or they no longer make its root (a batched entry was removed or "
            "changed in the ledger)"
        )
        problems.append(AuditProblem(seq=seq, kind="batch", detail=why))
    return problems


def _broken(entry: AuditEntry, expected: str | None) -> AuditProblem:
    named = "no predecessor" if entry.prev is None else f"prev {entry.prev[:16]}…"
    if expected is None:
        detail = f"names {named}; it is the first entry and must name none"
    else:
        detail = (
            f"does not follow entry {entry.seq - 1}: names {named}, entry {entry.seq - 1} "
            f"hashes to {expected[:16]}… (an entry was inserted, replaced or moved)"
        )
    return AuditProblem(seq=entry.seq, kind="chain", detail=detail)


def _mismatches(
    mismatched: Mapping[int, dict[str, Any]],
    signed: Mapping[int, StoredEntry],
    kept: Callable[[int], Any],
) -> list[AuditProblem]:
    """Each row that does not hash to its signed digest: reordered when it says what
    another entry signed (only its place differs), else edited, naming the fields."""
    copies = {seq: kept(seq) for seq in mismatched}
    said = {seq: _content(copy) for seq, copy in copies.items() if isinstance(copy, dict)}
    problems: list[AuditProblem] = []
    for seq, record in mismatched.items():
        copy = copies[seq]
        moved = next((s for s, c in said.items() if s != seq and c == _content(record)), None)
        if moved is not None:
            problems.append(
                AuditProblem(
                    seq=seq,
                    kind="reordered",
                    detail=f"it holds what entry {moved} signed (entries were swapped or moved)",
                )
            )
        elif isinstance(copy, dict):
            fields = differing(record, copy)
            verb = "differs" if len(fields) == 1 else "differ"
            detail = f"{', '.join(fields)} {verb} from the signed record"
            problems.append(AuditProblem(seq=seq, kind="edited", detail=detail))
        else:
            signed_digest = signed[seq].entry.record_digest.hex()
            problems.append(
                AuditProblem(
                    seq=seq,
                    kind="edited",
                    detail=f"it does not hash to the signed digest {signed_digest[:16]}…",
                )
            )
    return problems


def _content(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _PLACE}


def _deleted(seqs: Sequence[int], signed: Mapping[int, StoredEntry]) -> list[AuditProblem]:
    """One problem per run of missing seqs: below the last row, or signed by the ledger."""
    held = set(seqs)
    top = max([0, *held])
    missing = sorted(({*range(1, top + 1)} | set(signed)) - held)
    problems = []
    for _, run in groupby(enumerate(missing), key=lambda pair: pair[1] - pair[0]):
        numbers = [n for _, n in run]
        first, last = numbers[0], numbers[-1]
        which = f"entry {first} is" if first == last else f"entries {first} to {last} are"
        in_ledger = [n for n in numbers if n in signed]
        where = (
            f"; the ledger holds {len(in_ledger)} of them signed"
            if in_ledger
            else "; the chain skips them"
        )
        problems.append(
            AuditProblem(
                seq=first, kind="deleted", detail=f"{which} missing from the records{where}"
            )
        )
    return problems
