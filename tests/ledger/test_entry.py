"""Signed entries: canonical digests, signatures over everything, strict parsing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.entry import Entry, Link, record_digest, sign_entry, signature_problem
from ledger.errors import EntryError
from ledger.signing import Signer
from tests.ledger.conftest import T0


def _entry(signer: Signer) -> Entry:
    links = (Link(stream="lot:b", seq=0, prev=None), Link(stream="lot:a", seq=3, prev=b"\1" * 32))
    return sign_entry("epcis-event", "ev-1", record_digest({"b": 1, "a": 2}), links, signer, T0)


def test_digest_is_over_canonical_bytes() -> None:
    assert record_digest({"b": 1, "a": 2}) == sha256(b'{"a":2,"b":1}')
    assert record_digest({"x": 1.0}) == sha256(canonicalize({"x": 1}))


def test_entry_round_trips_and_verifies(signer: Signer) -> None:
    entry = _entry(signer)
    assert [link.stream for link in entry.links] == ["lot:a", "lot:b"]
    again = Entry.from_json(entry.to_json())
    assert again == entry
    assert again.leaf_hash() == entry.leaf_hash()
    assert signature_problem(again, signer.public) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda j: j.update(record_id="ev-2"), "does not match"),
        (lambda j: j["links"][0].update(seq=4), "does not match"),
        (lambda j: j["signature"].update(signed_at="2020-01-01T00:00:00Z"), "outside key"),
    ],
)
def test_any_change_breaks_the_signature(signer: Signer, change: object, problem: str) -> None:
    data = _entry(signer).to_json()
    change(data)  # type: ignore[operator]
    reason = signature_problem(Entry.from_json(data), signer.public)
    assert reason is not None
    assert problem in reason


def test_unknown_key_is_named(signer: Signer) -> None:
    reason = signature_problem(_entry(signer), None)
    assert reason is not None
    assert signer.key_id in reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda j: j.update(format="x/1"), "format"),
        (lambda j: j.pop("kind"), "lacks field 'kind'"),
        (lambda j: j.update(kind="Bad Kind"), "kind"),
        (lambda j: j.update(record_digest="00"), "record_digest"),
        (lambda j: j["signature"].update(value="zz"), "malformed"),
        (lambda j: j["links"].reverse(), "sorted by stream"),
    ],
)
def test_malformed_entries_name_the_field(signer: Signer, change: object, message: str) -> None:
    data = _entry(signer).to_json()
    change(data)  # type: ignore[operator]
    with pytest.raises(EntryError, match=message):
        Entry.from_json(data)


def test_sign_rejects_bad_kind(signer: Signer) -> None:
    with pytest.raises(EntryError, match="kind"):
        sign_entry("NO", "x", b"\0" * 32, (), signer, T0 + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("moment", "why"),
    [(T0 - timedelta(days=200), "is not valid yet"), (T0 + timedelta(days=1), "was rotated out")],
)
def test_signing_outside_the_key_period_is_refused(moment: object, why: str) -> None:
    from datetime import datetime

    from ledger.errors import KeyOutOfPeriod

    assert isinstance(moment, datetime)
    closed = Signer.generate("site:a", T0 - timedelta(days=30))
    closed = Signer.from_private_key(
        closed._private_key, "site:a", T0 - timedelta(days=30), valid_until=T0
    )
    with pytest.raises(KeyOutOfPeriod) as info:
        sign_entry("epcis-event", "ev-1", record_digest({"a": 1}), (), closed, moment)
    message = str(info.value)
    assert info.value.key_id == closed.key_id
    assert closed.key_id in message
    assert why in message
    assert "2026-05-02T10:00:00.000000Z to 2026-06-01T10:00:00.000000Z" in message


def test_the_limits_are_the_ones_the_entry_enforces(signer: Signer) -> None:
    from ledger.entry import MAX_STREAM_LENGTH, stream_problem

    assert stream_problem("lot:x") is None
    assert stream_problem("s" * MAX_STREAM_LENGTH) is None
    problem = stream_problem("s" * (MAX_STREAM_LENGTH + 1))
    assert problem is not None
    assert "201 characters" in problem
    assert "at most 200" in problem
    assert stream_problem("") is not None
    # what stream_problem lets through, Link takes; one more character it refuses
    Link(stream="s" * MAX_STREAM_LENGTH, seq=0, prev=None)
    with pytest.raises(ValueError, match="at most 200"):
        Link(stream="s" * (MAX_STREAM_LENGTH + 1), seq=0, prev=None)


def test_a_leaf_is_anchorable_only_as_its_own_canonical_entry(signer: Signer) -> None:
    from ledger.entry import leaf_problem
    from ledger.merkle import leaf_hash

    entry = _entry(signer)
    data = entry.leaf_data()
    good = leaf_hash(data).hex()
    assert leaf_problem(entry.kind, entry.record_id, good, data.decode()) is None
    assert "unreadable" in str(leaf_problem(entry.kind, entry.record_id, good, "{"))
    assert "unreadable" in str(leaf_problem(entry.kind, entry.record_id, "zz", data.decode()))
    assert "names" in str(leaf_problem(entry.kind, "other-id", good, data.decode()))
    assert "not the hash" in str(
        leaf_problem(entry.kind, entry.record_id, "00" * 32, data.decode())
    )
    spaced = json.dumps(entry.to_json(), indent=1)  # same entry, not canonical bytes
    assert "canonical" in str(
        leaf_problem(entry.kind, entry.record_id, leaf_hash(spaced.encode()).hex(), spaced)
    )


@pytest.mark.parametrize(
    ("record_id", "streams", "seq"),
    [
        ("ni:///sha-256;" + "a" * 64 + "?ver=CBV2.0", ("lot:04012345111118/L1",), 0),
        ('évènement \u2028 "quoted" \\ \t \x01', ("lot:é", "lot:\U0001f600", "lot:\ufb01"), 7),
        ("big-seq", ("lot:a",), 2**53),  # beyond orjson's exact integers: canonicalize
    ],
)
def test_entry_bytes_are_rfc8785(
    signer: Signer, record_id: str, streams: tuple[str, ...], seq: int
) -> None:
    links = tuple(Link(stream=s, seq=seq, prev=b"\2" * 32) for s in streams)
    entry = sign_entry("epcis-event", record_id, b"\3" * 32, links, signer, T0)
    assert entry.leaf_data() == canonicalize(entry.to_json())
    unsigned = entry.to_json()
    del unsigned["signature"]["value"]
    assert entry.signed_bytes() == canonicalize(unsigned)
    assert signature_problem(entry, signer.public) is None
    assert entry == Entry.model_validate(entry.model_dump())
    assert Entry.from_json(json.loads(entry.leaf_data())) == entry


@pytest.mark.parametrize(
    ("record_id", "links", "digest", "message"),
    [
        ("", (), b"\0" * 32, "record_id"),
        ("x" * 201, (), b"\0" * 32, "record_id"),
        ("x", (), b"\0" * 31, "record_digest"),
        ("x", (Link(stream="a", seq=0, prev=None),) * 2, b"\0" * 32, "each stream once"),
    ],
)
def test_sign_names_what_is_wrong(
    signer: Signer, record_id: str, links: tuple[Link, ...], digest: bytes, message: str
) -> None:
    with pytest.raises(EntryError, match=message):
        sign_entry("epcis-event", record_id, digest, links, signer, T0 + timedelta(seconds=1))
