"""What a service that writes needs of the audit trail (``AuditLog``: ``AuditTrail``
implements it), and who its writes are by (``Authorship``).

Services take an optional ``AuditLog`` (none: nothing is recorded, as in unit tests of
other concerns); the composition root (``tracehub``) builds one ``AuditTrail`` and hands
it to each. ``check_authorship`` refuses, before any write, an author whose changes
the trail would refuse (a console user without their signature).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from traceability.audit.entry import (
    AuditActor,
    AuditChange,
    AuditEntry,
    AuditSubject,
    ESignature,
    change_of,
)

SYSTEM_ACTOR = AuditActor(name="tracehub", kind="system")


class AuditLog(Protocol):
    def record(
        self,
        actor: AuditActor,
        action: str,
        subject: AuditSubject,
        before: Any,
        after: Any,
        reason: str | None,
        signature: ESignature | None = None,
        lots: Sequence[str] = (),
    ) -> AuditEntry:
        """Record one change (after the write committed); ``AuditRefused`` when it cannot
        be an entry. A ledger that cannot sign does not fail it (signed later)."""
        ...

    def record_many(self, changes: Sequence[AuditChange]) -> list[AuditEntry]:
        """Record consecutive entries in one transaction (all or none)."""
        ...


class Authorship(BaseModel):
    """Who makes a service's writes and why: a command's OS user and ``--reason``, an API
    client, a console user with their electronic signature."""

    model_config = ConfigDict(frozen=True)

    actor: AuditActor
    reason: str | None = None
    signature: ESignature | None = None

    def change(
        self,
        action: str,
        subject: AuditSubject,
        before: Any,
        after: Any,
        lots: Sequence[str] = (),
    ) -> AuditChange:
        return change_of(
            actor=self.actor,
            action=action,
            subject=subject,
            before=before,
            after=after,
            reason=self.reason,
            signature=self.signature,
            lots=tuple(lots),
        )


def check_authorship(author: Authorship, action: str) -> None:
    """``AuditRefused`` when a change ``action`` by ``author`` could not be recorded."""
    change_of(
        actor=author.actor,
        action=action,
        subject=AuditSubject(kind="check", key="-"),
        reason=author.reason,
        signature=author.signature,
    )
