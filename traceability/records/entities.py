"""Frozen values the records store takes and returns: products, lots, events, batches."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Product(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    name: str
    temp_min_c: float | None = None
    temp_max_c: float | None = None
    excursion_budget_min: float | None = None  # minutes out of range before "compromised"
    mkt_limit_c: float | None = None
    shelf_life_days: int | None = None


class Lot(BaseModel):
    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str
    expiry: date | None = None
    origin: str | None = None
    quantity: int | None = None
    production_date: date | None = None
    gross_kg: float | None = None  # the whole lot's gross mass (carbon allocation)


class EpcLink(BaseModel):
    """One EPC of an event and, when it is a known unit, the lot it belongs to."""

    model_config = ConfigDict(frozen=True)

    epc: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    role: str = "epc"  # epc, parent, child, input, output, class


class NewEvent(BaseModel):
    """An event ready to store: ``body`` is its canonical JSON text."""

    model_config = ConfigDict(frozen=True)

    id: str
    event_time: datetime
    type: str
    biz_step: str | None
    read_point: str | None
    biz_location: str | None
    body: str
    epcs: tuple[EpcLink, ...]
    action: str | None = None
    disposition: str | None = None


class StoredEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    event_time: datetime
    type: str
    biz_step: str | None
    read_point: str | None
    biz_location: str | None
    body: str
    captured_at: datetime
    batch_id: int | None
    leaf_index: int | None
    leaf_hash: bytes | None
    action: str | None = None
    disposition: str | None = None

    def document(self) -> dict[str, Any]:
        """The stored event JSON, parsed."""
        value: dict[str, Any] = json.loads(self.body)
        return value


class StoreResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    created: bool


class LastLocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    event_time: datetime
    event_id: str


class Batch(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    root: bytes
    size: int
    metadata: bytes
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    created_at: datetime


class BatchLeaf(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    leaf_index: int
    leaf_hash: bytes
