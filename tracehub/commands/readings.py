"""``tracehub readings``: temperature readings from outside MQTT (USB data-logger files)."""

from __future__ import annotations

import click


@click.group()
def readings() -> None:
    """Temperature readings from data-logger files (being built)."""
