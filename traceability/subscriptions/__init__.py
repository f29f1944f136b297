"""Named queries and subscriptions of the EPCIS REST binding: who follows which query,
and how the events that match reach them (a webhook, or a WebSocket), at least once and
once per event per subscription.

* ``model``     what a subscriber asks for, checked (pure): ``webhook_request``,
                ``websocket_request``, ``check_destination`` (http/https; public
                addresses only when the site says so)
* ``matching``  which new events each stream subscription gets (pure), with the parse
                cache of the named queries
* ``document``  the EPCISQueryDocument a subscriber receives (pure)
* ``service``   ``Subscriptions``: named queries, subscribe/unsubscribe, the
                ``initialRecordTime`` backfill, and ``on_stored``, the capture hook that
                writes the outbox rows in the capture transaction
* ``delivery``  ``WebhookDelivery``: POSTs due rows, signed (``GS1-Signature``), with a
                lease per batch and backoff per destination (supervised, component
                ``subscriptions``)
* ``feed``      ``Feed``: what one WebSocket connection is sent, and the acks it returns
* ``errors``    ``SubscriptionInvalid`` (field + reason)

The rows themselves live in ``traceability.records.subscriptions``; the HTTP and
WebSocket endpoints in ``web.queries``; the wiring in ``tracehub.subscribing``.
"""
