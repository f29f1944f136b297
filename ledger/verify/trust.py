"""Trust anchors: who may have signed, and where the roots must be anchored, from outside
the bundle.

A bundle carries its own keys, so on its own it proves only that it is
self-consistent: anyone can build a consistent bundle signed with a key of their
own. Who signed is decided against trust anchors the auditor got elsewhere:

* the site's trust document, ``tracehub-trust/1``, published at
  ``/.well-known/tracehub.json`` on the site's resolver (``trust_document`` builds it,
  ``anchors_from_document`` reads it): the site's signing keys with their fingerprints
  and validity periods, and the chain and contract its roots are anchored in;
* a key's fingerprint (``sha256:<64 hex>``) or key id (``ed25519:<32 hex>``), e.g.
  read off a printed label (``key_from_text``);
* the site's own keystore and configuration, when ``tracehub verify`` runs on the site.

A trusted key with a validity period (a document, a keystore) is judged by that
period, not by the one the bundle states; a bare fingerprint pins who, and leaves
the period to the bundle. Pure: fetching a document is the caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.errors import TrustError
from ledger.signing import (
    ALGORITHM,
    PublicKey,
    fingerprint_of,
    key_from_json,
    key_id_of,
    key_to_json,
)

TRUST_FORMAT = "tracehub-trust/1"
WELL_KNOWN_PATH = "/.well-known/tracehub.json"

_FINGERPRINT = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_KEY_ID = re.compile(r"^ed25519:[0-9a-f]{32}$")


class TrustedKey(BaseModel):
    """A key the auditor trusts: by fingerprint (or only by key id), maybe with a period."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    fingerprint: str | None = None  # "sha256:<64 hex>"; None: trusted by key id only
    public: PublicKey | None = None  # with the period the trust anchor states
    source: str

    def matches(self, key: PublicKey) -> bool:
        if self.fingerprint is not None:
            return fingerprint_of(key.public_key) == self.fingerprint
        return key_id_of(key.public_key) == self.key_id == key.key_id


class TrustedContract(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    chain_id: int | None = None
    genesis_hash: str | None = None
    source: str

    def matches(self, chain_id: Any, address: Any) -> bool:
        if str(address).lower() != self.address.lower():
            return False
        return self.chain_id is None or self.chain_id == chain_id


class TrustAnchors(BaseModel):
    """Everything the auditor trusts, and where each piece came from."""

    model_config = ConfigDict(frozen=True)

    sources: tuple[str, ...]
    keys: tuple[TrustedKey, ...] = ()
    contracts: tuple[TrustedContract, ...] = ()

    def describe(self) -> str:
        return "; ".join(self.sources)

    def key(self, key: PublicKey) -> TrustedKey | None:
        """The trust anchor naming ``key``, if any."""
        return next((t for t in self.keys if t.matches(key)), None)

    def by_key_id(self, key_id: str) -> TrustedKey | None:
        return next((t for t in self.keys if t.key_id == key_id), None)

    def contract(self, chain_id: Any, address: Any) -> TrustedContract | None:
        return next((c for c in self.contracts if c.matches(chain_id, address)), None)

    def __add__(self, other: TrustAnchors) -> TrustAnchors:
        return TrustAnchors(
            sources=(*self.sources, *other.sources),
            keys=(*self.keys, *other.keys),
            contracts=(*self.contracts, *other.contracts),
        )


def combine(anchors: Iterable[TrustAnchors]) -> TrustAnchors | None:
    """All of ``anchors`` as one (None when there is none)."""
    found = list(anchors)
    if not found:
        return None
    first, *rest = found
    for more in rest:
        first = first + more
    return first


def from_keys(
    keys: Iterable[PublicKey],
    source: str,
    contracts: Sequence[tuple[int | None, str]] = (),
) -> TrustAnchors:
    """Trust exactly ``keys`` (with their periods) and ``contracts`` (chain id, address)."""
    return TrustAnchors(
        sources=(source,),
        keys=tuple(
            TrustedKey(
                key_id=k.key_id,
                fingerprint=fingerprint_of(k.public_key),
                public=k,
                source=source,
            )
            for k in keys
        ),
        contracts=tuple(
            TrustedContract(address=address, chain_id=chain_id, source=source)
            for chain_id, address in contracts
        ),
    )


def key_from_text(text: str, source: str | None = None) -> TrustAnchors:
    """A fingerprint (``sha256:<hex>`` or 64 hex digits) or a key id (``ed25519:<hex>``)."""
    value = text.strip().lower()
    where = source or f"--trust {text.strip()}"
    match = _FINGERPRINT.match(value)
    if match is not None:
        digits = match[1]
        key = TrustedKey(
            key_id="ed25519:" + digits[:32], fingerprint="sha256:" + digits, source=where
        )
    elif _KEY_ID.match(value):
        key = TrustedKey(key_id=value, source=where)
    else:
        raise TrustError(
            f"{text!r} is not a trust anchor: give the URL of a site's {WELL_KNOWN_PATH}, "
            "a local copy of that file, a key fingerprint (sha256:<64 hex digits>) or a "
            "key id (ed25519:<32 hex digits>)"
        )
    return TrustAnchors(sources=(where,), keys=(key,))


def contract_from_text(address: str, source: str = "--contract") -> TrustAnchors:
    return TrustAnchors(
        sources=(f"{source} {address}",),
        contracts=(TrustedContract(address=address, source=f"{source} {address}"),),
    )


def trust_document(
    site: str,
    public_url: str | None,
    keys: Iterable[PublicKey],
    chain_id: int | None,
    contract: str | None,
    genesis_hash: str | None = None,
) -> dict[str, Any]:
    """The site's ``tracehub-trust/1`` document (what ``/.well-known/tracehub.json`` serves)."""
    anchors = []
    if contract is not None:
        anchors.append({"chain_id": chain_id, "contract": contract, "genesis_hash": genesis_hash})
    return {
        "format": TRUST_FORMAT,
        "site": site,
        "public_url": public_url,
        "keys": [key_to_json(k) for k in keys],
        "anchors": anchors,
    }


def anchors_from_document(document: Any, source: str) -> TrustAnchors:
    """Read a ``tracehub-trust/1`` document; ``TrustError`` names what is wrong."""
    if not isinstance(document, dict) or document.get("format") != TRUST_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise TrustError(f"{source}: format is {found!r}, not {TRUST_FORMAT!r}")
    keys: list[TrustedKey] = []
    for item in document.get("keys") or []:
        try:
            key = key_from_json(item)
        except ValueError as exc:
            raise TrustError(f"{source}: a key is unusable: {exc}") from exc
        if item.get("algorithm", ALGORITHM) != ALGORITHM:
            raise TrustError(f"{source}: key {key.key_id} is not {ALGORITHM}")
        keys.append(
            TrustedKey(
                key_id=key.key_id,
                fingerprint=fingerprint_of(key.public_key),
                public=key,
                source=source,
            )
        )
    contracts: list[TrustedContract] = []
    for item in document.get("anchors") or []:
        try:
            contracts.append(
                TrustedContract(
                    address=str(item["contract"]),
                    chain_id=None if item.get("chain_id") is None else int(item["chain_id"]),
                    genesis_hash=item.get("genesis_hash"),
                    source=source,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrustError(f"{source}: an anchor record is malformed: {item!r:.80}") from exc
    if not keys:
        raise TrustError(f"{source}: the document names no signing key")
    site = document.get("site")
    label = f"{source} (site {site})" if isinstance(site, str) else source
    return TrustAnchors(
        sources=(label,),
        keys=tuple(k.model_copy(update={"source": label}) for k in keys),
        contracts=tuple(c.model_copy(update={"source": label}) for c in contracts),
    )
