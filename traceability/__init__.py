"""Traceability: GS1 identifiers, EPCIS capture, the records store, anchoring of event
batches, lot verification and the consumer web page (GS1 Digital Link)."""
