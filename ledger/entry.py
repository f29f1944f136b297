"""The ledger entry: what one Merkle leaf commits to.

Any JSON record can become a leaf: an EPCIS event, a carbon-footprint report, a
lot exposure summary, a gateway's telemetry completeness digest. The ledger
does not look inside; it commits to

* ``kind`` and ``record_id`` (idempotency key: the same pair is one leaf),
* ``record_digest`` = SHA-256 of the record's RFC 8785 canonical bytes,
* ``links``: for each hash-chain stream the record belongs to (e.g. one per lot),
  its position ``seq`` and ``prev``, the leaf hash of the stream's previous entry,
  so a deleted or reordered entry breaks the chain,
* an Ed25519 ``signature`` by the capturing site over all of the above.

Leaf data = ``canonicalize(entry.to_json())``; leaf hash = RFC 6962 ``leaf_hash``
of that. The JSON form is versioned (``format``) because auditors keep it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ledger.canonical import canonicalize
from ledger.digest import DIGEST_SIZE, sha256
from ledger.errors import EntryError
from ledger.merkle import leaf_hash
from ledger.signing import SIGNATURE_SIZE, PublicKey, Signer, format_instant, parse_instant

ENTRY_FORMAT = "tracehub-entry/1"
# The limits an entry is held to. Capture reads them too (``traceability.capture``), so
# what it accepts can always become an entry: an event refused at the door beats a
# record the anchoring loop can never sign.
MAX_KIND_LENGTH = 64
MAX_RECORD_ID_LENGTH = 200
MAX_STREAM_LENGTH = 200
_KIND = re.compile(rf"^[a-z][a-z0-9._-]{{0,{MAX_KIND_LENGTH - 1}}}$")


def record_digest(record: Any) -> bytes:
    """SHA-256 over the record's RFC 8785 canonical bytes."""
    return sha256(canonicalize(record))


def stream_problem(stream: str) -> str | None:
    """Why ``stream`` cannot name a hash-chain stream (None: it can)."""
    if not stream:
        return "a stream name must not be empty"
    if len(stream) > MAX_STREAM_LENGTH:
        return (
            f"stream {stream[:40]!r}… is {len(stream)} characters; the ledger takes at most "
            f"{MAX_STREAM_LENGTH}"
        )
    return None


def leaf_problem(kind: str, record_id: str, leaf_hash_hex: str, leaf_data: str) -> str | None:
    """Why a stored leaf cannot be anchored (None: it can).

    A leaf is anchorable when its data parses as an entry of this kind and record id and
    hashes to the leaf hash stored with it; anything else (a row written around
    ``submit``, by a bug or by hand) would be committed to a root no verifier can check.
    """
    try:
        stored_hash = bytes.fromhex(leaf_hash_hex)
        data = leaf_data.encode("utf-8")
        parsed = json.loads(data)
    except (ValueError, TypeError, AttributeError) as exc:
        return f"unreadable leaf: {exc}"
    try:
        entry = Entry.from_json(parsed)
    except EntryError as exc:
        return str(exc)
    if (entry.kind, entry.record_id) != (kind, record_id):
        return f"leaf data names {entry.kind} {entry.record_id}, the row {kind} {record_id}"
    if leaf_hash(data) != stored_hash:
        return "the leaf hash stored with the entry is not the hash of its data"
    if leaf_hash(entry.leaf_data()) != stored_hash:
        return "the leaf data is not in canonical form"
    return None


class Link(BaseModel):
    """An entry's place in one hash-chain stream."""

    model_config = ConfigDict(frozen=True)

    stream: str = Field(min_length=1, max_length=MAX_STREAM_LENGTH)
    seq: int = Field(ge=0)
    prev: bytes | None

    @field_validator("prev")
    @classmethod
    def _digest(cls, value: bytes | None) -> bytes | None:
        if value is not None and len(value) != DIGEST_SIZE:
            raise ValueError(f"prev must be a {DIGEST_SIZE}-byte leaf hash")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "prev": None if self.prev is None else self.prev.hex(),
        }


class EntrySignature(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    signed_at: datetime
    value: bytes

    @field_validator("value")
    @classmethod
    def _size(cls, value: bytes) -> bytes:
        if len(value) != SIGNATURE_SIZE:
            raise ValueError(f"signature value must be {SIGNATURE_SIZE} bytes")
        return value


class Entry(BaseModel):
    """One signed leaf. Build with ``sign_entry``; read back with ``Entry.from_json``."""

    model_config = ConfigDict(frozen=True)

    kind: str
    record_id: str = Field(min_length=1, max_length=MAX_RECORD_ID_LENGTH)
    record_digest: bytes
    links: tuple[Link, ...]
    signature: EntrySignature

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if not _KIND.match(value):
            raise ValueError(
                f"kind {value!r} must be lowercase letters, digits, '.', '_' or '-' "
                f"(start with a letter, at most {MAX_KIND_LENGTH}), e.g. 'epcis-event'"
            )
        return value

    @field_validator("record_digest")
    @classmethod
    def _digest(cls, value: bytes) -> bytes:
        if len(value) != DIGEST_SIZE:
            raise ValueError(f"record_digest must be a {DIGEST_SIZE}-byte SHA-256 digest")
        return value

    @field_validator("links")
    @classmethod
    def _links(cls, value: tuple[Link, ...]) -> tuple[Link, ...]:
        streams = [link.stream for link in value]
        if streams != sorted(set(streams)):
            raise ValueError("links must name each stream once, sorted by stream")
        return value

    def to_json(self) -> dict[str, Any]:
        return {**_unsigned_json(self), "signature": _signature_json(self.signature)}

    def leaf_data(self) -> bytes:
        return _canonical(self.to_json())

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf_data())

    def signed_bytes(self) -> bytes:
        """What the signature covers: everything except the signature value."""
        body = _unsigned_json(self)
        body["signature"] = {
            "key_id": self.signature.key_id,
            "signed_at": format_instant(self.signature.signed_at),
        }
        return _canonical(body)

    def link(self, stream: str) -> Link | None:
        return next((link for link in self.links if link.stream == stream), None)

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """Parse the JSON form; ``EntryError`` names the field that is wrong."""
        if not isinstance(data, dict):
            raise EntryError("an entry must be a JSON object")
        if data.get("format") != ENTRY_FORMAT:
            raise EntryError(f"entry format {data.get('format')!r} is not {ENTRY_FORMAT!r}")
        try:
            sig = data["signature"]
            return cls(
                kind=data["kind"],
                record_id=data["record_id"],
                record_digest=bytes.fromhex(data["record_digest"]),
                links=tuple(
                    Link(
                        stream=link["stream"],
                        seq=link["seq"],
                        prev=None if link["prev"] is None else bytes.fromhex(link["prev"]),
                    )
                    for link in data["links"]
                ),
                signature=EntrySignature(
                    key_id=sig["key_id"],
                    signed_at=parse_instant(sig["signed_at"]),
                    value=bytes.fromhex(sig["value"]),
                ),
            )
        except KeyError as exc:
            raise EntryError(f"entry lacks field {exc.args[0]!r}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EntryError(f"entry field {where}: {first['msg']}") from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise EntryError(f"entry has a malformed field: {exc}") from exc


def sign_entry(
    kind: str, record_id: str, digest: bytes, links: tuple[Link, ...], signer: Signer, now: datetime
) -> Entry:
    """Build and sign the entry for a record whose canonical digest is ``digest``.

    Refuses (``KeyOutOfPeriod``) when ``now`` is outside the signer's validity
    period: such a signature would only be rejected later, by every verifier.
    """
    signer.public.require_cover(now)
    placeholder = EntrySignature(key_id=signer.key_id, signed_at=now, value=bytes(SIGNATURE_SIZE))
    try:
        unsigned = Entry(
            kind=kind,
            record_id=record_id,
            record_digest=digest,
            links=tuple(sorted(links, key=lambda link: link.stream)),
            signature=placeholder,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise EntryError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    value = signer.sign(unsigned.signed_bytes())
    return unsigned.model_copy(
        update={"signature": placeholder.model_copy(update={"value": value})}
    )


# The entry's JSON holds fixed ASCII keys, strings, non-negative ints and null, for
# which orjson's sorted output is the RFC 8785 form: its strings escape as RFC 8785's,
# and a seq beyond 2**53 (STRICT_INTEGER) or a string that is no valid Unicode raises,
# so that entry goes through ``canonicalize`` (tests/ledger/test_entry.py compares them).
_ENTRY_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def _canonical(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body, option=_ENTRY_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return canonicalize(body)


def signature_problem(entry: Entry, key: PublicKey | None) -> str | None:
    """Why the entry's signature does not hold under ``key`` (None when it holds)."""
    sig = entry.signature
    if key is None:
        return f"signing key {sig.key_id} is not among the known public keys"
    if key.key_id != sig.key_id:
        return f"signature names key {sig.key_id}, not {key.key_id}"
    if not key.covers(sig.signed_at):
        return (
            f"signed at {format_instant(sig.signed_at)}, outside key {key.key_id}'s validity "
            f"({key.period()})"
        )
    if not key.verify(sig.value, entry.signed_bytes()):
        return f"signature does not match the entry under key {key.key_id} (entry was altered)"
    return None


def _unsigned_json(entry: Entry) -> dict[str, Any]:
    return {
        "format": ENTRY_FORMAT,
        "kind": entry.kind,
        "record_id": entry.record_id,
        "record_digest": entry.record_digest.hex(),
        "links": [link.to_json() for link in entry.links],
    }


def _signature_json(sig: EntrySignature) -> dict[str, Any]:
    return {
        "key_id": sig.key_id,
        "signed_at": format_instant(sig.signed_at),
        "value": sig.value.hex(),
    }
