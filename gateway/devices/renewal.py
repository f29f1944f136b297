"""Renewal before expiry: no certificate or CRL of the registry lapses unnoticed.

``renew_expiring`` (``tracehub devices rotate --expiring DAYS``) renews every active
identity's certificate, the broker's certificate and the CRL that lapse within DAYS;
``check`` (at every hub start) re-issues the CRL and says what is about to lapse;
``watch`` counts it for the gateway's health, reading only the public files. What a
renewal does to the old certificate: gateway/devices/expiry.py ``reissued``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gateway.devices.expiry import DEFAULT_WARNING, Expiry, expiring, warning
from gateway.devices.folder import RegistryFolder
from gateway.devices.registry import DeviceRegistry, Provisioned
from gateway.errors import IdentityError

log = logging.getLogger(__name__)


class Renewal(BaseModel):
    """What one renewal did, and what still lapses within the window (the site CA is
    never renewed automatically: every device would need its new certificate first)."""

    model_config = ConfigDict(frozen=True)

    identities: tuple[Provisioned, ...] = ()
    broker: bool = False
    crl: bool = False
    left: tuple[Expiry, ...] = ()


def renew_expiring(
    registry: DeviceRegistry,
    within: timedelta,
    *,
    days: int = 365,
    now: datetime | None = None,
) -> Renewal:
    """Renew what lapses before ``now + within``; new certificates are valid ``days``."""
    if within >= timedelta(days=days):
        raise IdentityError(
            f"--expiring ({within.days} days) must be shorter than the new certificates' "
            f"validity (--days {days}), or every run would renew them again"
        )
    when = now or datetime.now(UTC)
    due = expiring(registry.expiries(), when, within)
    renewed = tuple(registry.renew(i.subject, days, now) for i in due if i.kind == "identity")
    broker = any(i.kind == "broker" for i in due)
    if broker:
        registry.init(days=days, renew=True, now=now)
    registry.refresh(now)  # the CRL always: a year from now
    for item in renewed:
        log.info("renewed %s until %s", item.record.username, item.record.cert_not_after)
    left = expiring(registry.expiries(), when, within)
    return Renewal(
        identities=renewed,
        broker=broker,
        crl=any(i.kind == "crl" for i in due),
        left=tuple(left),
    )


def check(
    registry: DeviceRegistry,
    within: timedelta = DEFAULT_WARNING,
    *,
    broker: bool = False,
    now: datetime | None = None,
) -> list[Expiry]:
    """At a hub start: re-issue the CRL if it lapses within ``within``, and with
    ``broker`` (a broker the hub spawns on these files) the broker's certificate too:
    neither needs a person, devices trust the CA. Logs a warning naming what else does."""
    when = now or datetime.now(UTC)
    soon = {i.kind for i in expiring(registry.expiries(), when, within)}
    if broker and "broker" in soon:
        registry.init(renew=True, now=now)
        log.info("renewed the broker certificate of %s: it was about to expire", registry.folder)
    if "crl" in soon:
        registry.refresh(now)
        log.info("re-issued the CRL of %s: it was about to expire", registry.folder)
    due = expiring(registry.expiries(), when, within)
    if due:
        log.warning(warning(due, when))
    return due


def watch(
    folder: Path,
    within: timedelta = DEFAULT_WARNING,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[], int]:
    """A counter of the items lapsing within ``within`` of the registry in ``folder``,
    for the gateway's health: reads only certificates, the CRL and registry.json, so the
    gateway needs no passphrase. A registry it cannot read counts -1 (unknown, never a
    reassuring 0), with the reason logged."""
    files = RegistryFolder(folder, None)

    def count() -> int:
        try:
            return len(expiring(files.expiries(""), clock(), within))
        except (IdentityError, OSError) as exc:
            log.warning("cannot read certificate expiry in %s: %s", folder, exc)
            return -1

    return count
