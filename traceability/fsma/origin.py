"""Where and when a packed lot was harvested and cooled: the KDEs an initial packer must
keep besides its own (21 CFR 1.1330(a)), and the harvest dates of a first land-based
receiving (§1.1335) (pure).

From two sources, the event's own first:

* the event's ILMD: ``cbvmda:harvestStartDate`` and ``cbvmda:harvestEndDate`` (CBV 2.0
  master data attributes; a range when they differ);
* the lot's harvesting and cooling CTE events in the records, the latest of each at or
  before the packing: the harvest's ``readPoint`` is the farm and its ``bizLocation``
  (when it is another place) the field (GS1 US's FSMA 204 guideline), its date the
  harvest date; the cooling's place and date.

What neither gives stays None, and the row names it in ``Missing KDEs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from traceability.fsma.cte import Cte

LotKey = tuple[str, str]  # (gtin, lot)
_START, _END = "cbvmda:harvestStartDate", "cbvmda:harvestEndDate"


class Origin(BaseModel):
    """A lot's harvest and cooling: places as location URNs, dates as ISO 8601 text."""

    model_config = ConfigDict(frozen=True)

    harvest_location: str | None = None
    field: str | None = None
    harvest_date: str | None = None
    cooling_location: str | None = None
    cooling_date: str | None = None


class OriginEvent(BaseModel):
    """A harvesting or cooling CTE of a lot: its kind, when (local) and its places."""

    model_config = ConfigDict(frozen=True)

    key: LotKey
    cte: Cte
    moment: datetime  # aware, in the offset where it happened
    read_point: str | None
    biz_location: str | None


def origins(found: Iterable[OriginEvent]) -> dict[LotKey, list[OriginEvent]]:
    """Each lot's harvesting and cooling events, oldest first."""
    by_lot: dict[LotKey, list[OriginEvent]] = {}
    for event in sorted(found, key=lambda e: e.moment):
        by_lot.setdefault(event.key, []).append(event)
    return by_lot


def origin_of(
    document: Mapping[str, Any], moment: datetime, events: Iterable[OriginEvent]
) -> Origin:
    """The origin of a lot packed (or landed) by ``document`` at ``moment``: its ILMD,
    then the lot's latest harvesting and cooling at or before ``moment``."""
    before = [e for e in events if e.moment <= moment]
    harvest = next((e for e in reversed(before) if e.cte == "harvesting"), None)
    cooling = next((e for e in reversed(before) if e.cte == "cooling"), None)
    farm = (harvest.read_point or harvest.biz_location) if harvest else None
    field = harvest.biz_location if harvest and harvest.biz_location != farm else None
    return Origin(
        harvest_location=farm,
        field=field,
        harvest_date=_ilmd_dates(document.get("ilmd"))
        or (harvest.moment.date().isoformat() if harvest else None),
        cooling_location=(cooling.biz_location or cooling.read_point) if cooling else None,
        cooling_date=cooling.moment.date().isoformat() if cooling else None,
    )


def _ilmd_dates(ilmd: Any) -> str | None:
    if not isinstance(ilmd, Mapping):
        return None
    start, end = _day(ilmd.get(_START)), _day(ilmd.get(_END))
    if start and end and start != end:
        return f"{start}/{end}"  # an ISO 8601 interval
    return start or end


def _day(value: Any) -> str | None:
    """The date of an ILMD date or date-time (``2026-05-30``, ``2026-05-30T06:00:00Z``)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value[:10]
    try:
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None
