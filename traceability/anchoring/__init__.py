"""Anchoring a lot's story: events in as ledger leaves, anchors and proofs back out.

The one path: capture signs each event it accepts (``feeder.EventLeaves``) as a
ledger leaf of its lots' streams before storing it; ``ledger.worker.AnchorWorker``
cuts and anchors batches; ``feeder.EventFeeder`` mirrors confirmed batches onto the
records (it signs nothing).

* ``feeder``        ``EventLeaves`` (capture's signing port), ``EventFeeder``, lot
  streams, the lot's own leaves (``submit_lot_record``: carbon reports, exposure
  summaries)
* ``loop``          ``AnchorLoop``: feeder and worker in a thread, by the batch policy
* ``auditfeeder``   the loop's feeder that also signs audit entries left unsigned
* ``bundle``        a lot's evidence bundle (its stream, records, proofs, anchors)
* ``proofs``        what the lot page embeds for the browser to re-check
* ``eventcheck``    events held against their signed bodies (index, capture, journey)
* ``mastercheck``   the records' master data against its signed versions
* ``auditcheck``    the lot's audit entries against the records' audit trail
* ``seals``         the gateway's sealed telemetry windows in a bundle: leaf rule, the
  hours they cover (``window_status``), drift from InfluxDB (``drifted``)
* ``telemetrycheck`` the lot's readings in InfluxDB against the seals, reading by reading
* ``claims``        what the lot page states, computed once (page and bundle)
* ``claimcheck``, ``footprintcheck``  the page's claims recomputed from proven inputs
* ``provenreadings`` the readings they recompute from: anchored seals and sensor events
* ``verification``  verifying a lot from the records and the ledger (``tracehub verify``)
"""
