"""The hub's capture jobs (``POST /capture``): the worker that captures what the web site
accepted, wired over the hub's capture service, page cache and supervisor.

Built without I/O; ``Hub.start()`` starts the worker (a supervised thread, shown by
``/readyz``), ``stop()`` stops it. Replicas on one records database each run one: the
job's lease decides who captures which document.
"""

from __future__ import annotations

from datetime import timedelta

from supervision.supervisor import Supervisor
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.records.store import RecordStore
from web.pagecache import PageCache

# Longer than the capture of the largest document (1,000 events take well under 10 s):
# a job is taken over by another worker only when its own has died.
LEASE = timedelta(seconds=60)


def capture_jobs(
    store: RecordStore, capture: CaptureService, pages: PageCache, supervisor: Supervisor
) -> CaptureJobs:
    """The hub's capture jobs: a finished job's lots drop their cached pages."""
    return CaptureJobs(
        store, capture, on_captured=pages.invalidate, lease=LEASE, supervisor=supervisor
    )
