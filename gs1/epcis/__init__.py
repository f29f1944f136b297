"""EPCIS 2.0: the event model and what reads, checks and hashes it, pure.

``event`` validates an event dict into the frozen model (``parse_event`` raises
``gs1.errors.EventRejected`` naming the JSON path). ``xml`` reads EPCIS XML documents
(2.0 and 1.x) into the same JSON form. ``schema`` checks events and documents against
GS1's JSON Schema. ``hashid`` computes the GS1 Event Hash ID, writing the pre-hash
string in the field order of ``prehashorder``.
"""
