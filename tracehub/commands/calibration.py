"""``tracehub calibration``: probe calibration records."""

from __future__ import annotations

import click


@click.group()
def calibration() -> None:
    """Probe calibration records (being built)."""
