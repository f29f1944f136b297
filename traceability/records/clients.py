"""API clients and their credentials: who may capture, read, audit or administer.

A client (the gateway when it runs remote, an ERP/WMS integration, a trading partner)
holds one bearer token ``thc_<token id>_<secret>``. The records keep the token id and
the SHA-256 of the secret, never the secret: it is 256 random bits, so a fast hash is
enough (nobody can guess their way back from it) and a leaked table leaks no token.
A request's token is looked up by its id, then its secret's digest is compared in
constant time (``hmac.compare_digest``). Kept in the records database so that every web
replica sees the same clients and the same revocations.

Scopes: ``capture`` (``POST /capture``), ``read`` (the EPCIS and lot read API),
``subscribe`` (store named queries and subscribe to them: webhooks and WebSockets make
the hub send, so public reads never grant it), ``auditor`` (``/auditor/…``),
``operator`` (acknowledge and assess incidents), ``quality``
(dispose of a lot after an incident: release, quarantine, reject) and ``admin``, which
implies all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, get_args

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import exc as sa_exc

from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import Database, from_db, now_utc, to_db
from traceability.records.schema import clients

Scope = Literal["capture", "read", "subscribe", "auditor", "operator", "quality", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
TOKEN_PREFIX = "thc_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
_TOKEN = re.compile(r"thc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class Client(BaseModel):
    """One client as the records keep it (never its secret, nor the secret's hash)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    token_id: str
    scopes: tuple[Scope, ...]
    created_at: AwareDatetime
    revoked_at: AwareDatetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: tuple[Scope, ...]) -> tuple[Scope, ...]:
        if not value:
            raise ValueError("scopes: give at least one of " + ", ".join(SCOPES))
        return tuple(s for s in SCOPES if s in value)  # one order, no repeats

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, scope: Scope) -> bool:
        """``admin`` implies every scope."""
        return scope in self.scopes or "admin" in self.scopes


class IssuedClient(BaseModel):
    """A new client and its token: the only time the token exists outside its holder."""

    model_config = ConfigDict(frozen=True)

    client: Client
    token: str


def secret_digest(secret: str) -> str:
    """What the records keep of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """``(token id, secret)`` of a well-formed token, else None."""
    match = _TOKEN.fullmatch(token)  # not match + "$", which lets a trailing newline in
    return None if match is None else (match[1], match[2])


class ClientRecords(Database):
    """Clients by name; tokens resolved by id and checked in constant time."""

    def add_client(
        self, name: str, scopes: Iterable[Scope], now: datetime | None = None
    ) -> IssuedClient:
        """Issue a client with a new token; a name already used (even revoked) is a
        ``RecordConflict``, so a revoked name never comes back to life."""
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        client = Client(
            name=name, token_id=token_id, scopes=tuple(scopes), created_at=now or now_utc()
        )
        try:
            with self._tx() as conn:
                if conn.execute(sa.select(clients.c.name).where(clients.c.name == name)).first():
                    raise RecordConflict(
                        f"client {name}: the name is taken (revoked names stay taken); "
                        "choose another name"
                    )
                conn.execute(
                    clients.insert().values(
                        name=client.name,
                        token_id=token_id,
                        secret_sha256=secret_digest(secret),
                        scopes=",".join(client.scopes),
                        created_at=to_db(client.created_at),
                        revoked_at=None,
                    )
                )
        except sa_exc.IntegrityError as exc:  # another process added it meanwhile
            raise RecordConflict(f"client {name}: the name is taken; choose another") from exc
        return IssuedClient(client=client, token=f"{TOKEN_PREFIX}{token_id}_{secret}")

    def clients(self) -> list[Client]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(clients).order_by(clients.c.name))
            return [_client(row._asdict()) for row in rows]

    def client(self, name: str) -> Client | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(clients).where(clients.c.name == name)).first()
        return None if row is None else _client(row._asdict())

    def revoke_client(self, name: str, now: datetime | None = None) -> Client:
        """Revoke ``name``'s token from now on; revoking it again keeps the first time."""
        with self._tx() as conn:
            conn.execute(
                clients.update()
                .where(clients.c.name == name, clients.c.revoked_at.is_(None))
                .values(revoked_at=to_db(now or now_utc()))
            )
            row = conn.execute(sa.select(clients).where(clients.c.name == name)).first()
        if row is None:
            raise RecordNotFound(f"client {name}: no such client; see `tracehub clients list`")
        return _client(row._asdict())

    def authenticate(self, token: str) -> Client | None:
        """The client a bearer token belongs to (revoked ones too: the caller says which
        answer to give), or None for a malformed, unknown or wrong token."""
        parsed = parse_token(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        with self._tx() as conn:
            row = conn.execute(sa.select(clients).where(clients.c.token_id == token_id)).first()
        if row is None:
            return None
        data = row._asdict()
        given = hashlib.sha256(secret.encode("ascii")).digest()
        if not hmac.compare_digest(given, bytes.fromhex(data["secret_sha256"])):
            return None
        return _client(data)


def _client(data: dict[str, object]) -> Client:
    revoked = data["revoked_at"]
    created = data["created_at"]
    assert isinstance(created, datetime)
    return Client(
        name=str(data["name"]),
        token_id=str(data["token_id"]),
        scopes=tuple(s for s in str(data["scopes"]).split(",") if s),
        created_at=from_db(created),
        revoked_at=from_db(revoked) if isinstance(revoked, datetime) else None,
    )
