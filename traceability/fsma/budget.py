"""The bound on one FSMA 204 export's work: CTE events, rows, lots and wall time.

An export is answered whole or refused: past any bound ``Tally`` raises
``ExportRefused`` naming ``to`` (a shorter window is what always helps), so no caller
ever writes half a sheet. The deadline is checked inside every loop whose length the
records decide (pages read, events mapped, lots looked up), so a request that cannot
finish in time stops soon after its budget, even if its client has gone away.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from traceability.fsma.errors import ExportRefused

Clock = Callable[[], float]  # seconds, monotonic


class Budget(BaseModel):
    """The most one export may read and write (``seconds`` None: no deadline)."""

    model_config = ConfigDict(frozen=True)

    max_events: int = Field(default=20_000, ge=1)
    max_rows: int = Field(default=50_000, ge=1)
    max_lots: int = Field(default=20_000, ge=1)
    seconds: float | None = Field(default=None, gt=0)


class Tally:
    """One export's use of its ``Budget`` (see the module docstring)."""

    def __init__(self, budget: Budget, start: date, end: date, clock: Clock = time.monotonic):
        self._budget = budget
        self._window = f"from {start} to {end}"
        self._clock = clock
        self._deadline = None if budget.seconds is None else clock() + budget.seconds
        self._rows = 0
        self._lots: set[tuple[str, str]] = set()

    def check_time(self) -> None:
        if self._deadline is not None and self._clock() > self._deadline:
            raise ExportRefused(
                "to",
                f"{self._window} could not be exported within {self._budget.seconds:g} s; "
                "ask for a shorter window",
            )

    def events(self, count: int) -> None:
        if count > self._budget.max_events:
            self._refuse(f"more than {self._budget.max_events} CTE events")
        self.check_time()

    def rows(self, count: int, lots: Iterable[tuple[str, str]]) -> None:
        """Count an event's rows and the lots they name."""
        self._rows += count
        if self._rows > self._budget.max_rows:
            self._refuse(f"more than {self._budget.max_rows} rows (one per CTE and lot)")
        self._lots.update(lots)
        if len(self._lots) > self._budget.max_lots:
            self._refuse(f"more than {self._budget.max_lots} lots")
        self.check_time()

    def _refuse(self, what: str) -> None:
        raise ExportRefused("to", f"{self._window} holds {what}; ask for a shorter window")
