"""Products, lots, serialised units and logistic units (the master data of the records).

Added one by one (``add_product``, ``add_lot`` …) or a whole import file of products
or lots in one transaction (``import_products``, ``import_lots``, rows from ``rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gs1.identifiers import Gtin, LotNumber, SerialNumber, check_digit, key_of
from traceability.errors import RecordConflict, RecordNotFound
from traceability.records.database import Database
from traceability.records.database import gtin_digits as _gtin
from traceability.records.entities import Lot, Product
from traceability.records.rows import LotRow, ProductRow, serial_list
from traceability.records.schema import logistic_units, lots, products, units


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
    ) -> Product:
        """Add a product; adding the identical product again is a no-op."""
        product = Product(
            gtin=_gtin(gtin),
            name=name,
            temp_min_c=temp_min_c,
            temp_max_c=temp_max_c,
            excursion_budget_min=excursion_budget_min,
            mkt_limit_c=mkt_limit_c,
            shelf_life_days=shelf_life_days,
        )
        if temp_min_c is not None and temp_max_c is not None and temp_min_c > temp_max_c:
            raise RecordConflict(
                f"product {product.gtin}: temp_min_c {temp_min_c} is above temp_max_c "
                f"{temp_max_c}; swap them"
            )
        with self._tx() as conn:
            existing = self._product(conn, product.gtin)
            if existing is None:
                conn.execute(products.insert().values(**product.model_dump()))
            elif existing != product:
                raise RecordConflict(
                    f"product {product.gtin} already exists with different details "
                    f"({existing.name!r}); products are not edited through add_product"
                )
        return product

    def get_product(self, gtin: Gtin | str) -> Product | None:
        with self._tx() as conn:
            return self._product(conn, _gtin(gtin))

    @staticmethod
    def _product(conn: Connection, gtin: str) -> Product | None:
        row = conn.execute(sa.select(products).where(products.c.gtin == gtin)).first()
        return None if row is None else Product.model_validate(row._asdict())

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
                    f"lot {record.lot} of {record.gtin} already exists with different details"
                )
            if serial_values:
                taken = {
                    row.serial: row.lot
                    for row in conn.execute(
                        sa.select(units.c.serial, units.c.lot).where(
                            units.c.gtin == record.gtin, units.c.serial.in_(serial_values)
                        )
                    )
                }
                clash = sorted(s for s, owner in taken.items() if owner != record.lot)
                if clash:
                    raise RecordConflict(
                        f"serial {clash[0]} of {record.gtin} already belongs to lot "
                        f"{taken[clash[0]]}; a unit can be in one lot only"
                    )
                new = [s for s in dict.fromkeys(serial_values) if s not in taken]
                if new:
                    conn.execute(
                        units.insert(),
                        [{"gtin": record.gtin, "serial": s, "lot": record.lot} for s in new],
                    )
        return record

    def import_products(self, rows: Sequence[ProductRow]) -> None:
        """Add products in ONE transaction; the identical product again is skipped, a
        different one is a ``RecordConflict`` naming its row, and nothing is kept."""
        self._import_each(rows, self._put_product)

    def _put_product(self, conn: Connection, row: ProductRow) -> None:
        values = row.model_dump()
        existing = self._product(conn, row.gtin)
        if existing is None:
            conn.execute(products.insert().values(**values))
        elif existing.model_dump() != Product(**values).model_dump():
            raise RecordConflict(f"product {row.gtin} exists with other details")

    def import_lots(self, rows: Sequence[LotRow]) -> None:
        """Add lots of known products and their units (``serials``) in ONE transaction."""
        with self._tx() as conn:
            for number, row in enumerate(rows, start=1):
                self._put_lot(conn, row, number)

    def _put_lot(self, conn: Connection, lot_row: LotRow, number: int) -> None:
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
        if serials:
            taken = set(
                conn.execute(
                    sa.select(units.c.serial).where(
                        units.c.gtin == row["gtin"], units.c.serial.in_(serials)
                    )
                ).scalars()
            )
            new = [s for s in dict.fromkeys(serials) if s not in taken]
            if new:
                conn.execute(
                    units.insert(),
                    [{"gtin": row["gtin"], "serial": s, "lot": row["lot"]} for s in new],
                )

    def get_lot(self, gtin: Gtin | str, lot: str) -> Lot | None:
        with self._tx() as conn:
            return self._lot(conn, _gtin(gtin), lot)

    @staticmethod
    def _lot(conn: Connection, gtin: str, lot: str) -> Lot | None:
        row = conn.execute(sa.select(lots).where(lots.c.gtin == gtin, lots.c.lot == lot)).first()
        return None if row is None else Lot.model_validate(row._asdict())

    def add_logistic_unit(self, sscc: str, kind: str, description: str | None = None) -> str:
        """Register a logistic unit (pallet, container) by SSCC digits or EPC URN."""
        digits = sscc_digits(sscc) if not sscc.isdigit() else sscc
        if digits is None or len(digits) != 18 or int(digits[-1]) != check_digit(digits[:17]):
            raise RecordConflict(
                f"sscc {sscc!r}: give 18 digits with a valid check digit or an SSCC EPC URN"
            )
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(logistic_units.c.sscc).where(logistic_units.c.sscc == digits)
            ).first()
            if exists is None:
                conn.execute(
                    logistic_units.insert().values(sscc=digits, kind=kind, description=description)
                )
        return digits

    def lot_of_unit(self, gtin: Gtin | str, serial: str) -> str | None:
        """The lot a serialised unit belongs to, or None for an unknown unit."""
        with self._tx() as conn:
            value = conn.execute(
                sa.select(units.c.lot).where(units.c.gtin == _gtin(gtin), units.c.serial == serial)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def lots_of_units(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``{(gtin14, serial): lot}`` for the known units among ``keys``, in one transaction.

        One query per GTIN and 500 serials: a document of 100 events costs one round
        trip instead of 100.
        """
        by_gtin: dict[str, list[str]] = {}
        for gtin, serial in dict.fromkeys(keys):
            by_gtin.setdefault(gtin, []).append(serial)
        found: dict[tuple[str, str], str] = {}
        if not by_gtin:
            return found
        with self._tx() as conn:
            for gtin, serials in by_gtin.items():
                for start in range(0, len(serials), 500):
                    query = sa.select(units.c.serial, units.c.lot).where(
                        units.c.gtin == gtin, units.c.serial.in_(serials[start : start + 500])
                    )
                    for row in conn.execute(query):
                        found[(gtin, str(row.serial))] = str(row.lot)
        return found

    def lots(self, gtin: Gtin | str | None = None) -> list[Lot]:
        """Lots (of one product), first expiry first (FEFO); lots without expiry last."""
        query = sa.select(lots)
        if gtin is not None:
            query = query.where(lots.c.gtin == _gtin(gtin))
        with self._tx() as conn:
            found = [Lot.model_validate(row._asdict()) for row in conn.execute(query)]
        return sorted(found, key=lambda x: (x.expiry is None, x.expiry or date.max, x.gtin, x.lot))


def sscc_digits(epc: str) -> str | None:
    """The 18-digit SSCC of an SSCC EPC URN or Digital Link, else None."""
    if epc.startswith("urn:epc:id:sscc:"):
        parts = epc[len("urn:epc:id:sscc:") :].split(".")
        if len(parts) == 2 and len(parts[0]) + len(parts[1]) == 17:
            return key_of(parts[0], parts[1])
        return None
    marker = "/00/"
    if epc.startswith(("http://", "https://")) and marker in epc:
        digits = epc.rsplit(marker, 1)[1][:18]
        return digits if len(digits) == 18 and digits.isdigit() else None
    return None
