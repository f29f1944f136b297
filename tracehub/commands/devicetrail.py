"""The device registry under the audit trail: each identity a command provisions,
places, rotates, renews or revokes is an audit entry by ``cli:<OS user>``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tracehub.auditing import device_json, open_trail, record_change
from tracehub.settings import Settings


@contextmanager
def audited_registry(settings: Settings, action: str, reason: str | None) -> Iterator[Any]:
    """The registry, and after the change in the block one audit entry per identity it
    changed (before, after: the registration, never a password hash). The trail is
    opened first, so a records database it cannot reach refuses the change; a change
    that raised records nothing."""
    from tracehub.site import open_device_registry

    with open_trail(settings) as trail:
        registry = open_device_registry(settings)
        before = {r.username: r for r in registry.records()}
        yield registry
        for record in registry.records():
            old = before.get(record.username)
            if old != record:
                was, now = device_json(old, None), device_json(record, old)
                record_change(trail, action, ("device", record.username), was, now, reason)
