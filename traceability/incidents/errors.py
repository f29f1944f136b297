"""Errors raised by the incidents package.

::

    IncidentError (a traceability.errors.TraceabilityError)
    ├── IncidentNotFound    no incident has the id the caller named
    ├── StepRefused         the step is not allowed now (state, lot) or for this actor
    │   └── RoleRefused     the actor's role may not take this step (names the role needed)
    └── (records and ledger failures pass as traceability.errors StoreUnavailable /
        RecordConflict: retry repairs, see traceability.incidents.service)
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class IncidentError(TraceabilityError):
    """Root of the incidents package's errors."""


class IncidentNotFound(IncidentError):  # noqa: N818 - outcome names, as the records'
    """No incident has this id."""


class StepRefused(IncidentError):  # noqa: N818
    """The lifecycle does not allow this step now (its state, its lots)."""


class RoleRefused(StepRefused):
    """The actor's role may not take this step; the message names the role needed."""
