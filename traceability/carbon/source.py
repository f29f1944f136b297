"""Where a lot's carbon input comes from.

Two sources implement :class:`CarbonInputSource`: ``JsonFileSource`` reads a JSON
document per lot (shape in docs/carbon.md) and ``carbon.records.RecordsCarbonSource``
maps the records database's locations, shipment lots, legs, stays and packaging.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from traceability.carbon.chain import LotCarbonInput, parse_lot_input
from traceability.carbon.errors import CarbonInputError


class CarbonInputSource(Protocol):
    def lot_input(self, gtin: str, lot: str) -> LotCarbonInput:
        """The lot's footprint input; ``CarbonInputError`` if it has none or it is invalid."""
        ...


class JsonFileSource:
    """One JSON document (a ``LotCarbonInput``) read from a file."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def lot_input(self, gtin: str, lot: str) -> LotCarbonInput:
        data = self.read()
        if (data.gtin, data.lot) != (gtin, lot):
            raise CarbonInputError(
                "gtin",
                f"{self._path} is for {data.gtin}/{data.lot}, not {gtin}/{lot}",
            )
        return data

    def read(self) -> LotCarbonInput:
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CarbonInputError("input", f"cannot read {self._path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise CarbonInputError("input", f"{self._path} is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise CarbonInputError("input", f"{self._path} must hold a JSON object")
        return parse_lot_input(document)
