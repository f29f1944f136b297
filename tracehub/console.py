"""The consoles every command prints to, and the signal handling they share."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from rich.console import Console

# emoji=False: rich would turn the ":id:" of every EPC URN ("urn:epc:id:sgln:…") into 🆔
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


class Problem(click.ClickException):
    """A usage or connection problem (exit code 2), as opposed to a failed check (1)."""

    exit_code = 2


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so long-running commands stop in order."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
