"""The audit entry (format ``tracehub-audit/1``): who changed what, when, before and
after, and why (pure).

An entry as the records keep it and the ledger signs it (kind ``audit-entry``, record id
``audit:{seq}``, stream ``audit`` and the stream of every lot it names)::

    {"format": "tracehub-audit/1", "seq": 12, "at": "2026-12-03T10:16:00.000000Z",
     "actor": {"name": "li", "kind": "user", "role": "quality"},
     "action": "incident.dispose", "subject": {"kind": "incident", "key": "inc-…"},
     "lots": ["04012345111118/L1"], "before": {"state": "assessed"},
     "after": {"state": "disposed", …}, "reason": "probe was in the door draught",
     "signature": {"name": "li", "display_name": "Li Wei", "role": "quality",
                   "signed_at": "…Z", "meaning": "approved release of lot L1"},
     "prev": "<the previous entry's digest>"}

``digest`` is the SHA-256 of the record's RFC 8785 canonical bytes (what the ledger
entry's ``record_digest`` commits to); each entry names the previous one's (``prev``,
null for the first), so an entry edited, dropped or moved breaks the chain at once,
even before the ledger signed it. ``before``/``after`` are JSON values (null: absent).

A change the issue calls signed (``SIGNED_ACTIONS``: a disposition, a release, a
master-data change, a device revocation) made by a person through the console (actor
kind ``user``) carries their electronic signature (name, time and meaning) and a
reason; a signature always needs a reason, and is the actor's own. Commands (``cli``),
API clients and the hub itself may give a reason; their identity is the OS user or the
authenticated client, not a signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.errors import CanonicalizationError
from ledger.signing import format_instant, parse_instant
from traceability.audit.errors import AuditRefused
from traceability.epclinks import lot_stream

FORMAT = "tracehub-audit/1"
KIND = "audit-entry"  # the ledger kind
STREAM = "audit"  # the ledger stream of every entry
ActorKind = Literal["user", "client", "cli", "system"]
ACTOR_KINDS: tuple[ActorKind, ...] = get_args(ActorKind)
# Changes a person signs (issue #17: "a disposition, a release, a master-data change and a
# device revocation"): an action equal to one, or under one ending in ".".
SIGNED_ACTIONS = ("incident.dispose", "lot.release", "master.", "device.revoke")
_ACTION = r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$"
_SUBJECT_KIND = r"^[a-z][a-z0-9_-]{0,39}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LOT = re.compile(r"^\d{14}/.{1,20}$")
_FIELDS = (
    "format", "seq", "at", "actor", "action", "subject", "lots", "before", "after", "reason",
    "signature", "prev",
)  # fmt: skip


def record_id(seq: int) -> str:
    return f"audit:{seq}"


def seq_of(record_id_: str) -> int | None:
    """The seq of an ``audit:{seq}`` record id (None for any other id)."""
    prefix, _, number = record_id_.partition(":")
    return int(number) if prefix == "audit" and number.isdigit() else None


def is_signed_action(action: str) -> bool:
    return any(action == a or (a.endswith(".") and action.startswith(a)) for a in SIGNED_ACTIONS)


class AuditActor(BaseModel):
    """Who made the change: a console user, an API client, an OS user running a command
    (``cli``) or the hub itself (``system``), with the role they acted in."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    kind: ActorKind
    role: str | None = Field(default=None, max_length=40)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "role": self.role}

    @property
    def label(self) -> str:
        """``cli:alice``, ``user:li (quality)``."""
        return f"{self.kind}:{self.name}" + (f" ({self.role})" if self.role else "")


class AuditSubject(BaseModel):
    """What was changed: ``{kind, key}``, e.g. product 04012345111118, device
    demo/temperature/probe-1, client erp-1, incident inc-…"""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(pattern=_SUBJECT_KIND)
    key: str = Field(min_length=1, max_length=200)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key}


class ESignature(BaseModel):
    """An electronic signature (21 CFR 11.50): who signed, when, and what it means. The
    shape of the console's ``web.console.gate.Signature``."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=40)
    signed_at: AwareDatetime
    meaning: str = Field(min_length=1, max_length=500)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "role": self.role,
            "signed_at": format_instant(self.signed_at),
            "meaning": self.meaning,
        }


class AuditChange(BaseModel):
    """A change to record: an entry without its place in the chain (seq, at, prev)."""

    model_config = ConfigDict(frozen=True)

    actor: AuditActor
    action: str = Field(pattern=_ACTION, max_length=64)
    subject: AuditSubject
    before: Any = None
    after: Any = None
    reason: str | None = Field(default=None, max_length=4000)
    signature: ESignature | None = None
    lots: tuple[str, ...] = ()  # "gtin14/lot" of each lot the change is about

    @field_validator("lots")
    @classmethod
    def _lots(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if not _LOT.match(key):
                raise ValueError(f"lot {key!r} is not GTIN-14/LOT (a lot of 1 to 20 characters)")
        return tuple(sorted(set(value)))

    @field_validator("reason")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        # PostgreSQL's text columns refuse NUL; checked here, ``check_authorship`` refuses
        # such a reason before the step it explains is taken (never a step without entry).
        if value is not None and _CONTROL.search(value):
            raise ValueError("reason: remove the control characters (line breaks are fine)")
        return value

    @field_validator("before", "after")
    @classmethod
    def _json(cls, value: Any) -> Any:
        try:
            canonicalize(value)
        except CanonicalizationError as exc:
            raise ValueError(f"not a JSON value: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _signed(self) -> Self:
        reason = (self.reason or "").strip()
        if self.signature is not None:
            if not reason:
                raise ValueError("reason: a signed change needs the reason for it")
            if self.signature.name != self.actor.name:
                raise ValueError(
                    f"signature: signed by {self.signature.name}, the change is "
                    f"{self.actor.name}'s; a person signs their own changes"
                )
        elif self.actor.kind == "user" and is_signed_action(self.action):
            raise ValueError(
                f"signature: {self.action} by a user needs their electronic signature "
                "(password again, and the meaning)"
            )
        return self

    @property
    def streams(self) -> tuple[str, ...]:
        """The ledger streams of its entry: ``audit`` and each lot's."""
        return (STREAM, *(lot_stream(*key.split("/", 1)) for key in self.lots))


class AuditEntry(AuditChange):
    """One entry of the trail, as stored and signed."""

    seq: int = Field(ge=1)
    at: AwareDatetime
    prev: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @property
    def record_id(self) -> str:
        return record_id(self.seq)

    def record(self) -> dict[str, Any]:
        """The signed record (module docstring)."""
        return {
            "format": FORMAT,
            "seq": self.seq,
            "at": format_instant(self.at),
            "actor": self.actor.to_json(),
            "action": self.action,
            "subject": self.subject.to_json(),
            "lots": list(self.lots),
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "signature": None if self.signature is None else self.signature.to_json(),
            "prev": self.prev,
        }

    def digest(self) -> str:
        """SHA-256 (hex) of the record's canonical bytes: the next entry's ``prev``."""
        return sha256(canonicalize(self.record())).hex()

    @classmethod
    def from_record(cls, record: Any) -> AuditEntry:
        """Parse a signed record; ``ValueError`` naming what is wrong."""
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} record")
        if sorted(record) != sorted(_FIELDS):
            raise ValueError(f"an audit record has exactly the fields {', '.join(_FIELDS)}")
        signature = record["signature"]
        return cls(
            seq=record["seq"],
            at=parse_instant(str(record["at"])),
            actor=AuditActor.model_validate(record["actor"]),
            action=record["action"],
            subject=AuditSubject.model_validate(record["subject"]),
            lots=tuple(record["lots"] or ()),
            before=record["before"],
            after=record["after"],
            reason=record["reason"],
            signature=None if signature is None else ESignature.model_validate(signature),
            prev=record["prev"],
        )


def entry_of(change: AuditChange, seq: int, at: datetime, prev: str | None) -> AuditEntry:
    """``change`` as the trail's entry ``seq``, after the entry whose digest is ``prev``."""
    return AuditEntry(**dict(change), seq=seq, at=at, prev=prev)


def change_of(**fields: Any) -> AuditChange:
    """An ``AuditChange``; ``AuditRefused`` naming the first field that is wrong."""
    try:
        return AuditChange(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise AuditRefused(f"audit entry: {where}: {message}" if where else message) from exc


def differing(record: dict[str, Any], signed: dict[str, Any]) -> list[str]:
    """The fields of ``record`` that differ from the ``signed`` one (canonically)."""
    return [
        name for name in _FIELDS if canonicalize(record.get(name)) != canonicalize(signed.get(name))
    ]


def to_row(entry: AuditEntry) -> dict[str, Any]:
    """The records' row of ``entry`` (``traceability.records.audittrail``)."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor_name": entry.actor.name,
        "actor_kind": entry.actor.kind,
        "actor_role": entry.actor.role,
        "action": entry.action,
        "subject_kind": entry.subject.kind,
        "subject_key": entry.subject.key,
        "lots": list(entry.lots),
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "signature": None if entry.signature is None else entry.signature.to_json(),
        "prev": entry.prev,
        "digest": entry.digest(),
    }


def from_row(row: Mapping[str, Any]) -> AuditEntry:
    """The entry a records row holds; ``ValueError`` when the row cannot be one (a column
    edited into something no entry has)."""
    if row.get("malformed"):
        raise ValueError(f"{', '.join(row['malformed'])} is not JSON")
    signature = row["signature"]
    return AuditEntry(
        seq=row["seq"],
        at=row["at"],
        actor=AuditActor(name=row["actor_name"], kind=row["actor_kind"], role=row["actor_role"]),
        action=row["action"],
        subject=AuditSubject(kind=row["subject_kind"], key=row["subject_key"]),
        lots=tuple(row["lots"] or ()),
        before=row["before"],
        after=row["after"],
        reason=row["reason"],
        signature=None if signature is None else ESignature.model_validate(signature),
        prev=row["prev"],
    )
