"""``tracehub retention``: how long InfluxDB keeps readings, against the compliance period."""

from __future__ import annotations

import click


@click.group()
def retention() -> None:
    """Retention of readings in InfluxDB (being built)."""
