"""Errors raised by the ledger package.

Every third-party exception (web3, requests, eth-tester, solc) is translated
inside the adapter that met it, so callers catch only this tree::

    LedgerError                     anything the ledger refuses or cannot do
    ├── CanonicalizationError       a value has no RFC 8785 form (NaN, bytes, lone surrogate …)
    ├── ProofError                  a Merkle input is malformed (index out of range, hash length)
    ├── ChainError                  talking to the EVM chain failed
    │   ├── ChainUnavailable        transient: node down, connection refused, timeout
    │   │   └── FeeAboveCeiling     transient: the network asks more than the gas ceiling
    │   ├── InsufficientFunds       the anchoring account cannot pay for the transaction
    │   └── AnchorRejected          permanent: the contract reverted (root already anchored …)
    ├── KeyStoreError               a key file is missing, unreadable or the passphrase is wrong
    ├── EntryError                  a leaf submission is malformed or conflicts with a stored one
    │   └── KeyOutOfPeriod          the signer's key is not valid at the signing time (rotated out)
    ├── StoreUnavailable            the ledger's SQL store cannot be reached or written
    ├── LeaseLost                   another worker holds the anchoring lease (fenced off)
    ├── BundleError                 an evidence bundle is not valid JSON of the bundle format
    └── TrustError                  a trust anchor (trust document, fingerprint, key id) is unusable
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


class FeeAboveCeiling(ChainUnavailable):
    """The network's fee is above the configured ceiling; anchoring waits for it to fall."""


class InsufficientFunds(ChainError):  # noqa: N818
    """The anchoring account's balance cannot cover gas limit × max fee."""


class KeyStoreError(LedgerError):
    """A signing or account key cannot be loaded, created or decrypted."""


class EntryError(LedgerError, ValueError):
    """A leaf submission is malformed, or its record id was submitted with other content."""


class KeyOutOfPeriod(EntryError):  # noqa: N818 -- reads as the condition it reports
    """The signing key's validity period does not cover the signing time.

    Raised before anything is signed or stored; load the owner's current key
    (``KeyStore.signer``) and submit again. ``key_id`` names the refused key.
    """

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class StoreUnavailable(LedgerError):  # noqa: N818
    """The ledger store's database failed (transient; retry later)."""


class LeaseLost(LedgerError):  # noqa: N818
    """This worker no longer holds the anchoring lease; another one took over."""


class BundleError(LedgerError, ValueError):
    """An evidence bundle cannot be read as the bundle format."""


class TrustError(LedgerError, ValueError):
    """A trust anchor cannot be read: a malformed trust document, fingerprint or key id."""
