"""Import rows of the master data: serial ranges and lists."""

from __future__ import annotations

import pytest

from traceability.records.rows import serial_list


def test_serial_ranges() -> None:
    assert serial_list("1001-1003; X") == ["1001", "1002", "1003", "X"]
    with pytest.raises(ValueError, match="must go up"):
        serial_list("5-1")
