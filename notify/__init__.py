"""Sending a message to a person or a system: webhook (HMAC-signed JSON), e-mail over
SMTP, SMS through an HTTP gateway. A leaf: it imports no project package, and knows
nothing of alarms or incidents (``traceability.notifications`` decides what to send).

* ``message``    the frozen ``Message`` (its id is the idempotency key every channel passes on)
* ``channel``    the ``Channel`` port: ``send(message, address)``, no retries of its own
* ``webhook``    JSON POST with ``X-Tracehub-Delivery``/``-Timestamp``/``-Signature`` (HMAC-SHA256)
* ``smtp``       e-mail from an ``smtp://`` or ``smtps://`` URL; Message-ID from the id
* ``sms``        an HTTP SMS gateway: a generic JSON shape, or Twilio's form
* ``transport``  one POST with a timeout, its outcome translated
* ``errors``     ``NotifyError`` > ``BadDestination``, ``DeliveryFailed(permanent)``
"""
