"""Import ERP/WMS exports (CSV or JSON) into the records: the one table of import kinds.

``IMPORT_KINDS`` names every kind a file can hold, and for each the row model every
row must pass, the ``RecordStore`` method that stores all the rows in one transaction,
and the columns (the CLI's help). Every row is validated first; any bad row rejects the
whole file (nothing is half imported) with one ``RowError`` per problem naming the row,
the field and the fix. A record the store refuses (an unknown product, a conflicting
lot) rejects the whole file too. What is stored but suspect (a lot whose expiry outlasts
its product's shelf life) is a warning, reported once the file is in.

The table sits above ``traceability.records`` (which only stores) and
``traceability.carbon`` (whose ``PrimaryFactorRow`` checks the user's own factors), so
neither needs to know the other.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from traceability.carbon.factors import PrimaryFactorRow
from traceability.errors import RecordError
from traceability.expiry import shelf_life_warning
from traceability.masterdata.service import MasterData
from traceability.records.entities import Lot
from traceability.records.locations import Location
from traceability.records.packaging import Packaging
from traceability.records.rows import LotRow, ProductRow, blank_none
from traceability.records.shipments import HubActivity, Leg, ShipmentLot, ShipmentRow
from traceability.records.stays import Stay
from traceability.records.store import RecordStore

Row = TypeVar("Row", bound=BaseModel)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportKind(Generic[Row]):
    """One kind of import file: its row model, how its rows are stored, its columns;
    for master data (products, lots, locations) also how they are stored and signed."""

    row: type[Row]
    write: Callable[[RecordStore, Sequence[Row]], None]
    help: str
    signed: Callable[[MasterData, Sequence[Row]], None] | None = None
    # What is worth a warning in rows the store took (sentences naming the record).
    warnings: Callable[[RecordStore, Sequence[Row]], list[str]] | None = None


def _lot_warnings(store: RecordStore, rows: Sequence[LotRow]) -> list[str]:
    """Lots whose expiry outlasts production date + their product's shelf life."""
    lives: dict[str, int | None] = {}
    found: list[str] = []
    for row in rows:
        if row.gtin not in lives:
            product = store.get_product(row.gtin)
            lives[row.gtin] = product.shelf_life_days if product is not None else None
        lot = Lot.model_validate(row.model_dump(exclude={"serials"}))
        warning = shelf_life_warning(lot, lives[row.gtin])
        if warning is not None:
            found.append(warning)
    return list(dict.fromkeys(found))  # two rows of one lot: one warning


IMPORT_KINDS: Mapping[str, ImportKind[Any]] = MappingProxyType(
    {
        "products": ImportKind(
            ProductRow,
            RecordStore.import_products,
            "gtin, name, temp_min_c, temp_max_c, excursion_budget_min, mkt_limit_c, "
            "shelf_life_days, stability_budget (side:limit_c:minutes;… e.g. "
            "above:25:60;below:0:30; in JSON a list of {side, limit_c, minutes})",
            MasterData.import_products,
        ),
        "lots": ImportKind(
            LotRow,
            RecordStore.import_lots,
            "gtin, lot, production_date, expiry, origin, quantity, gross_kg, serials "
            "(1001-1100 or 1001;1002)",
            MasterData.import_lots,
            _lot_warnings,
        ),
        "shipments": ImportKind(
            ShipmentRow,
            RecordStore.import_shipments,
            "id, sscc, origin, destination, carrier",
        ),
        "locations": ImportKind(
            Location,
            RecordStore.import_locations,
            "urn, name, kind, custodian, latitude, longitude, country, site, parent",
            MasterData.import_locations,
        ),
        "shipment_lots": ImportKind(
            ShipmentLot,
            RecordStore.import_shipment_lots,
            "shipment_id, gtin, lot, gross_kg, units",
        ),
        "legs": ImportKind(
            Leg,
            RecordStore.import_legs,
            "shipment_id, seq, from_location, to_location, mode, payload_kg, vehicle_class, "
            "factor_id, temperature_controlled, distance_km, detour_factor, vehicle, "
            "departed_at, arrived_at",
        ),
        "stays": ImportKind(
            Stay,
            RecordStore.import_stays,
            "id, gtin, lot, location, start, end, basis (pallet_positions|mass), part, room, "
            "shipment_id, grid_factor_id, refrigerant, annual_leakage_kg",
        ),
        "packaging": ImportKind(
            Packaging,
            RecordStore.import_packaging,
            "gtin, lot, material, mass_kg (per unit), factor_id",
        ),
        "hub_activities": ImportKind(
            HubActivity,
            RecordStore.import_hub_activities,
            "shipment_id, id, location, activity (cross_dock|cold_storage|storage|"
            "transshipment), throughput_kg, hub_type, factor_id, start, end",
        ),
        "primary_factors": ImportKind(
            PrimaryFactorRow,
            RecordStore.import_primary_factors,
            "the columns of traceability/carbon/data/emission_factors.csv (the user's own "
            "factors, marked primary; never a default factor's id)",
        ),
    }
)


class RowError(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int  # 1 = first data row (CSV line 2)
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.reason}"


class ImportRejected(RecordError):  # noqa: N818 - outcome names, as the package's
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"import rejected, nothing imported: {shown}{more}")


def parse_rows(kind: str, text: str, fmt: Literal["csv", "json"]) -> list[dict[str, Any]]:
    if fmt == "csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(text))]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRejected([RowError(row=0, field="file", reason=f"not JSON: {exc}")]) from exc
    if isinstance(data, dict):
        data = data.get(kind, [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportRejected(
            [RowError(row=0, field="file", reason=f"give a JSON list of {kind} objects")]
        )
    return data


def check_rows(kind: str, text: str, fmt: Literal["csv", "json"] = "csv") -> list[BaseModel]:
    """Every row of a file validated as ``import_records`` validates it, nothing written
    (a preview); ``ImportRejected`` with one ``RowError`` per problem."""
    entry = IMPORT_KINDS.get(kind)
    if entry is None:
        raise ValueError(f"kind {kind!r}: use one of {', '.join(IMPORT_KINDS)}")
    return list(_validated(entry.row, parse_rows(kind, text, fmt)))


def import_records(
    store: RecordStore,
    kind: str,
    text: str,
    fmt: Literal["csv", "json"] = "csv",
    master: MasterData | None = None,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Validate every row, then import all of them in one transaction; the row count.

    With ``master``, products, lots and locations are also signed as new versions of
    their ledger streams (nothing is kept if signing fails); without it they are stored
    unsigned, and ``tracehub verify`` says so. Each warning about what was imported goes
    to ``warn`` (default: this module's logger).
    """
    entry = IMPORT_KINDS.get(kind)
    if entry is None:
        raise ValueError(f"kind {kind!r}: use one of {', '.join(IMPORT_KINDS)}")
    rows = _validated(entry.row, parse_rows(kind, text, fmt))
    try:
        if master is not None and entry.signed is not None:
            entry.signed(master, rows)
        else:
            entry.write(store, rows)
    except RecordError as exc:
        raise ImportRejected([_row_error(kind, str(exc))]) from exc
    if entry.warnings is not None:
        for warning in entry.warnings(store, rows):
            (warn or _log.warning)(warning)
    return len(rows)


_ROW_PREFIX = re.compile(r"^row (?P<row>\d+)(?:, (?P<field>\w+))?: (?P<reason>.*)$", re.DOTALL)


def _row_error(kind: str, message: str) -> RowError:
    """A store refusal as a ``RowError``: its row and column when the message names them
    (``row 3, serials: …``), else the file's kind."""
    found = _ROW_PREFIX.match(message)
    if found is None:
        return RowError(row=0, field=kind, reason=message)
    return RowError(row=int(found["row"]), field=found["field"] or kind, reason=found["reason"])


def _validated(model: type[Row], raw_rows: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    errors: list[RowError] = []
    for number, raw in enumerate(raw_rows, start=1):
        try:
            rows.append(model.model_validate({k: blank_none(v) for k, v in raw.items()}))
        except ValidationError as exc:
            for problem in exc.errors():
                field = ".".join(str(p) for p in problem["loc"]) or "row"
                reason = str(problem["msg"]).removeprefix("Value error, ")
                head, sep, rest = reason.partition(": ")
                if field == "row" and sep and head in model.model_fields:
                    # A rule across columns names its column first ("detour_factor: …").
                    field, reason = head, rest
                if problem["type"] == "extra_forbidden" and len(problem["loc"]) == 1:
                    reason = f"unknown column; expected one of {', '.join(model.model_fields)}"
                errors.append(RowError(row=number, field=field, reason=reason))
    if errors:
        raise ImportRejected(errors)
    return rows
