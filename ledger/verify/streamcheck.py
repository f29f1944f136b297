"""Hash-chain checks: each stream a bundle claims is complete, in order, and linked.

Each entry names, per stream, its ``seq`` and the previous entry's leaf hash
(``prev``), so an entry dropped from the middle leaves a gap, a reordered or
replaced entry breaks a link, and a head that is not the last leaf is named.
The stream's ``length`` and ``head`` come from the bundle; only the signed
manifest vouches for them (``ledger.verify.manifestcheck``), so without it the newest
entries could have been cut off together with the claim.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledger.entry import Entry
from ledger.verify.report import Check, fail, ok


def stream_checks(streams: list[Any], entries: list[tuple[Entry, bytes]]) -> list[Check]:
    """One check per claimed stream (or one per problem in it)."""
    by_stream: dict[str, list[tuple[int, bytes, Entry]]] = defaultdict(list)
    for entry, leaf in entries:
        for link in entry.links:
            by_stream[link.stream].append((link.seq, leaf, entry))
    checks: list[Check] = []
    for claim in streams:
        if not isinstance(claim, dict) or not isinstance(claim.get("stream"), str):
            checks.append(fail("chain", "streams", "a stream record is malformed"))
            continue
        name = claim["stream"]
        problems = _chain_problems(name, claim, sorted(by_stream.get(name, []), key=_seq))
        if problems:
            checks.extend(fail("chain", f"stream {name}", p) for p in problems)
        else:
            checks.append(
                ok(
                    "chain",
                    f"stream {name}",
                    f"{claim.get('length')} entries linked in order, head matches",
                )
            )
    return checks


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
