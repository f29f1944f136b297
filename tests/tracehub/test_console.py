"""The consoles print EPC URNs as they are (rich's emoji codes would eat ``:id:``)."""

from __future__ import annotations

from tracehub.console import console, err_console


def test_an_epc_urn_is_printed_as_written() -> None:
    urn = "urn:epc:id:sgln:4012345.00001.dock1"
    for out in (console, err_console):
        with out.capture() as captured:
            out.print(f"stream location-master:{urn}")
        assert urn in captured.get()
