"""The EPCIS query over the event log: SQL narrows the candidates, the body decides.

(Scaffold of issue #15's query slice: the signatures are the contract.)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gs1.epcis.query import EventQuery
from traceability.records.database import Database
from traceability.records.entities import StoredEvent


class QueryPage(BaseModel):
    """One page of results; ``next_token`` continues it (None: the last page)."""

    model_config = ConfigDict(frozen=True)

    events: tuple[StoredEvent, ...]
    next_token: str | None


class EventQueryRecords(Database):
    """``RecordStore.run_query``: the EPCIS SimpleEventQuery with keyset paging."""

    def run_query(self, query: EventQuery, *, per_page: int, token: str | None = None) -> QueryPage:
        """A page of at most ``per_page`` events matching ``query`` in its order,
        continuing after ``token`` (from the previous page of the same query; a token of
        another query or a forged one raises ``QueryParameterInvalid("nextPageToken")``)."""
        raise NotImplementedError
