"""Poison records put straight into a ledger database, as a bug (or a hand) would: around
``submit`` and its checks, so the anchoring pipeline meets what capture never accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ledger.canonical import canonicalize
from ledger.entry import Entry, EntrySignature, Link, record_digest
from ledger.merkle import leaf_hash
from ledger.signing import Signer
from ledger.store.schema import entries

LONG_LOT_STREAM = "lot:04012345111118/" + "A" * 250  # the attack: a 250-character lot


def inject_entry(
    url: str,
    signer: Signer,
    kind: str,
    record_id: str,
    record: Any,
    now: datetime,
    streams: tuple[str, ...] = (LONG_LOT_STREAM,),
) -> int:
    """Insert a signed entry whose links break the ledger's limits; its row id."""
    links = tuple(Link.model_construct(stream=s, seq=0, prev=None) for s in streams)
    placeholder = EntrySignature(key_id=signer.key_id, signed_at=now, value=bytes(64))
    unsigned = Entry.model_construct(
        kind=kind,
        record_id=record_id,
        record_digest=record_digest(record),
        links=links,
        signature=placeholder,
    )
    value = signer.sign(unsigned.signed_bytes())
    entry = unsigned.model_copy(
        update={"signature": placeholder.model_copy(update={"value": value})}
    )
    data = canonicalize(entry.to_json())
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                entries.insert().values(
                    kind=kind,
                    record_id=record_id,
                    record_digest=record_digest(record).hex(),
                    leaf_hash=leaf_hash(data).hex(),
                    leaf_data=data.decode(),
                    submitted_at=now.replace(tzinfo=None),
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            return int(pk[0])
    finally:
        engine.dispose()


def corrupt_leaf(url: str, entry_id: int, leaf_data: str) -> None:
    """Overwrite a stored leaf's data (a torn write, a hand edit)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                entries.update().where(entries.c.id == entry_id).values(leaf_data=leaf_data)
            )
    finally:
        engine.dispose()
