"""Anchoring a lot's story: events in as ledger leaves, anchors and proofs back out.

The one path: ``feeder.EventFeeder`` submits each captured event as a signed
ledger leaf of its lots' streams; ``ledger.worker.AnchorWorker`` cuts and anchors
batches; the feeder mirrors confirmed batches onto the records.

* ``feeder``        ``EventFeeder``, lot streams, the lot's own leaves
  (``submit_lot_record``: carbon reports, exposure summaries)
* ``loop``          ``AnchorLoop``: feeder and worker in a thread, by the batch policy
* ``bundle``        a lot's evidence bundle (its stream, records, proofs, anchors)
* ``proofs``        what the lot page embeds for the browser to re-check
* ``verification``  verifying a lot from the records and the ledger (``tracehub verify``)
"""
