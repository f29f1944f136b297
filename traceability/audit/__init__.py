"""The audit trail (issue #17): every write through tracehub — master data, incidents,
devices, API clients, keys, users — records who, when, what (before and after) and why,
as an append-only, hash-chained entry that the site signs into the ledger (stream
``audit``, and each lot's it names, so the lot's evidence bundle carries it) and
anchors with everything else.

* ``entry``   the entry (``tracehub-audit/1``): actor, action, subject, before/after,
  reason, electronic signature, the previous entry's digest; its rows (pure)
* ``port``    ``AuditLog``, what writing services take, and ``Authorship`` (who, why)
* ``trail``   ``AuditTrail``: record (records first, then the ledger), sign what is left
  unsigned, list, export, verify
* ``check``   the trail recomputed and held against the signed records (pure)
* ``export``  the trail as CSV (pure)
* ``errors``  ``AuditError`` and its children

Builds on ``traceability.records`` (``audittrail``: the SQL, append-only); the services
that write (``masterdata``, ``incidents``) take the port, never the other way.
"""
