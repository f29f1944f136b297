"""Expiry of what the broker depends on: identity certificates, its own, the CRL, the CA.

Pure values. Each of these stops the broker from admitting devices on the day it lapses
(an expired CRL makes it refuse every client), so the registry renews them ahead of time
(``tracehub devices rotate --expiring DAYS``) and the hub, ``tracehub status`` and the
gateway's health warn ``DEFAULT_WARNING`` ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gateway.devices.records import DeviceRecord

DEFAULT_WARNING = timedelta(days=30)
# What each kind of item is, as a person reads it in a warning.
_WHAT = {
    "identity": "certificate of",
    "broker": "broker certificate",
    "crl": "certificate revocation list",
    "ca": "site CA certificate",
}

ExpiryKind = Literal["identity", "broker", "crl", "ca"]


class Expiry(BaseModel):
    """One dated item: ``subject`` is the identity's username (kind ``identity``) or a
    path (broker, crl, ca)."""

    model_config = ConfigDict(frozen=True)

    kind: ExpiryKind
    subject: str
    not_after: datetime

    def left(self, now: datetime) -> timedelta:
        return self.not_after - now

    def describe(self, now: datetime) -> str:
        what = _WHAT[self.kind]
        name = f"{what} {self.subject}" if self.kind == "identity" else what
        days = self.left(now).total_seconds() / 86_400
        if days <= 0:
            return f"{name} expired on {self.not_after:%Y-%m-%d}"
        return f"{name} expires on {self.not_after:%Y-%m-%d} (in {days:.0f} days)"


def expiring(items: Iterable[Expiry], now: datetime, within: timedelta) -> list[Expiry]:
    """The items that lapse before ``now + within`` (expired ones included), soonest first."""
    return sorted((i for i in items if i.not_after <= now + within), key=lambda i: i.not_after)


def warning(items: Iterable[Expiry], now: datetime) -> str:
    """One log line for expiring ``items``, with the command that renews them."""
    listed = list(items)
    shown = "; ".join(i.describe(now) for i in listed[:5])
    more = f"; and {len(listed) - 5} more" if len(listed) > 5 else ""
    return (
        f"{len(listed)} certificate(s) or CRL expiring soon: {shown}{more}. Renew with "
        "`tracehub devices rotate --expiring 30` and install the new device bundles "
        "(docs/security.md, Renewal)"
    )


def retiring(record: DeviceRecord, when: datetime) -> tuple[tuple[int, datetime], ...]:
    """What the CRL lists once ``record`` is revoked or rotated at ``when``: its earlier
    retired serials, its current one and those a renewal superseded."""
    current = () if record.cert_serial is None else ((record.cert_serial, when),)
    return (*record.retired, *current, *((serial, when) for serial, _ in record.superseded))


def reissued(
    record: DeviceRecord, serial: int, not_after: datetime, when: datetime, *, retire: bool
) -> DeviceRecord:
    """``record`` with its new certificate. ``retire`` (rotation: the old key may be
    compromised): every older serial goes on the CRL at once. Otherwise (renewal before
    expiry) the old certificate stays valid until its own not-after, so a device keeps
    connecting until its new bundle is installed; it is retired with the identity."""
    if retire or record.cert_not_after is None:  # an old cert of unknown end: fail closed
        retired, superseded = retiring(record, when), ()
    else:
        retired = record.retired
        still_valid = tuple(item for item in record.superseded if item[1] > when)
        old = () if record.cert_serial is None else ((record.cert_serial, record.cert_not_after),)
        superseded = (*still_valid, *old)
    return record.model_copy(
        update={"cert_serial": serial, "cert_not_after": not_after, "retired": retired,
                "superseded": superseded}
    )  # fmt: skip
