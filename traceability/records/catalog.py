"""Products, lots and serialised units (the master data of the records).

Added one by one (``add_product``, ``add_lot`` …) or a whole import file of products
or lots in one transaction (``import_products``, ``import_lots``, rows from ``rows``);
changed by ``update_product`` / ``update_lot``. Every write of a product or lot takes
``before_commit``: it is called inside the write's transaction with the values as they
will be committed (a lot with all its serials, ``LotMaster``), and an exception from it
rolls the write back. ``traceability.masterdata`` signs them there, so the store stays
SQL-only and nothing is committed that was not signed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import Connection

from gs1.identifiers import Gtin, LotNumber, SerialNumber
from traceability.errors import RecordConflict, RecordError, RecordNotFound
from traceability.records.database import Database
from traceability.records.database import gtin_digits as _gtin
from traceability.records.entities import Lot, Product
from traceability.records.rows import LotRow, ProductRow, serial_list
from traceability.records.schema import lots, products, units
from traceability.records.stability import BudgetStep, band_problem, steps_text


class LotMaster(BaseModel):
    """A lot with every serial registered to it: the lot's master data as a whole."""

    model_config = ConfigDict(frozen=True)

    lot: Lot
    serials: tuple[str, ...]


ProductsWritten = Callable[[Sequence[Product]], None]
LotsWritten = Callable[[Sequence[LotMaster]], None]
_PRODUCT_CHANGES = frozenset(Product.model_fields) - {"gtin"}
_LOT_CHANGES = frozenset(Lot.model_fields) - {"gtin", "lot"}


class CatalogRecords(Database):
    """Master data: what the products and lots are, which units belong to which lot."""

    def add_product(
        self,
        gtin: Gtin | str,
        name: str,
        temp_min_c: float | None = None,
        temp_max_c: float | None = None,
        *,
        excursion_budget_min: float | None = None,
        mkt_limit_c: float | None = None,
        shelf_life_days: int | None = None,
        stability_budget: Sequence[BudgetStep] | str | None = None,
        before_commit: ProductsWritten | None = None,
    ) -> Product:
        """Add a product; adding the identical product again is a no-op.

        ``stability_budget``: steps, or their text ``above:25:60;below:0:30``
        (``traceability.records.stability``)."""
        product = _valid_product(
            {
                "gtin": _gtin(gtin),
                "name": name,
                "temp_min_c": temp_min_c,
                "temp_max_c": temp_max_c,
                "excursion_budget_min": excursion_budget_min,
                "mkt_limit_c": mkt_limit_c,
                "shelf_life_days": shelf_life_days,
                "stability_budget": stability_budget,
            }
        )
        with self._tx() as conn:
            existing = self._product(conn, product.gtin)
            if existing is None:
                conn.execute(products.insert().values(**_columns(product)))
            elif existing != product:
                raise RecordConflict(
                    f"product {product.gtin} already exists with different details "
                    f"({existing.name!r}); change it with update_product"
                )
            if before_commit is not None:
                before_commit([product])
        return product

    def update_product(
        self, gtin: Gtin | str, before_commit: ProductsWritten | None = None, **changes: Any
    ) -> Product:
        """Change fields of a known product (``name=…``, ``temp_max_c=…``); the product
        as it is now."""
        unknown = set(changes) - _PRODUCT_CHANGES
        if unknown:
            raise RecordConflict(
                f"product fields {', '.join(sorted(unknown))}: not a product field; "
                f"use {', '.join(sorted(_PRODUCT_CHANGES))}"
            )
        with self._tx() as conn:
            existing = self._product(conn, _gtin(gtin))
            if existing is None:
                raise RecordNotFound(f"product {_gtin(gtin)} is unknown; add_product it first")
            product = _valid_product({**existing.model_dump(), **changes})
            if product != existing:
                conn.execute(
                    products.update()
                    .where(products.c.gtin == product.gtin)
                    .values(**_columns(product))
                )
            if before_commit is not None:
                before_commit([product])
        return product

    def get_product(self, gtin: Gtin | str) -> Product | None:
        with self._tx() as conn:
            return self._product(conn, _gtin(gtin))

    @staticmethod
    def _product(conn: Connection, gtin: str) -> Product | None:
        row = conn.execute(sa.select(products).where(products.c.gtin == gtin)).first()
        if row is None:
            return None
        try:
            return Product.model_validate(row._asdict())
        except ValidationError as exc:
            # Only a hand edit of the table gets here (every write path validates).
            raise RecordConflict(
                f"product {gtin} in the records is not readable: {_reason(exc)}; "
                "correct the row (update_product)"
            ) from exc

    def add_lot(
        self,
        gtin: Gtin | str,
        lot: str,
        *,
        expiry: date | None = None,
        origin: str | None = None,
        quantity: int | None = None,
        serials: Iterable[str | int] = (),
        production_date: date | None = None,
        gross_kg: float | None = None,
        before_commit: LotsWritten | None = None,
    ) -> Lot:
        """Add a lot of a known product and register its serialised units.

        ``serials`` may be any iterable, e.g. ``range(1001, 1101)``. A serial already
        registered in another lot is a ``RecordConflict``.
        """
        record = Lot(
            gtin=_gtin(gtin),
            lot=LotNumber.parse(lot).value,
            expiry=expiry,
            origin=origin,
            quantity=quantity,
            production_date=production_date,
            gross_kg=gross_kg,
        )
        serial_values = [SerialNumber.parse(str(s)).value for s in serials]
        with self._tx() as conn:
            if self._product(conn, record.gtin) is None:
                raise RecordNotFound(
                    f"product {record.gtin} is unknown; add_product it before its lots"
                )
            existing = self._lot(conn, record.gtin, record.lot)
            if existing is None:
                conn.execute(lots.insert().values(**record.model_dump()))
            elif existing != record:
                raise RecordConflict(
                    f"lot {record.lot} of {record.gtin} already exists with different details; "
                    "change it with update_lot"
                )
            self._put_units(conn, record.gtin, record.lot, serial_values, "")
            if before_commit is not None:
                before_commit([self._lot_master(conn, record)])
        return record

    def update_lot(
        self,
        gtin: Gtin | str,
        lot: str,
        before_commit: LotsWritten | None = None,
        **changes: Any,
    ) -> Lot:
        """Change fields of a known lot (``expiry=…``, ``origin=…``); units are added
        with ``add_lot`` (a unit never leaves its lot)."""
        unknown = set(changes) - _LOT_CHANGES
        if unknown:
            raise RecordConflict(
                f"lot fields {', '.join(sorted(unknown))}: not a lot field; "
                f"use {', '.join(sorted(_LOT_CHANGES))}"
            )
        with self._tx() as conn:
            existing = self._lot(conn, _gtin(gtin), lot)
            if existing is None:
                raise RecordNotFound(f"lot {lot} of {_gtin(gtin)} is unknown; add_lot it first")
            record = Lot.model_validate({**existing.model_dump(), **changes})
            if record != existing:
                conn.execute(
                    lots.update()
                    .where(lots.c.gtin == record.gtin, lots.c.lot == record.lot)
                    .values(**record.model_dump())
                )
            if before_commit is not None:
                before_commit([self._lot_master(conn, record)])
        return record

    def _put_units(
        self, conn: Connection, gtin: str, lot: str, serials: Sequence[str], where: str
    ) -> None:
        """Register ``serials`` in ``lot``; a serial of another lot is a conflict (never
        silently skipped: the file would claim a unit the records give to another lot)."""
        if not serials:
            return
        taken = {
            str(row.serial): str(row.lot)
            for row in conn.execute(
                sa.select(units.c.serial, units.c.lot).where(
                    units.c.gtin == gtin, units.c.serial.in_(list(dict.fromkeys(serials)))
                )
            )
        }
        clash = sorted(s for s, owner in taken.items() if owner != lot)
        if clash:
            more = f" (and {len(clash) - 1} more)" if len(clash) > 1 else ""
            raise RecordConflict(
                f"{where}serial {clash[0]}{more} of {gtin} already belongs to lot "
                f"{taken[clash[0]]}, not {lot}; a unit can be in one lot only"
            )
        new = [s for s in dict.fromkeys(serials) if s not in taken]
        if new:
            conn.execute(units.insert(), [{"gtin": gtin, "serial": s, "lot": lot} for s in new])

    def _lot_master(self, conn: Connection, lot: Lot) -> LotMaster:
        serials = conn.execute(
            sa.select(units.c.serial)
            .where(units.c.gtin == lot.gtin, units.c.lot == lot.lot)
            .order_by(units.c.serial)
        ).scalars()
        return LotMaster(lot=lot, serials=tuple(str(s) for s in serials))

    def lot_master(self, gtin: Gtin | str, lot: str) -> LotMaster | None:
        """The lot with every serial registered to it, or None for an unknown lot."""
        with self._tx() as conn:
            found = self._lot(conn, _gtin(gtin), lot)
            return None if found is None else self._lot_master(conn, found)

    def import_products(
        self, rows: Sequence[ProductRow], before_commit: ProductsWritten | None = None
    ) -> None:
        """Add products in ONE transaction; the identical product again is skipped, a
        different one is a ``RecordConflict`` naming its row, and nothing is kept."""
        with self._tx() as conn:
            written = []
            for number, row in enumerate(rows, start=1):
                try:
                    written.append(self._put_product(conn, row))
                except RecordError as exc:
                    raise type(exc)(f"row {number}: {exc}") from exc
            if before_commit is not None:
                before_commit(written)

    def _put_product(self, conn: Connection, row: ProductRow) -> Product:
        product = _valid_product(row.model_dump())
        existing = self._product(conn, row.gtin)
        if existing is None:
            conn.execute(products.insert().values(**_columns(product)))
        elif existing != product:
            stored = _columns(existing)
            changed = [
                f"{k} {v!r} (stored {stored[k]!r})"
                for k, v in _columns(product).items()
                if stored[k] != v
            ]
            raise RecordConflict(
                f"product {row.gtin} exists with other details: {', '.join(changed)}; "
                "an import does not edit a product (update_product does)"
            )
        return product

    def import_lots(self, rows: Sequence[LotRow], before_commit: LotsWritten | None = None) -> None:
        """Add lots of known products and their units (``serials``) in ONE transaction."""
        with self._tx() as conn:
            written = [self._put_lot(conn, row, number) for number, row in enumerate(rows, 1)]
            if before_commit is not None:
                # Read after every row: two rows of one lot sign the lot once, whole.
                final = {(m.lot.gtin, m.lot.lot): m.lot for m in written}
                before_commit([self._lot_master(conn, lot) for lot in final.values()])

    def _put_lot(self, conn: Connection, lot_row: LotRow, number: int) -> LotMaster:
        # Numbered here, not by _import_each: an unknown product names its column too
        # ("row N, gtin: …").
        row = lot_row.model_dump()
        if self._product(conn, row["gtin"]) is None:
            raise RecordNotFound(
                f"row {number}, gtin: product {row['gtin']} is unknown; import products first"
            )
        serials = serial_list(row.pop("serials") or "")
        existing_lot = self._lot(conn, row["gtin"], row["lot"])
        if existing_lot is None:
            conn.execute(lots.insert().values(**row))
        elif existing_lot != Lot(**row):
            raise RecordConflict(
                f"row {number}: lot {row['lot']} of {row['gtin']} exists with other details"
            )
        self._put_units(conn, row["gtin"], row["lot"], serials, f"row {number}, serials: ")
        return LotMaster(lot=Lot(**row), serials=())

    def get_lot(self, gtin: Gtin | str, lot: str) -> Lot | None:
        with self._tx() as conn:
            return self._lot(conn, _gtin(gtin), lot)

    @staticmethod
    def _lot(conn: Connection, gtin: str, lot: str) -> Lot | None:
        row = conn.execute(sa.select(lots).where(lots.c.gtin == gtin, lots.c.lot == lot)).first()
        return None if row is None else Lot.model_validate(row._asdict())

    def lot_of_unit(self, gtin: Gtin | str, serial: str) -> str | None:
        """The lot a serialised unit belongs to, or None for an unknown unit."""
        with self._tx() as conn:
            value = conn.execute(
                sa.select(units.c.lot).where(units.c.gtin == _gtin(gtin), units.c.serial == serial)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def lots(self, gtin: Gtin | str | None = None) -> list[Lot]:
        """Lots (of one product), first expiry first (FEFO); lots without expiry last."""
        query = sa.select(lots)
        if gtin is not None:
            query = query.where(lots.c.gtin == _gtin(gtin))
        with self._tx() as conn:
            found = [Lot.model_validate(row._asdict()) for row in conn.execute(query)]
        return sorted(found, key=lambda x: (x.expiry is None, x.expiry or date.max, x.gtin, x.lot))


def _valid_product(data: dict[str, Any]) -> Product:
    """A product from its fields, its band and budget checked; ``RecordConflict`` naming
    the field otherwise."""
    try:
        product = Product.model_validate(data)
    except ValidationError as exc:
        raise RecordConflict(f"product {data.get('gtin')}: {_reason(exc)}") from exc
    low, high = product.temp_min_c, product.temp_max_c
    if low is not None and high is not None and low > high:
        raise RecordConflict(
            f"product {product.gtin}: temp_min_c {low} is above temp_max_c {high}; swap them"
        )
    problem = band_problem(product.stability_budget or (), low, high)
    if problem is not None:
        raise RecordConflict(f"product {product.gtin}: stability_budget: {problem}")
    return product


def _columns(product: Product) -> dict[str, Any]:
    """The product as its ``products`` row (the budget as its text form)."""
    return {**product.model_dump(), "stability_budget": steps_text(product.stability_budget)}


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )
