"""The demo's local receivers: a signed webhook is taken, an unsigned one refused; an
e-mail sent over SMTP arrives with its recipients and Message-ID."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage

import httpx

from tracehub.receivers import Inbox, MailReceiver, WebhookReceiver


def test_webhook_takes_signed_json_and_refuses_the_rest() -> None:
    inbox = Inbox()
    receiver = WebhookReceiver("s3cret", inbox).start()
    try:
        body = json.dumps({"subject": "Cold room 1: excursion", "text": "9.4 °C"}).encode()
        signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        ok = httpx.post(
            receiver.url,
            content=body,
            headers={"X-Tracehub-Signature": signature, "X-Tracehub-Delivery": "n-1"},
        )
        forged = httpx.post(receiver.url, content=body, headers={"X-Tracehub-Signature": "x"})
        assert (ok.status_code, forged.status_code) == (204, 401)
        assert inbox.wait_for(lambda got: len(got) == 1, 5)
        (item,) = inbox.items
        assert (item.channel, item.delivery) == ("webhook", "n-1")
        assert item.subject == "Cold room 1: excursion"
    finally:
        receiver.stop()


def test_mail_arrives_with_its_recipients_and_message_id() -> None:
    inbox = Inbox()
    receiver = MailReceiver(inbox).start()
    try:
        message = EmailMessage()
        message["From"] = "alerts@site.example"
        message["To"] = "li.wei@site.example"
        message["Subject"] = "Cold room 1: excursion"
        message["Message-ID"] = "<n-1@tracehub>"
        message.set_content("9.4 °C above 8.0 °C for 16 min")
        host, port = receiver.url.removeprefix("smtp://").split(":")
        with smtplib.SMTP(host, int(port), timeout=10) as smtp:
            smtp.send_message(message)
        assert inbox.wait_for(lambda got: len(got) == 1, 5)
        (item,) = inbox.items
        assert item.to == ("li.wei@site.example",)
        assert item.delivery == "<n-1@tracehub>"
        assert "9.4 °C" in item.text
    finally:
        receiver.stop()
