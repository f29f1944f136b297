"""Sending a message to a person or a system: webhook (HMAC-signed JSON), e-mail over
SMTP, SMS through an HTTP gateway. A leaf: it imports no project package, and knows
nothing of alarms or incidents (``traceability.notifications`` decides what to send).
"""
