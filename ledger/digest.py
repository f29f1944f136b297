"""SHA-256, the one hash function of the ledger."""

from __future__ import annotations

import hashlib

DIGEST_SIZE = 32


def sha256(data: bytes) -> bytes:
    """The 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()
