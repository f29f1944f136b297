"""``tracehub compose``: the docker-compose deployment's secrets and settings."""

from __future__ import annotations

import click


@click.group()
def compose() -> None:
    """The docker-compose deployment (being built)."""
