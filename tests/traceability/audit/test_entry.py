"""The audit entry (pure): its signed record and digest (a golden vector), the chain, the
rules for signed changes, and the records' row round trip."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from traceability.audit.entry import (
    AuditActor,
    AuditChange,
    AuditEntry,
    AuditSubject,
    ESignature,
    change_of,
    differing,
    entry_of,
    from_row,
    is_signed_action,
    seq_of,
    to_row,
)
from traceability.audit.errors import AuditRefused

AT = datetime(2026, 12, 3, 10, 16, tzinfo=UTC)
LI = AuditActor(name="li", kind="user", role="quality")
SIGNATURE = ESignature(
    name="li",
    display_name="Li Wei",
    role="quality",
    signed_at=datetime(2026, 12, 3, 10, 15, 30, tzinfo=UTC),
    meaning="approved release of lot L1",
)
# The record of ``_disposal()``; its digest is pinned so a change of the format shows.
GOLDEN = "083c0bf31ec9aace3e926730c1391ebb394e08f0c88b6c8d7a16d64e47c6c0a6"


def _disposal(**changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "seq": 1,
        "at": AT,
        "actor": LI,
        "action": "incident.dispose",
        "subject": AuditSubject(kind="incident", key="inc-1"),
        "lots": ("04012345111118/L1",),
        "before": {"state": "assessed"},
        "after": {"state": "disposed", "disposition": "release"},
        "reason": "probe in the door draught",
        "signature": SIGNATURE,
    }
    return AuditEntry(**{**fields, **changes})


def test_the_record_says_who_when_what_and_why_and_its_digest_is_pinned() -> None:
    entry = _disposal()
    record = entry.record()
    assert record == {
        "format": "tracehub-audit/1",
        "seq": 1,
        "at": "2026-12-03T10:16:00.000000Z",
        "actor": {"name": "li", "kind": "user", "role": "quality"},
        "action": "incident.dispose",
        "subject": {"kind": "incident", "key": "inc-1"},
        "lots": ["04012345111118/L1"],
        "before": {"state": "assessed"},
        "after": {"state": "disposed", "disposition": "release"},
        "reason": "probe in the door draught",
        "signature": {
            "name": "li",
            "display_name": "Li Wei",
            "role": "quality",
            "signed_at": "2026-12-03T10:15:30.000000Z",
            "meaning": "approved release of lot L1",
        },
        "prev": None,
    }
    # RFC 8785 of this record (ASCII, no floats) is sorted keys without whitespace.
    plain = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    assert entry.digest() == hashlib.sha256(plain).hexdigest() == GOLDEN
    assert entry.record_id == "audit:1"
    assert seq_of("audit:1") == 1
    assert seq_of("incident:inc-1/1") is None
    assert entry.streams == ("audit", "lot:04012345111118/L1")
    assert AuditEntry.from_record(record) == entry


def test_each_entry_names_the_digest_of_the_one_before_and_any_change_moves_it() -> None:
    first = _disposal()
    change = AuditChange(
        actor=AuditActor(name="alice", kind="cli"),
        action="master.product.update",
        subject=AuditSubject(kind="product", key="04012345111118"),
        before={"temp_max_c": 8.0},
        after={"temp_max_c": 6.0},
    )
    second = entry_of(change, 2, AT, first.digest())
    assert second.prev == first.digest()
    assert second.record()["prev"] == GOLDEN
    for edit in (
        {"after": {"state": "disposed", "disposition": "reject"}},
        {"reason": "another reason"},
        {"at": AT.replace(minute=17)},
        {"seq": 3},
    ):
        assert _disposal(**edit).digest() != GOLDEN, edit
    assert differing(_disposal(reason="x").record(), first.record()) == ["reason"]


def test_a_signed_change_by_a_user_needs_their_signature_and_a_reason() -> None:
    with pytest.raises(AuditRefused, match="needs their electronic signature"):
        change_of(actor=LI, action="incident.dispose", subject=_subject(), reason="r")
    with pytest.raises(AuditRefused, match="needs the reason"):
        change_of(actor=LI, action="incident.dispose", subject=_subject(), signature=SIGNATURE)
    someone = AuditActor(name="bo", kind="user", role="quality")
    with pytest.raises(AuditRefused, match="signs their own"):
        change_of(
            actor=someone,
            action="incident.dispose",
            subject=_subject(),
            reason="r",
            signature=SIGNATURE,
        )
    for action in ("master.lot.update", "device.revoke", "lot.release"):
        assert is_signed_action(action)
        with pytest.raises(AuditRefused, match="signature"):
            change_of(actor=LI, action=action, subject=_subject(), reason="r")
    assert not is_signed_action("incident.acknowledge")
    assert not is_signed_action("masterful.thing")
    # a user's acknowledgement, and any command's change, need no signature
    change_of(actor=LI, action="incident.acknowledge", subject=_subject())
    change_of(actor=AuditActor(name="root", kind="cli"), action="device.revoke", subject=_subject())


def test_a_change_that_cannot_be_an_entry_is_refused_naming_the_field() -> None:
    cli = AuditActor(name="root", kind="cli")
    with pytest.raises(AuditRefused, match=r"^audit entry: before: .*not a JSON value"):
        change_of(actor=cli, action="a.b", subject=_subject(), before={"x": float("nan")})
    with pytest.raises(AuditRefused, match=r"^audit entry: action"):
        change_of(actor=cli, action="Update", subject=_subject())
    with pytest.raises(AuditRefused, match=r"^audit entry: lots"):
        change_of(actor=cli, action="a.b", subject=_subject(), lots=("L1",))
    with pytest.raises(ValidationError):
        AuditActor(name="x", kind="robot")


def test_a_row_round_trips_and_an_edited_row_does_not_read_as_an_entry() -> None:
    entry = _disposal()
    row = to_row(entry)
    assert row["digest"] == GOLDEN
    assert from_row(row) == entry
    with pytest.raises(ValueError, match="after is not JSON"):
        from_row({**row, "malformed": ["after"]})
    with pytest.raises(ValueError, match="kind"):
        from_row({**row, "actor_kind": "robot"})
    with pytest.raises(ValueError, match="exactly the fields"):
        AuditEntry.from_record({**entry.record(), "extra": 1})


def _subject() -> AuditSubject:
    return AuditSubject(kind="incident", key="inc-1")
