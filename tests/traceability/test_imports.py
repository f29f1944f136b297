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


def test_a_stability_budget_in_csv_and_in_json(store: RecordStore) -> None:
    csv_text = (
        "gtin,name,temp_min_c,temp_max_c,stability_budget\n"
        "4012345111118,Insulin,2,8,above:30:10;above:25:60;below:0:30\n"
        "09520123456788,Salmon,0,4,\n"
    )
    assert import_records(store, "products", csv_text) == 2
    product = store.get_product("04012345111118")
    assert product is not None
    assert product.stability_budget is not None
    assert [(s.side, s.limit_c, s.minutes) for s in product.stability_budget] == [
        ("above", 25.0, 60.0), ("above", 30.0, 10.0), ("below", 0.0, 30.0),
    ]  # fmt: skip
    salmon = store.get_product("09520123456788")
    assert salmon is not None
    assert salmon.stability_budget is None
    # The same steps as JSON objects, in another order: the identical product.
    steps = [
        {"side": "below", "limit_c": 0, "minutes": 30},
        {"side": "above", "limit_c": 25, "minutes": 60},
        {"side": "above", "limit_c": 30, "minutes": 10},
    ]
    row = {"gtin": "4012345111118", "name": "Insulin", "temp_min_c": 2, "temp_max_c": 8,
           "stability_budget": steps}  # fmt: skip
    assert import_records(store, "products", json.dumps([row]), "json") == 1
    changed = {**row, "stability_budget": steps[:2]}
    with pytest.raises(ImportRejected, match="stability_budget 'above:25:60;below:0:30'"):
        import_records(store, "products", json.dumps([changed]), "json")


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("above:5:60", "above step 5 °C is not above temp_max_c 8"),
        ("below:3:60", "below step 3 °C is not below temp_min_c 2"),
        ("above:25", "step 1 'above:25': write side:limit_c:minutes"),
        ("above:25:-1", "step 1 'above:25:-1': minutes: Input should be greater than or equal"),
        ("sideways:25:1", "step 1 'sideways:25:1': side: Input should be 'above', 'below'"),
        ("above:25:1;above:25:2", "two 'above' steps have the same limit_c"),
    ],
)
def test_a_bad_stability_budget_names_its_column(
    store: RecordStore, cell: str, reason: str
) -> None:
    text = f"gtin,name,temp_min_c,temp_max_c,stability_budget\n4012345111118,X,2,8,{cell}\n"
    with pytest.raises(ImportRejected) as info:
        import_records(store, "products", text)
    (error,) = info.value.errors
    assert (error.row, error.field) == (1, "stability_budget")
    assert reason in error.reason
    assert store.get_product("04012345111118") is None


def test_a_lot_whose_expiry_outlasts_its_shelf_life_is_a_warning(store: RecordStore) -> None:
    import_records(store, "products", PRODUCTS)  # salmon: 12 days of shelf life
    warned: list[str] = []
    lots = (
        "gtin,lot,production_date,expiry\n"
        "4012345111118,FRESH,2026-11-01,2026-11-13\n"
        "4012345111118,LONG,2026-11-01,2026-12-01\n"
    )
    assert import_records(store, "lots", lots, warn=warned.append) == 2
    assert warned == [
        "lot LONG of 04012345111118: expiry 2026-12-01 is later than production date "
        "2026-11-01 + shelf life 12 day(s) (2026-11-13); check the expiry"
    ]
    assert store.get_lot("04012345111118", "LONG") is not None  # kept: a warning only
