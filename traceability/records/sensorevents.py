"""The events that may carry a place's sensor readings, by place and event time.

SQL narrows, the body decides (as ``eventquery``): the candidates are the events whose
``biz_location`` or ``read_point`` column is the place, whose ``event_time`` is in the
window, and whose body holds a ``sensorElementList`` at all; which of their reports are
the room's temperature readings is read from the bodies (``coldchain.sensorreadings``).
One query per location column, each on its (column, event_time) index, so a place's
custody events outside the window are never read.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from traceability.records.database import Database, to_db
from traceability.records.entities import StoredEvent
from traceability.records.eventlog import stored_event
from traceability.records.schema import events

# Stored bodies are canonical JSON (RFC 8785): the key is written as it is.
_SENSORS = '%"sensorElementList"%'


class SensorEventRecords(Database):
    """Events with sensor elements at a place (``RecordStore`` mixin)."""

    def sensor_events_at(self, location: str, start: datetime, end: datetime) -> list[StoredEvent]:
        """Events at ``location`` (bizLocation or readPoint) with sensor elements whose
        event time is in ``[start, end]``, by event time (ties by id)."""
        found: dict[str, StoredEvent] = {}
        with self._tx() as conn:
            for column in (events.c.biz_location, events.c.read_point):
                query = sa.select(events).where(
                    column == location,
                    events.c.event_time >= to_db(start),
                    events.c.event_time <= to_db(end),
                    events.c.body.like(_SENSORS),
                )
                for row in conn.execute(query):
                    event = stored_event(row)
                    found.setdefault(event.id, event)
        return sorted(found.values(), key=lambda e: (e.event_time, e.id))
