"""Ed25519 signatures over canonical bytes, with key ids and validity periods.

A ``Signer`` holds a private key in memory only (it never prints it); a
``PublicKey`` is what an auditor needs: the raw 32-byte key, its id and the
period in which signatures made with it are accepted. Key rotation closes the
old key's period and opens a new key's, so an old signature stays valid and a
signature dated outside its key's period is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import BaseModel, ConfigDict, field_validator

from ledger.digest import sha256
from ledger.errors import KeyOutOfPeriod

ALGORITHM = "Ed25519"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
_KEY_ID = re.compile(r"^ed25519:[0-9a-f]{32}$")


def key_id_of(public_key: bytes) -> str:
    """The key id: ``ed25519:`` and the first 16 bytes of SHA-256 over the raw key."""
    return "ed25519:" + sha256(public_key).hex()[:32]


def fingerprint_of(public_key: bytes) -> str:
    """The key's fingerprint: ``sha256:`` and the SHA-256 of the raw key, in full (hex).

    The key id is its first 32 hex digits, so a fingerprint names its key id too.
    """
    return "sha256:" + sha256(public_key).hex()


def short_fingerprint(public_key: bytes) -> str:
    """The first 16 hex digits of the fingerprint in groups of four, for a printed label
    (a person compares it with what ``tracehub verify`` prints; a check uses the full one)."""
    digits = sha256(public_key).hex()[:16]
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


def format_instant(moment: datetime) -> str:
    """``moment`` in UTC, RFC 3339 with microseconds and ``Z`` (what signatures carry)."""
    if moment.tzinfo is None:
        raise ValueError("a signing time needs a timezone; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parse what ``format_instant`` writes (any RFC 3339 with an offset is accepted)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no offset; write it with Z or +00:00")
    return moment.astimezone(UTC)


class PublicKey(BaseModel):
    """A verification key and the period its signatures are accepted in."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    public_key: bytes
    owner: str
    valid_from: datetime
    valid_until: datetime | None = None

    @field_validator("public_key")
    @classmethod
    def _raw_key(cls, value: bytes) -> bytes:
        if len(value) != PUBLIC_KEY_SIZE:
            raise ValueError(f"public_key must be {PUBLIC_KEY_SIZE} raw Ed25519 bytes")
        return value

    @field_validator("key_id")
    @classmethod
    def _key_id(cls, value: str) -> str:
        if not _KEY_ID.match(value):
            raise ValueError(f"key_id {value!r} must look like ed25519:<32 hex digits>")
        return value

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("validity times need a timezone (UTC)")
        return value

    def covers(self, moment: datetime) -> bool:
        """Whether a signature made at ``moment`` falls in this key's validity period."""
        if moment < self.valid_from:
            return False
        return self.valid_until is None or moment < self.valid_until

    def period(self) -> str:
        """The validity period as text, e.g. ``2026-01-01T00:00:00.000000Z to open``."""
        until = "open" if self.valid_until is None else format_instant(self.valid_until)
        return f"{format_instant(self.valid_from)} to {until}"

    def require_cover(self, moment: datetime) -> None:
        """``KeyOutOfPeriod`` unless a signature made at ``moment`` would be accepted."""
        if self.covers(moment):
            return
        why = "is not valid yet" if moment < self.valid_from else "was rotated out"
        raise KeyOutOfPeriod(
            f"signing key {self.key_id} of {self.owner} {why}: it is valid "
            f"{self.period()}, not at {format_instant(moment)}; sign with the owner's "
            "current key (KeyStore.signer, after `tracehub ledger rotate-key`)",
            self.key_id,
        )

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``data``."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, data)
        except InvalidSignature:
            return False
        return key_id_of(self.public_key) == self.key_id


class Signer:
    """Signs bytes with one Ed25519 private key; ``public`` describes the key."""

    def __init__(self, private_key: Ed25519PrivateKey, public: PublicKey) -> None:
        raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if raw != public.public_key:
            raise ValueError("the public key record does not belong to this private key")
        self._private_key = private_key
        self.public = public

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return self._private_key.sign(data)

    def derive(self, label: bytes) -> bytes:
        """A 32-byte secret for ``label`` (HKDF-SHA256 over the private key), for a MAC
        that only the key's holder can make; never the private key itself."""
        raw = self._private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(raw)

    def __repr__(self) -> str:  # never show key material
        return f"Signer(key_id={self.key_id!r}, owner={self.public.owner!r})"

    @classmethod
    def generate(cls, owner: str, valid_from: datetime) -> Signer:
        """A fresh key, valid from ``valid_from`` with no end (until rotated)."""
        return cls.from_private_key(Ed25519PrivateKey.generate(), owner, valid_from)

    @classmethod
    def from_private_key(
        cls,
        private_key: Ed25519PrivateKey,
        owner: str,
        valid_from: datetime,
        valid_until: datetime | None = None,
    ) -> Signer:
        raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        public = PublicKey(
            key_id=key_id_of(raw),
            public_key=raw,
            owner=owner,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        return cls(private_key, public)


def key_to_json(key: PublicKey) -> dict[str, Any]:
    """The JSON form of a public key record (keyrings and evidence bundles)."""
    return {
        "key_id": key.key_id,
        "algorithm": ALGORITHM,
        "public_key": key.public_key.hex(),
        "fingerprint": fingerprint_of(key.public_key),
        "owner": key.owner,
        "valid_from": format_instant(key.valid_from),
        "valid_until": None if key.valid_until is None else format_instant(key.valid_until),
    }


def key_from_json(item: Any) -> PublicKey:
    """Read ``key_to_json``'s form; raises ``ValueError`` naming the bad field."""
    if not isinstance(item, dict):
        raise ValueError("a key record must be a JSON object")
    if item.get("algorithm", ALGORITHM) != ALGORITHM:
        raise ValueError(f"key algorithm {item.get('algorithm')!r} is not {ALGORITHM}")
    try:
        until = item.get("valid_until")
        key = PublicKey(
            key_id=item["key_id"],
            public_key=bytes.fromhex(item["public_key"]),
            owner=item["owner"],
            valid_from=parse_instant(item["valid_from"]),
            valid_until=None if until is None else parse_instant(until),
        )
    except KeyError as exc:
        raise ValueError(f"key record lacks field {exc.args[0]!r}") from exc
    except TypeError as exc:
        raise ValueError(f"key record has a field of the wrong type: {exc}") from exc
    stated = item.get("fingerprint")  # optional (keyrings before it was written)
    if stated is not None and stated != fingerprint_of(key.public_key):
        raise ValueError(
            f"key {key.key_id}: fingerprint {stated!r} is not its public key's "
            f"{fingerprint_of(key.public_key)}"
        )
    return key
