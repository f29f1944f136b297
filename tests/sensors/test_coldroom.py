from __future__ import annotations

import pytest
from pydantic import ValidationError

from sensors.coldroom import ColdRoomChange

BASE = {
    "site": "s1",
    "plc": "plc-1",
    "location": "urn:epc:id:sgln:4012345.00001.0",
    "ts": "2026-11-22T10:00:00Z",
}


def test_values_keep_their_type_through_json() -> None:
    door = ColdRoomChange(**BASE, quantity="door_open", value=True)
    temp = ColdRoomChange(**BASE, quantity="temperature_c", value=1.0)
    assert ColdRoomChange.model_validate_json(door.to_json()).value is True
    assert ColdRoomChange.model_validate_json(temp.to_json()).value == 1.0


@pytest.mark.parametrize(
    ("quantity", "value", "message"),
    [
        ("door_open", 1.0, "door_open must be true or false"),
        ("temperature_c", True, "must be a number"),
        ("temperature_c", 400.0, "outside -100.0..150.0"),
        ("compressor_kw", -1.0, "outside 0.0..10000.0"),
    ],
)
def test_bad_values_name_the_quantity(quantity: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ColdRoomChange(**BASE, quantity=quantity, value=value)
