"""The e-mail channel against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import pytest

from notify.errors import BadDestination, DeliveryFailed
from notify.message import Message
from notify.smtp import SmtpChannel
from tests.notify.servers import SmtpServer, free_port

MESSAGE = Message(
    id="ntf-feed0001",
    subject="[CRITICAL] Cold room 1: 9.4 °C, above 8.0 °C for 16 min",
    text="Cold room 1 (urn:epc:id:sgln:0950600.01348.0)\nAffected lots: 09506000134352/L1\n",
)


def test_the_server_receives_the_mail_with_a_message_id_from_the_delivery_id(
    smtpd: SmtpServer,
) -> None:
    channel = SmtpChannel.from_url(smtpd.url("from=alarms%40hub.example"))
    channel.send(MESSAGE, "ana@example.com")
    channel.send(MESSAGE, "ana@example.com")  # a redelivery: the same Message-ID
    (first_to, first), (_, second) = smtpd.wait_for(2)
    assert first_to == ("ana@example.com",)
    assert first["From"] == "alarms@hub.example"
    assert first["Subject"] == MESSAGE.subject
    assert first["Message-ID"] == "<ntf-feed0001@tracehub>" == second["Message-ID"]
    assert first["X-Tracehub-Delivery"] == "ntf-feed0001"
    body = first.get_body()
    assert body is not None
    assert "09506000134352/L1" in body.get_content()


def test_login_with_percent_encoded_credentials() -> None:
    with SmtpServer(users={"alarm@hub": "p@ss:word"}) as server:
        SmtpChannel.from_url(server.url(userinfo="alarm%40hub:p%40ss%3Aword@")).send(
            MESSAGE, "ana@example.com"
        )
        assert len(server.wait_for(1)) == 1
        with pytest.raises(DeliveryFailed) as caught:
            SmtpChannel.from_url(server.url(userinfo="alarm%40hub:wrong@")).send(
                MESSAGE, "ana@example.com"
            )
        assert caught.value.permanent
        assert "535" in str(caught.value)


def test_a_refused_recipient_is_permanent_a_busy_one_is_retried(smtpd: SmtpServer) -> None:
    smtpd.refuse = {"gone@example.com": "550 no such user", "full@example.com": "452 try later"}
    channel = SmtpChannel.from_url(smtpd.url())
    with pytest.raises(DeliveryFailed) as gone:
        channel.send(MESSAGE, "gone@example.com")
    assert gone.value.permanent
    with pytest.raises(DeliveryFailed) as full:
        channel.send(MESSAGE, "full@example.com")
    assert not full.value.permanent
    assert smtpd.messages == []


def test_a_server_that_is_down_is_retried() -> None:
    with pytest.raises(DeliveryFailed) as caught:
        SmtpChannel.from_url(f"smtp://127.0.0.1:{free_port()}", timeout_s=2).send(
            MESSAGE, "ana@example.com"
        )
    assert not caught.value.permanent


def test_urls() -> None:
    plain = SmtpChannel.from_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.sender) == ("mail.example.com", 25, "tracehub@localhost")
    assert SmtpChannel.from_url("smtps://mail.example.com").port == 465
    assert SmtpChannel.from_url("smtp://mail.example.com:587?starttls=1").port == 587
    for bad in ("http://mail.example.com", "smtp://", "smtp://h?from=nobody", "smtp://h?tls=1"):
        with pytest.raises(BadDestination):
            SmtpChannel.from_url(bad)
    with pytest.raises(DeliveryFailed) as caught:
        plain.send(MESSAGE, "a@example.com\r\nBcc: evil@example.com")
    assert caught.value.permanent


def test_a_subject_is_kept_on_one_line(smtpd: SmtpServer) -> None:
    message = Message(id="ntf-1", subject="Cold room 1\r\nBcc: evil@example.com", text="x")
    SmtpChannel.from_url(smtpd.url()).send(message, "ana@example.com")
    ((to, mail),) = smtpd.wait_for(1)
    assert to == ("ana@example.com",)
    assert mail["Subject"] == "Cold room 1 Bcc: evil@example.com"
    assert mail["Bcc"] is None
