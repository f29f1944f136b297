"""API clients: tokens issued once, kept hashed, resolved by id in constant time, scoped,
revoked for good; on SQLite and a real PostgreSQL (web replicas share them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.masterdata import database_url
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.clients import Client, parse_token, secret_digest
from traceability.records.store import RecordStore

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, request) as found:
        yield found


@pytest.fixture
def records(url: str) -> Iterator[RecordStore]:
    opened = RecordStore.open(url)
    yield opened
    opened.close()


def test_a_token_is_issued_once_and_only_its_hash_is_kept(records: RecordStore, url: str) -> None:
    issued = records.add_client("erp-1", ["read", "capture", "read"], now=T0)
    assert issued.client.scopes == ("capture", "read")  # one order, no repeats
    parsed = parse_token(issued.token)
    assert parsed is not None
    token_id, secret = parsed
    assert issued.token == f"thc_{token_id}_{secret}"
    assert len(secret) == 43  # 256 random bits, base64url
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            (row,) = conn.execute(sa.text("SELECT * FROM clients")).mappings()
    finally:
        engine.dispose()
    assert row["token_id"] == token_id
    assert row["secret_sha256"] == secret_digest(secret)
    assert secret not in str(dict(row))
    assert issued.token not in str(dict(row))
    assert records.authenticate(issued.token) == issued.client
    assert records.clients() == [issued.client]


def test_wrong_unknown_and_malformed_tokens_resolve_to_nobody(records: RecordStore) -> None:
    issued = records.add_client("erp-1", ["capture"])
    token_id, secret = parse_token(issued.token) or ("", "")
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]
    for token in (
        f"thc_{token_id}_{flipped}",  # right id, wrong secret
        f"thc_{'0' * 16}_{secret}",  # unknown id, a real secret
        issued.token + "x",
        issued.token + "\n",
        issued.token[:-1],
        "",
        "thc_",
        secret,
        f"thc_{token_id.upper()}_{secret}",
    ):
        assert records.authenticate(token) is None, token


def test_scopes_admin_implies_all(records: RecordStore) -> None:
    reader = records.add_client("partner", ["read"]).client
    admin = records.add_client("ops", ["admin"]).client
    assert reader.allows("read")
    assert not reader.allows("capture")
    assert not reader.allows("auditor")
    assert not reader.allows("admin")
    assert all(admin.allows(s) for s in ("capture", "read", "auditor", "admin"))


def test_bad_names_and_scopes_are_refused(records: RecordStore) -> None:
    with pytest.raises(ValueError, match="scopes"):
        records.add_client("x", [])
    with pytest.raises(ValueError, match="scopes"):
        records.add_client("x", ["write"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="name"):
        records.add_client("two words", ["read"])
    with pytest.raises(ValueError, match="name"):
        records.add_client("x" * 65, ["read"])
    assert records.clients() == []


def test_revoked_for_good_and_the_name_stays_taken(records: RecordStore) -> None:
    issued = records.add_client("erp-1", ["capture"], now=T0)
    later = datetime(2026, 11, 23, tzinfo=UTC)
    revoked = records.revoke_client("erp-1", now=later)
    assert revoked.revoked_at == later
    again = records.revoke_client("erp-1", now=datetime(2026, 12, 1, tzinfo=UTC))
    assert again.revoked_at == later  # the first revocation stands
    found = records.authenticate(issued.token)
    assert isinstance(found, Client)
    assert found.revoked  # resolved, so the web can say "revoked" rather than "unknown"
    with pytest.raises(RecordConflict, match="erp-1: the name is taken"):
        records.add_client("erp-1", ["capture"])
    with pytest.raises(RecordNotFound, match="nobody: no such client"):
        records.revoke_client("nobody")
    assert records.client("erp-1") == revoked
    assert records.client("nobody") is None
