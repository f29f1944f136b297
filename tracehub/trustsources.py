"""Where ``tracehub verify --trust`` finds who may have signed: a site's trust document
by URL (the site's ``/.well-known/tracehub.json``) or as a local copy, or one key by its
fingerprint or id. A fetched document is bounded: a trust document is a few keys."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from ledger.errors import TrustError
from ledger.verify.trust import (
    WELL_KNOWN_PATH,
    TrustAnchors,
    anchors_from_document,
    key_from_text,
)
from tracehub.console import Problem


def trust_source(source: str) -> TrustAnchors:
    """One ``--trust`` value: a trust document by URL or file, or a fingerprint / key id."""
    try:
        if source.startswith(("http://", "https://")):
            return fetch_trust(source)
        path = Path(source)
        if path.is_file():
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise Problem(f"--trust {source}: cannot be read as JSON: {exc}") from exc
            return anchors_from_document(document, f"trust document {source}")
        return key_from_text(source)
    except TrustError as exc:
        raise Problem(f"--trust: {exc}") from exc


MAX_TRUST_BYTES = 1_000_000


def fetch_trust(url: str) -> TrustAnchors:
    import httpx

    if urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + WELL_KNOWN_PATH  # the site's URL: its well-known document
    body = bytearray()
    try:
        with httpx.stream("GET", url, timeout=30.0, follow_redirects=True) as response:
            if response.status_code != 200:
                raise Problem(f"--trust {url}: HTTP {response.status_code}; is it the site's URL?")
            # a trust document is a few keys: a server that sends more is not a tracehub site
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_TRUST_BYTES:
                    raise Problem(f"--trust {url}: the answer passes {MAX_TRUST_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise Problem(f"--trust {url}: cannot be fetched ({exc})") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise Problem(f"--trust {url}: the answer is not JSON") from exc
    return anchors_from_document(document, url)
