"""Keys at rest: Ed25519 signing keys and the anchoring account key, encrypted PKCS#8.

Layout of a key folder::

    keyring.json            public part of every signing key, with validity periods
    signing/<hex>.pem       each Ed25519 private key, PKCS#8 PEM encrypted with the passphrase
    account.pem             the secp256k1 anchoring account key, PKCS#8 PEM, encrypted

The passphrase comes from the environment (``TRACEHUB_LEDGER_KEY_PASSPHRASE``,
read by the composition root and passed in). For the zero-configuration demo,
when no passphrase is given, a random one is generated into ``passphrase`` in
the same folder (mode 0600) with a warning: the keys are still encrypted files,
but whoever can read the folder can read the keys; set the variable in
production. Neither keys nor the passphrase are ever logged or shown in a repr.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    load_pem_private_key,
)

from ledger.errors import KeyStoreError
from ledger.signing import PublicKey, Signer, format_instant, key_from_json, key_to_json

PASSPHRASE_ENV = "TRACEHUB_LEDGER_KEY_PASSPHRASE"
_KEYRING = "keyring.json"
_ACCOUNT = "account.pem"
_PASSPHRASE_FILE = "passphrase"
_MIN_PASSPHRASE = 8

log = logging.getLogger(__name__)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


class KeyStore:
    """Encrypted keys in one folder. Build with ``KeyStore.open(folder, passphrase)``."""

    def __init__(self, folder: Path, passphrase: bytes) -> None:
        if len(passphrase) < _MIN_PASSPHRASE:
            raise KeyStoreError(
                f"the key passphrase is shorter than {_MIN_PASSPHRASE} characters; "
                f"set {PASSPHRASE_ENV} to a longer secret"
            )
        self.folder = folder
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"KeyStore({str(self.folder)!r})"

    @classmethod
    def open(cls, folder: Path, passphrase: str | None) -> KeyStore:
        """Open ``folder``; without a passphrase use (or create) the folder's own one."""
        if passphrase:
            return cls(folder, passphrase.encode("utf-8"))
        path = folder / _PASSPHRASE_FILE
        if not path.exists():
            log.warning(
                "%s is not set: generated a passphrase file in %s so the demo runs without "
                "configuration; set the variable in production",
                PASSPHRASE_ENV,
                folder,
            )
            _write_private(path, secrets.token_urlsafe(32).encode("ascii"))
        return cls(folder, path.read_bytes().strip())

    # signing keys -------------------------------------------------------------------

    def public_keys(self) -> list[PublicKey]:
        """Every signing key's public record, oldest first."""
        return [key_from_json(item) for item in self._keyring()]

    def signer(self, owner: str, now: datetime) -> Signer:
        """The current signing key of ``owner``; generated on first use."""
        current = [k for k in self.public_keys() if k.owner == owner and k.valid_until is None]
        if not current:
            return self._create(owner, now)
        return self._load(current[-1])

    def rotate(self, owner: str, now: datetime) -> Signer:
        """Close ``owner``'s current key at ``now`` and start a new one from ``now``."""
        ring = self._keyring()
        for item in ring:
            if item["owner"] == owner and item["valid_until"] is None:
                item["valid_until"] = format_instant(now)
        self._save_keyring(ring)
        return self._create(owner, now)

    def _create(self, owner: str, now: datetime) -> Signer:
        private_key = Ed25519PrivateKey.generate()
        signer = Signer.from_private_key(private_key, owner, now)
        _write_private(self._key_path(signer.public), self._encrypt(private_key))
        ring = self._keyring()
        ring.append(key_to_json(signer.public))
        self._save_keyring(ring)
        return signer

    def _load(self, public: PublicKey) -> Signer:
        private_key = self._decrypt(self._key_path(public))
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyStoreError(f"{self._key_path(public)} is not an Ed25519 key")
        return Signer(private_key, public)

    def _key_path(self, public: PublicKey) -> Path:
        return self.folder / "signing" / (public.key_id.split(":", 1)[1] + ".pem")

    def _keyring(self) -> list[dict[str, Any]]:
        path = self.folder / _KEYRING
        if not path.exists():
            return []
        try:
            ring: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"{path} cannot be read as JSON: {exc}; restore it") from exc
        return ring

    def _save_keyring(self, ring: list[dict[str, Any]]) -> None:
        _write_private(self.folder / _KEYRING, (json.dumps(ring, indent=2) + "\n").encode())

    # the anchoring account ----------------------------------------------------------

    def account_key(self) -> str:
        """The anchoring account's secp256k1 key as 0x-hex; generated on first use."""
        path = self.folder / _ACCOUNT
        if not path.exists():
            self._save_account(ec.generate_private_key(ec.SECP256K1()))
        key = self._decrypt(path)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256k1":
            raise KeyStoreError(f"{path} is not a secp256k1 key; remove it or import one")
        return "0x" + key.private_numbers().private_value.to_bytes(32, "big").hex()

    def import_account_key(self, hex_key: str) -> None:
        """Store an existing account key (0x-hex) encrypted, replacing any other."""
        try:
            value = int(hex_key.removeprefix("0x"), 16)
            key = ec.derive_private_key(value, ec.SECP256K1())
        except ValueError as exc:
            raise KeyStoreError("the account key must be 32 bytes as 0x-prefixed hex") from exc
        self._save_account(key)

    def _save_account(self, key: ec.EllipticCurvePrivateKey) -> None:
        _write_private(self.folder / _ACCOUNT, self._encrypt(key))

    # PKCS#8 --------------------------------------------------------------------------

    def _encrypt(self, key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(self._passphrase)
        )

    def _decrypt(self, path: Path) -> Any:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"key file {path} cannot be read: {exc.strerror}") from exc
        try:
            return load_pem_private_key(data, password=self._passphrase)
        except (ValueError, TypeError) as exc:
            # Never include the passphrase or key bytes in the message.
            raise KeyStoreError(
                f"key file {path} cannot be decrypted: wrong passphrase or not an encrypted "
                f"PKCS#8 key; check {PASSPHRASE_ENV}"
            ) from exc
