"""RFC 6962 Merkle trees: roots, inclusion and consistency proofs.

leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), the empty
tree is SHA-256(""), and a tree of n > 1 leaves splits at the largest power of
two strictly below n (RFC 6962 §2.1; RFC 9162 §2.1 for the verifiers).

Builders (``merkle_root``, ``inclusion_proof``, ``consistency_proof``) work on
trusted inputs and raise ``ProofError`` for malformed ones. Verifiers take
untrusted data from an auditor's bundle and answer ``True``/``False``: a
proof that is the wrong shape simply does not verify.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.digest import DIGEST_SIZE, sha256
from ledger.errors import ProofError

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"")


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf's data."""
    return sha256(_LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node."""
    return sha256(_NODE_PREFIX + left + right)


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash over already-hashed leaves (``leaf_hash`` of each datum)."""
    _check_leaves(leaf_hashes)
    if not leaf_hashes:
        return EMPTY_ROOT
    return _subtree(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """The audit path of leaf ``index``: sibling hashes from the leaf up to the root."""
    _check_leaves(leaf_hashes)
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ProofError(f"index {index} is out of range for a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi = 0, size
    # Walk down from the root, remembering the sibling at each level.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_subtree(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_subtree(leaf_hashes, lo, lo + k))
            lo = lo + k
    return tuple(reversed(path))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> tuple[bytes, ...]:
    """The proof that the first ``old_size`` leaves are a prefix of ``leaf_hashes``."""
    _check_leaves(leaf_hashes)
    size = len(leaf_hashes)
    if not 0 < old_size <= size:
        raise ProofError(
            f"old_size {old_size} must be between 1 and the tree size {size}; "
            "a consistency proof from the empty tree proves nothing"
        )
    return tuple(_subproof(leaf_hashes, old_size, 0, size, complete=True))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` with ``leaf_hash`` is in the tree ``root``."""
    if not (0 <= index < size) or not _all_digests([leaf_hash, *proof]):
        return False
    fn, sn = index, size - 1
    acc = leaf_hash
    for sibling in proof:
        if sn == 0:
            return False  # more proof nodes than the tree has levels
        if fn & 1 or fn == sn:
            acc = node_hash(sibling, acc)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            acc = node_hash(acc, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and acc == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``old_root`` is a prefix of the tree ``new_root``."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        # Same tree: nothing to prove. An empty tree has exactly one root.
        if old_size == 0 and old_root != EMPTY_ROOT:
            return False
        return not proof and old_root == new_root
    if old_size == 0 or not proof or not _all_digests(proof):
        return False
    nodes = list(proof)
    # If the old tree is a complete left subtree, its root is the first node implicitly.
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class MerkleTree:
    """A fixed batch of leaves that answers many inclusion proofs cheaply.

    ``inclusion_proof`` recomputes the subtrees it needs, O(n) per proof; a tree
    remembers every subtree hash it computed, so proofs for all n leaves cost
    O(n log n) together (what serving a whole lot's evidence needs).
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        _check_leaves(leaf_hashes)
        self._leaves = tuple(leaf_hashes)
        self._memo: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return len(self._leaves)

    @property
    def root(self) -> bytes:
        return self._hash(0, len(self._leaves)) if self._leaves else EMPTY_ROOT

    def proof(self, index: int) -> tuple[bytes, ...]:
        size = len(self._leaves)
        if not 0 <= index < size:
            raise ProofError(f"index {index} is out of range for a tree of {size} leaves")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._hash(lo, lo + k))
                lo = lo + k
        return tuple(reversed(path))

    def _hash(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self._leaves[lo]
        found = self._memo.get((lo, hi))
        if found is None:
            k = _split(hi - lo)
            found = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
            self._memo[(lo, hi)] = found
        return found


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_subtree(leaves, lo, lo + k), _subtree(leaves, lo + k, hi))


def _subproof(leaves: Sequence[bytes], m: int, lo: int, hi: int, *, complete: bool) -> list[bytes]:
    # RFC 6962 §2.1.2 SUBPROOF(m, D[lo:hi], b).
    n = hi - lo
    if m == n:
        return [] if complete else [_subtree(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [
            *_subproof(leaves, m, lo, lo + k, complete=complete),
            _subtree(leaves, lo + k, hi),
        ]
    return [
        *_subproof(leaves, m - k, lo + k, hi, complete=False),
        _subtree(leaves, lo, lo + k),
    ]


def _all_digests(hashes: Sequence[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == DIGEST_SIZE for h in hashes)


def _check_leaves(leaf_hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(leaf_hashes):
        if not isinstance(h, bytes) or len(h) != DIGEST_SIZE:
            got = f"{len(h)} bytes" if isinstance(h, bytes) else type(h).__name__
            raise ProofError(
                f"leaf_hashes[{i}] is {got}; each must be a {DIGEST_SIZE}-byte "
                "leaf_hash(data), not the raw data"
            )
