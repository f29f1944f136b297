"""Who is told about an incident, by which channel, and when: recipients and escalation
steps per site, a durable outbox that survives a restart, re-notification until
acknowledged, rate limits.

* ``policy``    the rule file's ``notify:`` section (``NotifyPolicy``), or the no-file default
* ``messages``  what an alert, a reminder and the acknowledgement note say (pure)
* ``service``   ``Notifications``: the ``IncidentNotifier`` that schedules outbox rows
* ``loop``      ``DeliveryLoop``: sends what is due (supervised, component ``notifications``)
* ``channels``  ``channels_from``: the notify channels from the settings' plain values

The rows themselves live in ``traceability.records.outbox``; the sending in ``notify``.
"""
