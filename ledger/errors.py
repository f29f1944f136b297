"""Errors raised by the ledger package.

Every third-party exception (web3, requests, eth-tester, solc) is translated
inside the adapter that met it, so callers catch only this tree::

    LedgerError                     anything the ledger refuses or cannot do
    ├── CanonicalizationError       a value has no RFC 8785 form (NaN, bytes, lone surrogate …)
    ├── ProofError                  a Merkle input is malformed (index out of range, hash length)
    └── ChainError                  talking to the EVM chain failed
        ├── ChainUnavailable        transient: node down, connection refused, timeout
        └── AnchorRejected          permanent: the contract reverted (root already anchored …)
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger package raises."""


class CanonicalizationError(LedgerError, ValueError):
    """The value cannot be written as RFC 8785 canonical JSON."""


class ProofError(LedgerError, ValueError):
    """A Merkle tree or proof input is malformed."""


class ChainError(LedgerError):
    """The chain adapter failed."""


class ChainUnavailable(ChainError):  # noqa: N818 -- name fixed by the cross-package contract
    """The chain could not be reached (transient; retry later)."""


class AnchorRejected(ChainError):  # noqa: N818 -- name fixed by the cross-package contract
    """The anchor contract refused the call; ``reason`` names the custom error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
