"""EPCIS 2.0: the event model and what reads, checks and hashes it, pure.

``event`` validates an event dict into the frozen model (``parse_event`` raises
``gs1.errors.EventRejected`` naming the JSON path), first holding it to the size, depth
and number ``bounds``; ``extensions`` checks that every
user extension is namespaced as JSON-LD requires. ``xml`` reads EPCIS XML documents
(2.0 and 1.x) into the form the event hash reads; ``xmlcapture`` reads an XML capture
document into the JSON-LD EPCISDocument capture takes. ``schema`` checks events and
documents against GS1's JSON Schema (and its ``date-time`` format); ``document`` checks
an EPCISDocument's header before capture reads its events. ``hashid`` computes the GS1
Event Hash ID, writing the pre-hash string in the field order of ``prehashorder``, its
times and numbers as ``prehashvalue`` says.
"""
