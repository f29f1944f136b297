"""``tracehub records fsma204``: the FDA FSMA 204 electronic sortable spreadsheet."""

from __future__ import annotations

import click


@click.command("fsma204")
def fsma204() -> None:
    """The FSMA 204 sortable spreadsheet (being built)."""
