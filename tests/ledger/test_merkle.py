"""RFC 6962 Merkle trees against transparency-dev vectors, plus properties."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "ledger" / "rfc6962"
VECTORS = json.loads((DATA / "rfc6962-vectors.json").read_text())
DERIVED = json.loads((DATA / "derived-all-proofs-size1-8.json").read_text())
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]
INCLUSION_PROBES = sorted((DATA / "testdata" / "inclusion").rglob("*.json"))
CONSISTENCY_PROBES = sorted((DATA / "testdata" / "consistency").rglob("*.json"))


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _probe_id(path: Path) -> str:
    return str(path.relative_to(DATA / "testdata"))


def test_leaf_hashes_match() -> None:
    assert [h.hex() for h in LEAF_HASHES] == VECTORS["leaf_hashes"]


@pytest.mark.parametrize("size", range(9))
def test_root_for_every_size(size: int) -> None:
    assert merkle_root(LEAF_HASHES[:size]).hex() == VECTORS["root_by_tree_size"][str(size)]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex().startswith("e3b0c442")


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_proofs"] + DERIVED["inclusion_proofs"], ids=repr
)
def test_inclusion_vector(vector: dict[str, Any]) -> None:
    size, index = vector["tree_size"], vector["leaf_index"]
    proof = inclusion_proof(LEAF_HASHES[:size], index)
    assert [p.hex() for p in proof] == vector["audit_path"]
    root = bytes.fromhex(vector["root"])
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, root)


@pytest.mark.parametrize(
    "vector", VECTORS["consistency_proofs"] + DERIVED["consistency_proofs"], ids=repr
)
def test_consistency_vector(vector: dict[str, Any]) -> None:
    old, new = vector["old_size"], vector["new_size"]
    proof = consistency_proof(LEAF_HASHES[:new], old)
    assert [p.hex() for p in proof] == vector["proof"]
    old_root, new_root = bytes.fromhex(vector["old_root"]), bytes.fromhex(vector["new_root"])
    assert verify_consistency(old, new, old_root, new_root, proof)


def test_all_upstream_probes_are_present() -> None:
    assert (len(INCLUSION_PROBES), len(CONSISTENCY_PROBES)) == (98, 98)


@pytest.mark.parametrize("path", INCLUSION_PROBES, ids=_probe_id)
def test_inclusion_probe(path: Path) -> None:
    probe = json.loads(path.read_text())
    ok = verify_inclusion(
        _b64(probe["leafHash"]),
        probe["leafIdx"],
        probe["treeSize"],
        [_b64(p) for p in probe["proof"] or []],
        _b64(probe["root"]),
    )
    assert ok is not probe["wantErr"], probe["desc"]


@pytest.mark.parametrize("path", CONSISTENCY_PROBES, ids=_probe_id)
def test_consistency_probe(path: Path) -> None:
    probe = json.loads(path.read_text())
    ok = verify_consistency(
        probe["size1"],
        probe["size2"],
        _b64(probe["root1"]),
        _b64(probe["root2"]),
        [_b64(p) for p in probe["proof"] or []],
    )
    assert ok is not probe["wantErr"], probe["desc"]


def test_inclusion_proof_rejects_an_index_out_of_range() -> None:
    with pytest.raises(ProofError, match="index 3 is out of range for a tree of 3 leaves"):
        inclusion_proof(LEAF_HASHES[:3], 3)
    with pytest.raises(ProofError, match="index -1 is out of range"):
        inclusion_proof(LEAF_HASHES[:3], -1)


def test_builders_reject_raw_data_instead_of_leaf_hashes() -> None:
    with pytest.raises(ProofError, match=r"leaf_hashes\[1\] is 1 bytes; each must be a 32-byte"):
        merkle_root([LEAF_HASHES[0], b"\x00"])
    with pytest.raises(ProofError, match=r"leaf_hashes\[0\] is str"):
        inclusion_proof(["ab" * 32], 0)  # type: ignore[list-item]


@pytest.mark.parametrize("old_size", [0, 4])
def test_consistency_proof_rejects_old_size_out_of_range(old_size: int) -> None:
    with pytest.raises(ProofError, match=f"old_size {old_size} must be between 1 and the tree"):
        consistency_proof(LEAF_HASHES[:3], old_size)


def test_verifiers_say_no_to_malformed_input() -> None:
    proof = inclusion_proof(LEAF_HASHES, 2)
    root = merkle_root(LEAF_HASHES)
    assert verify_inclusion(LEAF_HASHES[2], 2, 8, proof, root)
    assert not verify_inclusion(LEAF_HASHES[2][:31], 2, 8, proof, root)
    assert not verify_inclusion(LEAF_HASHES[2], 2, 8, [*proof[:-1], proof[-1] + b"\x00"], root)
    assert not verify_inclusion(LEAF_HASHES[2], 8, 8, proof, root)
    assert not verify_consistency(5, 4, root, root, [])


_leaf_lists = st.lists(st.binary(max_size=16), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(data=_leaf_lists)
def test_every_index_has_a_verifying_proof(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    root = merkle_root(hashes)
    for index, h in enumerate(hashes):
        proof = inclusion_proof(hashes, index)
        assert verify_inclusion(h, index, len(hashes), proof, root)


@settings(max_examples=60, deadline=None)
@given(data=_leaf_lists, pick=st.integers(min_value=0), bit=st.integers(0, 255))
def test_any_flipped_bit_breaks_an_inclusion_proof(data: list[bytes], pick: int, bit: int) -> None:
    hashes = [leaf_hash(d) for d in data]
    index = pick % len(hashes)
    root = merkle_root(hashes)
    proof = inclusion_proof(hashes, index)
    # Flip one bit in the leaf, in each proof node, or in the root: each must fail.
    flip = bytes(32 - 1 - bit // 8) + bytes([1 << (bit % 8)]) + bytes(bit // 8)
    assert len(flip) == 32

    def flipped(h: bytes) -> bytes:
        return bytes(a ^ b for a, b in zip(h, flip, strict=True))

    assert not verify_inclusion(flipped(hashes[index]), index, len(hashes), proof, root)
    assert not verify_inclusion(hashes[index], index, len(hashes), proof, flipped(root))
    for i in range(len(proof)):
        tampered = [*proof[:i], flipped(proof[i]), *proof[i + 1 :]]
        assert not verify_inclusion(hashes[index], index, len(hashes), tampered, root)


@settings(max_examples=60, deadline=None)
@given(data=_leaf_lists, pick=st.integers(min_value=0), bit=st.integers(0, 255))
def test_consistency_of_every_prefix_and_flips(data: list[bytes], pick: int, bit: int) -> None:
    hashes = [leaf_hash(d) for d in data]
    new_root = merkle_root(hashes)
    old = 1 + pick % len(hashes)
    old_root = merkle_root(hashes[:old])
    proof = consistency_proof(hashes, old)
    assert verify_consistency(old, len(hashes), old_root, new_root, proof)
    byte, mask = bit // 8, 1 << (bit % 8)

    def flipped(h: bytes) -> bytes:
        return h[:byte] + bytes([h[byte] ^ mask]) + h[byte + 1 :]

    assert not verify_consistency(old, len(hashes), flipped(old_root), new_root, proof)
    assert not verify_consistency(old, len(hashes), old_root, flipped(new_root), proof)
    for i in range(len(proof)):
        tampered = [*proof[:i], flipped(proof[i]), *proof[i + 1 :]]
        assert not verify_consistency(old, len(hashes), old_root, new_root, tampered)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 100])
def test_tree_proofs_equal_the_one_shot_proofs(size: int) -> None:
    from ledger.merkle import MerkleTree

    leaves = [leaf_hash(bytes([i % 256, i // 256])) for i in range(size)]
    tree = MerkleTree(leaves)
    assert tree.root == merkle_root(leaves)
    for i in range(size):
        assert tree.proof(i) == inclusion_proof(leaves, i)
