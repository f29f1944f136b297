"""Which rows an FSMA 204 request asks for (pure): a product's, or a lot's full trace.

A lot's trace is its own CTEs, one step back (the lots transformed into it; where it was
received from is in its receiving rows) and one step forward (the lots made from it;
where it was shipped to is in its shipping rows), each row labelled in ``Row.trace``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from traceability.fsma.row import Row

LotKey = tuple[str, str]  # (gtin, lot)


def lot_key(row: Row) -> LotKey | None:
    return (row.gtin, row.tlc) if row.gtin is not None and row.tlc is not None else None


def selected(rows: Iterable[Row], product: str | None = None, lot: str | None = None) -> list[Row]:
    """The rows of ``product`` (a GTIN-14) and, with ``lot``, the lot's trace; sorted by
    lot, then time."""
    every = list(rows)
    if lot is None:
        chosen = [r for r in every if product is None or r.gtin == product]
        return sorted(chosen, key=Row.sort_key)
    own = {
        key
        for r in every
        if (key := lot_key(r)) is not None and key[1] == lot and product in (None, key[0])
    }
    labels = _neighbours(every, own)
    labels.update({key: f"traced lot {key[1]}" for key in own})
    chosen = [
        r.model_copy(update={"trace": labels[key]})
        for r in every
        if (key := lot_key(r)) is not None and key in labels
    ]
    return sorted(chosen, key=Row.sort_key)


def _neighbours(rows: Sequence[Row], own: set[LotKey]) -> dict[LotKey, str]:
    """The lots one transformation away from ``own``, each with how it is related."""
    by_event: dict[str, set[tuple[str, LotKey]]] = {}
    for row in rows:
        key = lot_key(row)
        if row.cte == "transformation" and key is not None:
            by_event.setdefault(row.event_id, set()).add((row.role, key))
    labels: dict[LotKey, str] = {}
    for named in by_event.values():
        inputs = {key for role, key in named if role == "input"}
        outputs = {key for role, key in named if role == "output"}
        for traced in sorted(own):
            if traced in outputs:
                for key in sorted(inputs - own):
                    labels.setdefault(key, f"step back: went into {traced[1]}")
            if traced in inputs:
                for key in sorted(outputs - own):
                    labels.setdefault(key, f"step forward: made from {traced[1]}")
    return labels
