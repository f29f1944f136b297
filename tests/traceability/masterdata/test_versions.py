"""The version record: fields per kind, serial ranges, stream names (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from traceability.masterdata.versions import (
    MasterVersion,
    changed_fields,
    facts_of,
    location_stream,
    serial_ranges,
)
from traceability.records.catalog import LotMaster
from traceability.records.entities import Lot, Product
from traceability.records.locations import Location

GTIN = "04012345111118"


def test_serials_are_kept_as_ranges() -> None:
    assert serial_ranges(["1003", "1001", "1002", "1005", "A7", "007"]) == "1001-1003;1005;007;A7"
    assert serial_ranges([]) is None


def test_a_record_round_trips_and_its_fields_are_exactly_the_kinds() -> None:
    lot = LotMaster(
        lot=Lot(gtin=GTIN, lot="L1", expiry=date(2027, 1, 31), origin="NO", quantity=2),
        serials=("1001", "1002"),
    )
    version = MasterVersion(
        facts=facts_of(lot), version=1, valid_from=datetime(2026, 11, 1, tzinfo=UTC)
    )
    record = version.record()
    assert record["fields"]["expiry"] == "2027-01-31"
    assert record["fields"]["serials"] == "1001-1002"
    assert MasterVersion.from_record(record) == version
    broken = {**record, "fields": {**record["fields"], "colour": "red"}}
    with pytest.raises(ValueError, match="fields must be exactly"):
        MasterVersion.from_record(broken)


def test_changed_fields_name_both_values_and_ignore_int_float() -> None:
    signed = facts_of(Product(gtin=GTIN, name="Vaccine", temp_min_c=2.0, temp_max_c=8.0))
    same = signed.model_copy(update={"fields": {**signed.fields, "temp_max_c": 8}})
    assert changed_fields(same, signed) == []
    now = facts_of(Product(gtin=GTIN, name="Vaccine", temp_min_c=0.0, temp_max_c=25.0))
    assert changed_fields(now, signed) == [("temp_min_c", 0.0, 2.0), ("temp_max_c", 25.0, 8.0)]


def test_a_long_location_urn_gets_a_digest_stream() -> None:
    assert location_stream("urn:epc:id:sgln:4012345.00001.0") == (
        "location-master:urn:epc:id:sgln:4012345.00001.0"
    )
    long = "urn:x:" + "a" * 194
    Location(urn=long, name="x", kind="site")
    assert len(location_stream(long)) <= 200


def test_a_stability_budget_is_signed_as_its_steps_and_an_older_record_lacks_none() -> None:
    stepped = Product(
        gtin=GTIN, name="Vaccine", temp_min_c=2.0, temp_max_c=8.0,
        stability_budget="above:30:10;above:25:60;below:0:30",
    )  # fmt: skip
    version = MasterVersion(
        facts=facts_of(stepped), version=1, valid_from=datetime(2026, 11, 1, tzinfo=UTC)
    )
    record = version.record()
    assert record["fields"]["stability_budget"] == [
        {"side": "above", "limit_c": 25.0, "minutes": 60.0},
        {"side": "above", "limit_c": 30.0, "minutes": 10.0},
        {"side": "below", "limit_c": 0.0, "minutes": 30.0},
    ]
    assert MasterVersion.from_record(record) == version
    # A version signed before the field existed has no such key: it still reads, and a
    # product without steps compares equal to it; one with steps differs, naming both.
    plain = Product(gtin=GTIN, name="Vaccine", temp_min_c=2.0, temp_max_c=8.0)
    old = MasterVersion(facts=facts_of(plain), version=1, valid_from=version.valid_from).record()
    del old["fields"]["stability_budget"]
    signed = MasterVersion.from_record(old).facts
    assert "stability_budget" not in signed.fields
    assert changed_fields(facts_of(plain), signed) == []
    assert changed_fields(facts_of(stepped), signed) == [
        ("stability_budget", record["fields"]["stability_budget"], None)
    ]
    # Ints where the canonical JSON dropped ".0" are the same steps.
    as_ints = [{"side": "above", "limit_c": 25, "minutes": 60}]
    one = facts_of(Product(gtin=GTIN, name="V", temp_max_c=8.0, stability_budget="above:25:60"))
    signed_ints = one.model_copy(update={"fields": {**one.fields, "stability_budget": as_ints}})
    assert changed_fields(one, signed_ints) == []
