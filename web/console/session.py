"""The console's cookies and form tokens: HMAC-SHA256 with the site's secret (pure).

* The session cookie is ``<session id>.<MAC>``: the id is 256 random bits that the
  records know by its SHA-256 (``traceability.accounts.service``); the MAC lets a
  tampered or made-up cookie be refused before any database read.
* A session's CSRF token is the MAC of its id: bound to the session, nothing to store,
  and no use to another session or after a new login (a new id).
* Before a session, the login form's token is the MAC of a random nonce kept in its own
  cookie (double submit, signed): a page on another site can neither read the nonce nor
  make a token for one it planted.

Each MAC has its own label (``session:``, ``csrf:``, ``login:``), so one never passes
for another. Cookies are HttpOnly, SameSite=Strict, Path=/console, and Secure when the
request came over https; they last as long as the browser runs (the session's idle and
absolute limits are the server's).

``safe_next`` keeps the login's ``next`` to a path of this site: whatever else it says
(``https://elsewhere``, ``//elsewhere``, ``/\\elsewhere``) the login goes to /console.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "tracehub_session"
LOGIN_COOKIE = "tracehub_login"
COOKIE_PATH = "/console"
HOME = "/console"
MIN_SECRET_BYTES = 32
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_NEXT = re.compile(r"/[\x21-\x7e]{0,2047}")  # printable ASCII, no space


class SessionSigner:
    """MACs of the console's cookies and forms under the site's ``secret``."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"console secret: {len(secret)} bytes; give at least {MIN_SECRET_BYTES} "
                "random bytes (e.g. secrets.token_bytes(32)), the same on every web replica"
            )
        self._secret = secret

    def _mac(self, label: str, value: str) -> str:
        mac = hmac.new(self._secret, f"{label}:{value}".encode("ascii"), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")

    def session_cookie(self, session_id: str) -> str:
        return f"{session_id}.{self._mac('session', session_id)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a well-formed cookie with the right MAC, else None."""
        if not cookie:
            return None
        session_id, _, mac = cookie.partition(".")
        if not _ID.fullmatch(session_id) or not same(mac, self._mac("session", session_id)):
            return None
        return session_id

    def csrf(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def login_token(self, nonce: str) -> str:
        return self._mac("login", nonce)


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def well_formed(nonce: str | None) -> str | None:
    return nonce if nonce and _ID.fullmatch(nonce) else None


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a token given against the one expected."""
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(given.encode("ascii"), expected.encode("ascii"))


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else the console's home."""
    if not value or not _NEXT.fullmatch(value) or value.startswith("//") or "\\" in value:
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
