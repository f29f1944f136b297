"""ERP/WMS import: CSV and JSON, per-row errors naming row and field, all or nothing."""

from __future__ import annotations

import json

import pytest

from traceability.imports import ImportRejected, import_records
from traceability.records.store import RecordStore

PRODUCTS = """gtin,name,temp_min_c,temp_max_c,excursion_budget_min,mkt_limit_c,shelf_life_days
4012345111118,Chilled salmon,0,4,30,4,12
09520123456788,Insulin pens,2,8,60,8,365
"""


def test_csv_products_then_json_lots(store: RecordStore) -> None:
    assert import_records(store, "products", PRODUCTS) == 2
    lots = [{"gtin": "09520123456788", "lot": "INS-7", "expiry": "2027-01-31", "serials": "1-3;A9"}]
    assert import_records(store, "lots", json.dumps(lots), "json") == 1
    assert store.lot_of_unit("09520123456788", "A9") == "INS-7"
    assert store.lot_of_unit("09520123456788", "2") == "INS-7"
    product = store.get_product("04012345111118")
    assert product is not None
    assert product.excursion_budget_min == 30
    # Importing the same file again changes nothing.
    assert import_records(store, "products", PRODUCTS) == 2


def test_bad_rows_are_named_and_nothing_is_imported(store: RecordStore) -> None:
    bad = PRODUCTS + "4012345111119,Bad check digit,,,,,\n,No gtin,,,,,\n"
    with pytest.raises(ImportRejected) as info:
        import_records(store, "products", bad)
    errors = [(e.row, e.field) for e in info.value.errors]
    assert errors == [(3, "gtin"), (4, "gtin")]
    assert "check digit should be 8" in info.value.errors[0].reason
    assert store.get_product("04012345111118") is None


def test_unknown_column_and_unknown_product(store: RecordStore) -> None:
    with pytest.raises(ImportRejected, match="unknown column"):
        import_records(store, "lots", "gtin,lot,colour\n4012345111118,L1,red\n")
    with pytest.raises(ImportRejected, match="import products first"):
        import_records(store, "lots", "gtin,lot\n4012345111118,L1\n")


def test_an_unknown_kind_names_the_kinds(store: RecordStore) -> None:
    with pytest.raises(ValueError, match="use one of products, lots, shipments"):
        import_records(store, "pallets", "id\n1\n")


def test_a_serial_of_another_lot_rejects_the_row_naming_it(store: RecordStore) -> None:
    import_records(store, "products", PRODUCTS)
    import_records(store, "lots", "gtin,lot,serials\n09520123456788,INS-7,1-3\n")
    clash = "gtin,lot,serials\n09520123456788,INS-8,10-12\n09520123456788,INS-9,3-4\n"
    with pytest.raises(ImportRejected) as info:
        import_records(store, "lots", clash)
    (error,) = info.value.errors
    assert (error.row, error.field) == (2, "serials")
    assert "serial 3 of 09520123456788 already belongs to lot INS-7, not INS-9" in error.reason
    # All or nothing: row 1 is not kept either, and serial 3 stays in its lot.
    assert store.get_lot("09520123456788", "INS-8") is None
    assert store.lot_of_unit("09520123456788", "3") == "INS-7"
    # Two rows of one file claiming one serial for two lots: refused the same way.
    both = "gtin,lot,serials\n09520123456788,INS-8,20\n09520123456788,INS-9,20\n"
    with pytest.raises(ImportRejected, match="serial 20 of 09520123456788 already belongs"):
        import_records(store, "lots", both)


def test_a_known_product_or_shipment_with_other_details_is_refused(store: RecordStore) -> None:
    import_records(store, "products", PRODUCTS)
    changed = PRODUCTS.replace("Chilled salmon,0,4", "Chilled salmon,0,25")
    with pytest.raises(ImportRejected) as info:
        import_records(store, "products", changed)
    assert info.value.errors[0].row == 1
    assert "temp_max_c 25.0 (stored 4.0)" in info.value.errors[0].reason
    import_records(store, "shipments", "id,origin,destination\nS1,Plant,Store\n")
    with pytest.raises(ImportRejected, match="shipment id=S1 exists with other details"):
        import_records(store, "shipments", "id,origin,destination\nS1,Plant,Elsewhere\n")
