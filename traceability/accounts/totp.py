"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), stdlib ``hmac`` only.

The console's second factor: SHA-1, 30-second steps, 6 digits, which every
authenticator app reads from the ``otpauth://`` URI (``otpauth_uri``). The secret is 160
random bits (RFC 4226 section 4 asks for at least 128), written in base32. ``match``
accepts the current step and one either side (a phone's clock drifts; a code typed just
as it rolls over), but only steps after the last one accepted, so a code works once.
Pure: times are given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3: the dynamically truncated HMAC of the 8-byte counter."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(at: datetime, step: int = STEP_SECONDS) -> int:
    """RFC 6238 section 4.2: whole steps since the Unix epoch (T0 = 0)."""
    return int(at.timestamp()) // step


def totp(
    key: bytes,
    at: datetime,
    *,
    digits: int = DIGITS,
    digest: str = "sha1",
    step: int = STEP_SECONDS,
) -> str:
    return hotp(key, time_step(at, step), digits, digest)


def new_secret() -> str:
    """160 random bits, base32 without padding (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def secret_key(secret: str) -> bytes:
    """The key of a base32 secret, read leniently (spaces, lower case, no padding)."""
    text = secret.replace(" ", "").upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as exc:
        raise ValueError(f"TOTP secret: not base32 ({exc})") from exc


def match(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for, within ``WINDOW`` steps of ``at`` and after
    ``last_step``; None if there is none (wrong, too old, or already used)."""
    given = code.replace(" ", "")
    if len(given) != DIGITS or not given.isascii() or not given.isdigit():
        return None
    key = secret_key(secret)
    now = time_step(at)
    found = None
    for candidate in range(now - WINDOW, now + WINDOW + 1):
        # every candidate is compared, in constant time, so the timing tells nothing
        if hmac.compare_digest(hotp(key, candidate), given) and found is None:
            found = candidate
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The Key URI authenticator apps scan: ``otpauth://totp/ISSUER:ACCOUNT?secret=…``."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
