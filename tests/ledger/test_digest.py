from __future__ import annotations

from ledger.digest import DIGEST_SIZE, sha256


def test_sha256_matches_the_fips_180_abc_vector() -> None:
    # FIPS 180-2 appendix B.1.
    assert sha256(b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert len(sha256(b"")) == DIGEST_SIZE
