"""``GET /.well-known/tracehub.json``: the site's trust anchors, published out of band.

An evidence bundle names its own keys, so it cannot say by itself who signed it. The
site publishes here, on its resolver (the host its QR codes point to), what an
auditor should trust instead: its signing keys (key id, algorithm, SHA-256
fingerprint, validity period) and the chain and contract its roots are anchored in
(``ledger.verify.trust.trust_document``, format ``tracehub-trust/1``). An auditor
fetches it once and keeps it, or passes its URL to ``tracehub verify --trust``.

Cacheable (``Cache-Control: public``, an ``ETag`` over the body, ``304`` on a match)
and readable from any origin; problems are answered as problem+json
(``web.problem``): 404 when the hub publishes none, 503 when the keys or the chain
cannot be read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from ledger.digest import sha256
from ledger.errors import LedgerError
from ledger.signing import PublicKey
from ledger.verify.trust import WELL_KNOWN_PATH, trust_document
from web.problem import Problem

MAX_AGE_S = 300  # a rotated key shows within five minutes


class ChainIdentity(Protocol):
    """The chain the site anchors on (``ledger.evm.reader.ChainReader`` is one)."""

    def chain_id(self) -> int: ...

    def genesis_hash(self) -> str: ...


class TrustPublisher:
    """The site's trust document, built from its keystore and chain at each request.

    ``keys`` is read every time (``tracehub ledger rotate-key`` runs in another
    process); the chain's identity is read once.
    """

    def __init__(
        self,
        site: str,
        keys: Callable[[], Iterable[PublicKey]],
        chain: ChainIdentity | None,
        contract: str | None,
        public_url: str | None = None,
    ) -> None:
        self._site = site
        self._keys = keys
        self._chain = chain
        self._contract = contract
        self._public_url = public_url
        self._identity: tuple[int, str] | None = None

    def document(self, base_url: str) -> dict[str, object]:
        """``LedgerError`` when the keys or the chain cannot be read."""
        chain_id: int | None = None
        genesis: str | None = None
        if self._chain is not None and self._contract is not None:
            if self._identity is None:
                self._identity = (self._chain.chain_id(), self._chain.genesis_hash())
            chain_id, genesis = self._identity
        return trust_document(
            self._site,
            self._public_url or base_url.rstrip("/"),
            list(self._keys()),
            chain_id,
            self._contract,
            genesis,
        )


class WellKnown:
    """The route's endpoint; without a publisher it answers 404 (problem+json)."""

    path = WELL_KNOWN_PATH

    def __init__(self, publisher: TrustPublisher | None) -> None:
        self._publisher = publisher

    async def trust(self, request: Request) -> Response:
        if self._publisher is None:
            raise Problem(
                404,
                "no trust document",
                "this hub publishes no trust document; ask the site for its key fingerprint",
            )
        try:
            document = self._publisher.document(str(request.base_url))
        except LedgerError as exc:
            raise Problem(
                503,
                "trust document unavailable",
                f"the site's keys or chain cannot be read: {exc}",
                headers={"Retry-After": "30"},
            ) from exc
        body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
        etag = '"' + sha256(body).hex()[:32] + '"'
        headers = {
            "Cache-Control": f"public, max-age={MAX_AGE_S}",
            "ETag": etag,
            "Access-Control-Allow-Origin": "*",  # auditors' tools fetch it from anywhere
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)
