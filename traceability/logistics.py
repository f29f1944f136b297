"""Locations, shipments, legs and stays: where lots travel and rest (carbon inputs)."""

from __future__ import annotations

from traceability.database import Database


class LogisticsRecords(Database):
    """Locations with their custodian and coordinates, shipments' legs, lots' stays."""
