"""MasterData: each write through tracehub is a signed version; a refused signature
keeps nothing; history stays readable. Real SQLite and PostgreSQL, real py-evm."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.signing import Signer
from tests.support.masterdata import Site
from traceability.errors import RecordConflict
from traceability.imports import ImportRejected, import_records
from traceability.masterdata.history import history_from_ledger
from traceability.masterdata.service import MasterData
from traceability.masterdata.versions import lot_master_stream, product_stream
from traceability.records.locations import Location

GTIN = "04012345111118"
ROOM = "urn:epc:id:sgln:4012345.00001.cold1"


def _seed(site: Site) -> None:
    site.master.add_product(GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0)
    site.master.add_lot(GTIN, "L1", expiry=date(2027, 1, 31), serials=range(1001, 1004))
    site.master.add_location(Location(urn=ROOM, name="Cold room 1", kind="cold_room"))


def test_a_change_is_a_new_version_pending_then_anchored_and_the_old_stays(site: Site) -> None:
    _seed(site)
    history = history_from_ledger(site.ledger, product_stream(GTIN))
    assert [v.version.version for v in history.versions] == [1]
    assert history.latest is not None
    assert not history.latest.anchored
    site.anchor()
    assert history_from_ledger(site.ledger, product_stream(GTIN)).versions[0].anchored
    # The identical write again signs nothing.
    site.master.add_product(GTIN, "Vaccine", temp_min_c=2.0, temp_max_c=8.0)
    assert len(site.ledger.stream(product_stream(GTIN))) == 1
    site.master.update_product(GTIN, temp_max_c=6.0)
    history = history_from_ledger(site.ledger, product_stream(GTIN))
    first, second = history.versions
    assert (first.version.facts.fields["temp_max_c"], first.anchored) == (8, True)
    assert (second.version.facts.fields["temp_max_c"], second.anchored) == (6, False)
    assert second.version.valid_from >= first.version.valid_from
    site.anchor()
    assert history_from_ledger(site.ledger, product_stream(GTIN)).versions[1].anchored
    product = site.store.get_product(GTIN)
    assert product is not None
    assert product.temp_max_c == 6.0


def test_a_lot_version_holds_all_its_serials(site: Site) -> None:
    _seed(site)
    site.master.add_lot(GTIN, "L1", expiry=date(2027, 1, 31), serials=["1004"])
    site.master.update_lot(GTIN, "L1", origin="Marburg, DE")
    versions = history_from_ledger(site.ledger, lot_master_stream(GTIN, "L1")).versions
    assert [v.version.facts.fields["serials"] for v in versions] == [
        "1001-1003",
        "1001-1004",
        "1001-1004",
    ]
    assert versions[-1].version.facts.fields["origin"] == "Marburg, DE"


def test_a_refused_signature_is_raised_and_the_same_write_repairs_it(site: Site) -> None:
    _seed(site)
    not_yet = Signer.generate("site:test", datetime(2099, 1, 1, tzinfo=UTC))  # not valid now
    late = MasterData(site.store, site.ledger, not_yet)
    with pytest.raises(RecordConflict, match="signing product:04012345111118#v2"):
        late.update_product(GTIN, temp_max_c=6.0)
    product = site.store.get_product(GTIN)
    assert product is not None
    assert product.temp_max_c == 6.0
    latest = site.master.latest(product)
    assert latest is not None
    assert latest.version.facts.fields["temp_max_c"] == 8
    with pytest.raises(ImportRejected, match="signing"):
        import_records(
            site.store, "locations", f"urn,name,kind\n{ROOM}x,Dock,dock_door\n",
            master=late,
        )  # fmt: skip
    site.master.update_product(GTIN, temp_max_c=6.0)  # the same write, with the site's key
    repaired = site.master.latest(product)
    assert repaired is not None
    assert repaired.version.version == 2


def test_import_signs_products_lots_and_locations(site: Site) -> None:
    import_records(
        site.store, "products", f"gtin,name,temp_min_c,temp_max_c\n{GTIN},Vaccine,2,8\n",
        master=site.master,
    )  # fmt: skip
    import_records(
        site.store, "lots", f"gtin,lot,expiry,serials\n{GTIN},L1,2027-01-31,1-3\n",
        master=site.master,
    )  # fmt: skip
    import_records(
        site.store, "locations", f"urn,name,kind,country\n{ROOM},Cold room,cold_room,DE\n",
        master=site.master,
    )  # fmt: skip
    for stream in (product_stream(GTIN), lot_master_stream(GTIN, "L1")):
        assert len(site.ledger.stream(stream)) == 1


def test_a_crash_between_ledger_and_records_is_loud_and_the_same_write_repairs_it(
    site: Site,
) -> None:
    _seed(site)
    # The ledger committed version 2, the records did not (crash before the SQL commit).
    product = site.store.get_product(GTIN)
    assert product is not None
    site.master.sign([product.model_copy(update={"temp_max_c": 6.0})])
    assert site.master.latest(product) is not None
    site.master.update_product(GTIN, temp_max_c=6.0)  # the write, retried
    assert len(site.ledger.stream(product_stream(GTIN))) == 2  # nothing new signed


def test_a_stability_budget_is_part_of_the_signed_version(site: Site) -> None:
    import_records(
        site.store, "products",
        f"gtin,name,temp_min_c,temp_max_c,stability_budget\n{GTIN},Vaccine,2,8,above:25:60\n",
        master=site.master,
    )  # fmt: skip
    steps = [{"side": "above", "limit_c": 25.0, "minutes": 60.0}]
    first = history_from_ledger(site.ledger, product_stream(GTIN)).versions
    assert [v.version.facts.fields["stability_budget"] for v in first] == [steps]
    # A change of the steps alone is a new version; the same steps again sign nothing.
    site.master.update_product(GTIN, stability_budget="above:25:60;below:0:30")
    site.master.update_product(GTIN, stability_budget="below:0:30;above:25:60")
    versions = history_from_ledger(site.ledger, product_stream(GTIN)).versions
    assert [len(v.version.facts.fields["stability_budget"]) for v in versions] == [1, 2]
    site.master.update_product(GTIN, stability_budget=None)
    latest = history_from_ledger(site.ledger, product_stream(GTIN)).latest
    assert latest is not None
    assert (latest.version.version, latest.version.facts.fields["stability_budget"]) == (3, None)
    with pytest.raises(RecordConflict, match="stability_budget: above step 6 °C is not above"):
        site.master.update_product(GTIN, stability_budget="above:6:10")
