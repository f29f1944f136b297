"""Incidents: an alarm opens one naming the place, the span and the affected lots; its
lifecycle (acknowledged, assessed, disposed per lot, closed) is a chain of signed,
anchored records in the incident's and each lot's ledger stream.

* ``model``        values: ``Incident``, ``Step``, ``Actor``, ``LotImpact``, the states and roles
* ``notice``       what notifications say (``Notice``) and their port (``IncidentNotifier``)
* ``record``       the signed step record (kind ``incident-step``, ``tracehub-incident/1``)
* ``disposition``  a lot's disposition as an EPCIS ObjectEvent, and its capture port
* ``rules``        who may take a step, from which states, what must hold first
* ``signing``      the steps into the incident's and the lots' ledger streams
* ``service``      ``IncidentService``: the alarm sink and the lifecycle's one write path
* ``audited``      ``AuditedIncidentService``: the same, each people's step an audit entry
* ``lifecycle``    an incident as its signed steps tell it (pages and ``verify`` read this)
* ``errors``       ``IncidentError`` and its children

Imports ``traceability.alarms`` (never the other way); the records keep a cache
(``traceability.records.incidents``).
"""
