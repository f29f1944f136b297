"""Readers of the console's pages for the page tests: text, table rows and sections."""

from __future__ import annotations

import re
from html import unescape


def strip(html: str) -> str:
    """The text of ``html``, its white space collapsed and its entities read."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def rows(table: str, marker: str = "data-lot") -> list[list[str]]:
    """The cells' text of each ``<tr {marker}=…>`` row of ``table``."""
    return [
        [strip(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(rf"<tr {marker}[^>]*>(.*?)</tr>", table, re.S)
    ]


def section(html: str, name: str) -> str:
    """The inside of ``<section id="{name}">``."""
    match = re.search(rf'<section id="{name}"[^>]*>(.*?)</section>', html, re.S)
    assert match, f"no section #{name}"
    return match.group(1)
